//! The interface IDs, exported as data symbols as `uuid.lib`/`mfuuid.lib`
//! provide them on Windows; the headers declare them `extern const IID`.
//! The ones the core itself answers `QueryInterface` for come from it
//! (`mfwq::com`); the ones only C code names are written here.

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
/// `IID_IMFAsyncCallbackLogging` {C7A4DCA1-F5F0-47B6-B92B-BF0106D25791}.
#[no_mangle]
pub static IID_IMFAsyncCallbackLogging: Guid = guid(
    0xC7A4_DCA1,
    0xF5F0,
    0x47B6,
    [0xB9, 0x2B, 0xBF, 0x01, 0x06, 0xD2, 0x57, 0x91],
);
/// `IID_IMFRemoteAsyncCallback` {A27003D0-2354-4F2A-8D6A-AB7CFF15437E}.
#[no_mangle]
pub static IID_IMFRemoteAsyncCallback: Guid = guid(
    0xA270_03D0,
    0x2354,
    0x4F2A,
    [0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E],
);
/// `IID_IRtwqPlatformEvents` {63D9255A-7FF1-4B61-8FAF-ED6460DACF2B}.
#[no_mangle]
pub static IID_IRtwqPlatformEvents: Guid = guid(
    0x63D9_255A,
    0x7FF1,
    0x4B61,
    [0x8F, 0xAF, 0xED, 0x64, 0x60, 0xDA, 0xCF, 0x2B],
);
/// `IID_IMFRealTimeClient` {2347D60B-3FB5-480C-8803-8DF3ADCD3EF0}.
#[no_mangle]
pub static IID_IMFRealTimeClient: Guid = guid(
    0x2347_D60B,
    0x3FB5,
    0x480C,
    [0x88, 0x03, 0x8D, 0xF3, 0xAD, 0xCD, 0x3E, 0xF0],
);
/// `IID_IMFRealTimeClientEx` {03910848-AB16-4611-B100-17B88AE2F248}.
#[no_mangle]
pub static IID_IMFRealTimeClientEx: Guid = guid(
    0x0391_0848,
    0xAB16,
    0x4611,
    [0xB1, 0x00, 0x17, 0xB8, 0x8A, 0xE2, 0xF2, 0x48],
);

/// A GUID from its four parts, as the header's `DEFINE_GUID` writes them.
const fn guid(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
    Guid {
        data1,
        data2,
        data3,
        data4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iids_written_here_have_the_headers_bytes() {
        // {63D9255A-7FF1-4B61-8FAF-ED6460DACF2B}, byte for byte as in memory.
        // SAFETY: a Guid is 16 plain bytes (repr(C), no padding).
        let bytes: [u8; 16] = unsafe { std::mem::transmute(IID_IRtwqPlatformEvents) };
        assert_eq!(
            bytes,
            [
                0x5A, 0x25, 0xD9, 0x63, 0xF1, 0x7F, 0x61, 0x4B, 0x8F, 0xAF, 0xED, 0x64, 0x60, 0xDA,
                0xCF, 0x2B
            ]
        );
        assert_eq!(IID_IMFRemoteAsyncCallback.data1, 0xA270_03D0);
        assert_eq!(IID_IMFRealTimeClientEx.data4[7], 0x48);
    }
}
