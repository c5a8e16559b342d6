//! Scheduled items, waiting items and periodic callbacks (issue 3; being built).

/// The timer machinery of one epoch.
pub(crate) struct Timers {}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {}
    }

    /// The last shutdown: pending timers and waits never fire (their results leak, as observed).
    pub(crate) fn stop(&self) {}
}
