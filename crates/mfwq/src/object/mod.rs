//! The object model: async results (`IMFAsyncResult`, laid out as
//! `MFASYNCRESULT`), callbacks (`IMFAsyncCallback`), the COM layout both share
//! with C, the memory that results are recycled through, the checked mode's
//! misuse detection, and the platform lock count that live results hold.
//!
//! One concept, several files that use each other: a result is a COM object
//! whose memory comes from the recycler, whose misuse the checked mode
//! catches, and whose life holds a platform lock; a COM callback is an
//! `AsyncCallback`. Nothing here knows about queues or the platform's
//! lifecycle.

pub(crate) mod accounting;
pub(crate) mod callback;
pub(crate) mod checked;
pub mod com;
pub(crate) mod pool;
pub(crate) mod recycle;
pub(crate) mod result;
pub(crate) mod slab;
