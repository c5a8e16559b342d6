//! The interface IDs, exported as data symbols as `uuid.lib`/`mfuuid.lib`
//! provide them on Windows; the headers declare them `extern const IID`.

#![allow(non_upper_case_globals)]

use mfwq::com::{self, Guid};

/// `IID_IUnknown`.
#[no_mangle]
pub static IID_IUnknown: Guid = com::IID_IUNKNOWN;
/// `IID_IMFAsyncResult`.
#[no_mangle]
pub static IID_IMFAsyncResult: Guid = com::IID_IMF_ASYNC_RESULT;
/// `IID_IRtwqAsyncResult` (the same IID as `IID_IMFAsyncResult`).
#[no_mangle]
pub static IID_IRtwqAsyncResult: Guid = com::IID_IMF_ASYNC_RESULT;
/// `IID_IMFAsyncCallback`.
#[no_mangle]
pub static IID_IMFAsyncCallback: Guid = com::IID_IMF_ASYNC_CALLBACK;
/// `IID_IRtwqAsyncCallback` (the same IID as `IID_IMFAsyncCallback`).
#[no_mangle]
pub static IID_IRtwqAsyncCallback: Guid = com::IID_IMF_ASYNC_CALLBACK;
/// `IID_IMFAsyncCallbackLogging`.
#[no_mangle]
pub static IID_IMFAsyncCallbackLogging: Guid = com::IID_IMF_ASYNC_CALLBACK_LOGGING;
/// `IID_IMFRemoteAsyncCallback`.
#[no_mangle]
pub static IID_IMFRemoteAsyncCallback: Guid = com::IID_IMF_REMOTE_ASYNC_CALLBACK;
/// `IID_IRtwqPlatformEvents`.
#[no_mangle]
pub static IID_IRtwqPlatformEvents: Guid = com::IID_IRTWQ_PLATFORM_EVENTS;
/// `IID_IMFRealTimeClient`.
#[no_mangle]
pub static IID_IMFRealTimeClient: Guid = com::IID_IMF_REAL_TIME_CLIENT;
/// `IID_IMFRealTimeClientEx`.
#[no_mangle]
pub static IID_IMFRealTimeClientEx: Guid = com::IID_IMF_REAL_TIME_CLIENT_EX;
