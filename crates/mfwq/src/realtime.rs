//! MMCSS-style real-time queues, deadlines, the long-running hint and platform
//! events (issue 3; being built).

/// The first startup completed (`IRtwqPlatformEvents::InitializationComplete`).
pub(crate) fn notify_initialization_complete() {}

/// The last shutdown starts (`ShutdownStart`).
pub(crate) fn notify_shutdown_start() {}

/// The last shutdown completed (`ShutdownComplete`).
pub(crate) fn notify_shutdown_complete() {}
