//! One error type for the whole platform, and the HRESULT values it maps to.
//!
//! Every fallible call returns [`Result<T>`]. Each [`Error`] variant stands for
//! exactly one Windows HRESULT ([`Error::hresult`]), and every HRESULT maps back
//! ([`Error::from_hresult`]), so the C ABI can translate without a table of its own.

use std::fmt;

/// A Windows `HRESULT`: negative values are failures.
///
/// ```
/// use mfwq::HResult;
/// assert!(HResult::S_OK.is_ok());
/// assert_eq!(HResult::MF_E_SHUTDOWN.0 as u32, 0xC00D3E85);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct HResult(pub i32);

macro_rules! hresults {
    ($($name:ident = $value:expr;)*) => {
        impl HResult {
            $(#[allow(missing_docs)] pub const $name: HResult = HResult($value as u32 as i32);)*

            /// The symbolic name of a known HRESULT (`"MF_E_SHUTDOWN"`), if it has one.
            pub fn name(self) -> Option<&'static str> {
                $(if self == Self::$name { return Some(stringify!($name)); })*
                None
            }
        }
    };
}

hresults! {
    S_OK = 0x0000_0000u32;
    S_FALSE = 0x0000_0001u32;
    E_NOTIMPL = 0x8000_4001u32;
    E_NOINTERFACE = 0x8000_4002u32;
    E_POINTER = 0x8000_4003u32;
    E_ABORT = 0x8000_4004u32;
    E_FAIL = 0x8000_4005u32;
    E_UNEXPECTED = 0x8000_FFFFu32;
    E_PENDING = 0x8000_000Au32;
    E_ACCESSDENIED = 0x8007_0005u32;
    E_HANDLE = 0x8007_0006u32;
    E_OUTOFMEMORY = 0x8007_000Eu32;
    E_INVALIDARG = 0x8007_0057u32;
    E_NOT_SUFFICIENT_BUFFER = 0x8007_007Au32;
    CO_E_NOTINITIALIZED = 0x8004_01F0u32;
    MF_E_PLATFORM_NOT_INITIALIZED = 0xC00D_36B0u32;
    MF_E_BUFFERTOOSMALL = 0xC00D_36B1u32;
    MF_E_INVALIDREQUEST = 0xC00D_36B2u32;
    MF_E_NOT_INITIALIZED = 0xC00D_36B6u32;
    MF_E_UNEXPECTED = 0xC00D_36BBu32;
    MF_E_RT_UNAVAILABLE = 0xC00D_36CFu32;
    MF_E_NOT_FOUND = 0xC00D_36D5u32;
    MF_E_NOT_AVAILABLE = 0xC00D_36D6u32;
    MF_S_MULTIPLE_BEGIN = 0x000D_36D8u32;
    MF_E_MULTIPLE_BEGIN = 0xC00D_36D9u32;
    MF_E_MULTIPLE_SUBSCRIBERS = 0xC00D_36DAu32;
    MF_E_TIMER_ORPHANED = 0xC00D_36DBu32;
    MF_E_INVALID_KEY = 0xC00D_36E2u32;
    MF_E_BAD_STARTUP_VERSION = 0xC00D_36E3u32;
    MF_E_OPERATION_CANCELLED = 0xC00D_36EDu32;
    MF_E_DISABLED_IN_SAFEMODE = 0xC00D_36EFu32;
    MF_E_RT_THROUGHPUT_NOT_AVAILABLE = 0xC00D_36F3u32;
    MF_E_RT_TOO_MANY_CLASSES = 0xC00D_36F4u32;
    MF_E_RT_WOULDBLOCK = 0xC00D_36F5u32;
    MF_E_RT_OUTOFMEMORY = 0xC00D_36F7u32;
    MF_E_RT_WORKQUEUE_CLASS_NOT_SPECIFIED = 0xC00D_36F8u32;
    MF_E_INVALID_WORKQUEUE = 0xC00D_36FFu32;
    MF_E_OUT_OF_RANGE = 0xC00D_3702u32;
    MF_E_NO_EVENTS_AVAILABLE = 0xC00D_3E80u32;
    MF_E_SHUTDOWN = 0xC00D_3E85u32;
    MF_E_ALREADY_INITIALIZED = 0xC00D_4650u32;
}

impl HResult {
    /// `SUCCEEDED(hr)`: the sign bit is clear.
    pub fn is_ok(self) -> bool {
        self.0 >= 0
    }

    /// `FAILED(hr)`.
    pub fn is_err(self) -> bool {
        self.0 < 0
    }

    /// `Ok(())` for success codes, otherwise the matching [`Error`].
    ///
    /// ```
    /// use mfwq::{Error, HResult};
    /// assert_eq!(HResult::MF_E_NOT_FOUND.ok(), Err(Error::NotFound));
    /// assert_eq!(HResult::S_FALSE.ok(), Ok(()));
    /// ```
    pub fn ok(self) -> Result<()> {
        match Error::from_hresult(self) {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }
}

impl fmt::Debug for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#010X})", self.0 as u32),
            None => write!(f, "HResult({:#010X})", self.0 as u32),
        }
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<Error> for HResult {
    fn from(error: Error) -> HResult {
        error.hresult()
    }
}

/// Everything that can go wrong on the platform. Each variant is one HRESULT.
///
/// ```
/// use mfwq::{Error, HResult};
/// let error = Error::InvalidWorkQueue;
/// assert_eq!(error.hresult(), HResult::MF_E_INVALID_WORKQUEUE);
/// assert_eq!(Error::from_hresult(error.hresult()), Some(error));
/// assert!(error.to_string().contains("work queue"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `MF_E_SHUTDOWN`: the platform is not started, or has been shut down.
    #[error("the platform is shut down or was never started (MF_E_SHUTDOWN)")]
    Shutdown,
    /// `MF_E_INVALID_WORKQUEUE`: the queue id is not live, or the callback's flags do not fit the queue.
    #[error("invalid work queue, or flags that the queue does not allow (MF_E_INVALID_WORKQUEUE)")]
    InvalidWorkQueue,
    /// `MF_E_BAD_STARTUP_VERSION`: `startup` was given a version this platform does not accept.
    #[error("unsupported startup version (MF_E_BAD_STARTUP_VERSION)")]
    BadStartupVersion,
    /// `MF_E_NOT_FOUND`: no such key (a cancel or removal that came too late or twice).
    #[error("no such item (MF_E_NOT_FOUND)")]
    NotFound,
    /// `MF_E_OPERATION_CANCELLED`: the operation was cancelled.
    #[error("operation cancelled (MF_E_OPERATION_CANCELLED)")]
    OperationCancelled,
    /// `E_INVALIDARG`: a required input was missing or out of range.
    #[error("invalid argument (E_INVALIDARG)")]
    InvalidArg,
    /// `E_POINTER`: a required pointer was NULL, or nothing is attached (`GetState`, `GetObject`).
    #[error("missing pointer or nothing attached (E_POINTER)")]
    Pointer,
    /// `E_FAIL`: unspecified failure; also the documented code for "too many work queues".
    #[error("unspecified failure, or too many work queues (E_FAIL)")]
    Fail,
    /// `E_OUTOFMEMORY`.
    #[error("out of memory (E_OUTOFMEMORY)")]
    OutOfMemory,
    /// `E_NOTIMPL`.
    #[error("not implemented (E_NOTIMPL)")]
    NotImplemented,
    /// `E_UNEXPECTED`.
    #[error("unexpected failure (E_UNEXPECTED)")]
    Unexpected,
    /// `MF_E_INVALIDREQUEST`: the request is not valid in the object's current state.
    #[error("request not valid in the current state (MF_E_INVALIDREQUEST)")]
    InvalidRequest,
    /// `MF_E_BUFFERTOOSMALL`.
    #[error("buffer too small (MF_E_BUFFERTOOSMALL)")]
    BufferTooSmall,
    /// Any other failure HRESULT, kept as it is.
    #[error("failure {0}")]
    Other(HResult),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The exact HRESULT this error stands for.
    pub fn hresult(self) -> HResult {
        match self {
            Error::Shutdown => HResult::MF_E_SHUTDOWN,
            Error::InvalidWorkQueue => HResult::MF_E_INVALID_WORKQUEUE,
            Error::BadStartupVersion => HResult::MF_E_BAD_STARTUP_VERSION,
            Error::NotFound => HResult::MF_E_NOT_FOUND,
            Error::OperationCancelled => HResult::MF_E_OPERATION_CANCELLED,
            Error::InvalidArg => HResult::E_INVALIDARG,
            Error::Pointer => HResult::E_POINTER,
            Error::Fail => HResult::E_FAIL,
            Error::OutOfMemory => HResult::E_OUTOFMEMORY,
            Error::NotImplemented => HResult::E_NOTIMPL,
            Error::Unexpected => HResult::E_UNEXPECTED,
            Error::InvalidRequest => HResult::MF_E_INVALIDREQUEST,
            Error::BufferTooSmall => HResult::MF_E_BUFFERTOOSMALL,
            Error::Other(hr) => hr,
        }
    }

    /// The error for a failure HRESULT; `None` for success codes.
    pub fn from_hresult(hr: HResult) -> Option<Error> {
        if hr.is_ok() {
            return None;
        }
        Some(match hr {
            HResult::MF_E_SHUTDOWN => Error::Shutdown,
            HResult::MF_E_INVALID_WORKQUEUE => Error::InvalidWorkQueue,
            HResult::MF_E_BAD_STARTUP_VERSION => Error::BadStartupVersion,
            HResult::MF_E_NOT_FOUND => Error::NotFound,
            HResult::MF_E_OPERATION_CANCELLED => Error::OperationCancelled,
            HResult::E_INVALIDARG => Error::InvalidArg,
            HResult::E_POINTER => Error::Pointer,
            HResult::E_FAIL => Error::Fail,
            HResult::E_OUTOFMEMORY => Error::OutOfMemory,
            HResult::E_NOTIMPL => Error::NotImplemented,
            HResult::E_UNEXPECTED => Error::Unexpected,
            HResult::MF_E_INVALIDREQUEST => Error::InvalidRequest,
            HResult::MF_E_BUFFERTOOSMALL => Error::BufferTooSmall,
            other => Error::Other(other),
        })
    }
}

/// `S_OK` for `Ok`, the error's HRESULT otherwise: the C ABI's return value.
pub fn to_hresult<T>(result: &Result<T>) -> HResult {
    match result {
        Ok(_) => HResult::S_OK,
        Err(error) => error.hresult(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Error; 14] = [
        Error::Shutdown,
        Error::InvalidWorkQueue,
        Error::BadStartupVersion,
        Error::NotFound,
        Error::OperationCancelled,
        Error::InvalidArg,
        Error::Pointer,
        Error::Fail,
        Error::OutOfMemory,
        Error::NotImplemented,
        Error::Unexpected,
        Error::InvalidRequest,
        Error::BufferTooSmall,
        Error::Other(HResult::MF_E_RT_UNAVAILABLE),
    ];

    #[test]
    fn every_error_round_trips_through_its_hresult() {
        for error in ALL {
            let hr = error.hresult();
            assert!(hr.is_err(), "{error:?} maps to a failure code");
            assert_eq!(Error::from_hresult(hr), Some(error));
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn exact_values_from_the_spec() {
        let expected: [(HResult, u32); 12] = [
            (HResult::S_OK, 0),
            (HResult::E_NOTIMPL, 0x80004001),
            (HResult::E_POINTER, 0x80004003),
            (HResult::E_FAIL, 0x80004005),
            (HResult::E_OUTOFMEMORY, 0x8007000E),
            (HResult::E_INVALIDARG, 0x80070057),
            (HResult::MF_E_NOT_FOUND, 0xC00D36D5),
            (HResult::MF_E_BAD_STARTUP_VERSION, 0xC00D36E3),
            (HResult::MF_E_OPERATION_CANCELLED, 0xC00D36ED),
            (HResult::MF_E_INVALID_WORKQUEUE, 0xC00D36FF),
            (HResult::MF_E_SHUTDOWN, 0xC00D3E85),
            (HResult::MF_S_MULTIPLE_BEGIN, 0x000D36D8),
        ];
        for (hr, value) in expected {
            assert_eq!(hr.0 as u32, value, "{hr:?}");
        }
        assert!(HResult::MF_S_MULTIPLE_BEGIN.is_ok());
        assert_eq!(Error::from_hresult(HResult::S_FALSE), None);
    }

    #[test]
    fn debug_shows_name_and_hex() {
        assert_eq!(
            format!("{:?}", HResult::MF_E_SHUTDOWN),
            "MF_E_SHUTDOWN (0xC00D3E85)"
        );
        assert_eq!(format!("{:?}", HResult(0x1234)), "HResult(0x00001234)");
    }
}
