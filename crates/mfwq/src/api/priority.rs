//! [`Priority`]: the three bands of a queue instead of the C API's `i32`.

/// The priority of an item on its queue: three bands, FIFO within each; a
/// worker always takes the highest non-empty band first.
///
/// The C API's `LONG priority` maps to the bands by its sign (`> 0` high,
/// `0` normal, `< 0` low): [`From<i32>`](#impl-From<i32>-for-Priority) reads it,
/// [`Priority::to_raw`] gives the value the C layer passes.
///
/// ```
/// use mfwq::Priority;
/// assert_eq!(Priority::from(7), Priority::High);
/// assert_eq!(Priority::from(0), Priority::Normal);
/// assert_eq!(Priority::from(-3), Priority::Low);
/// assert_eq!(Priority::Low.to_raw(), -1);
/// assert_eq!(Priority::default(), Priority::Normal);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Runs after every normal and high item queued before it starts.
    Low,
    /// The default band.
    #[default]
    Normal,
    /// Runs before normal and low items.
    High,
}

impl Priority {
    /// The C API's value for this band: `1`, `0` or `-1`.
    ///
    /// ```
    /// assert_eq!(mfwq::Priority::High.to_raw(), 1);
    /// ```
    pub const fn to_raw(self) -> i32 {
        match self {
            Priority::High => 1,
            Priority::Normal => 0,
            Priority::Low => -1,
        }
    }
}

impl From<i32> for Priority {
    fn from(raw: i32) -> Priority {
        match raw {
            1.. => Priority::High,
            0 => Priority::Normal,
            _ => Priority::Low,
        }
    }
}
