//! What a result object carries besides its `MFASYNCRESULT` image, in two
//! words: its Rust callback, the caller's state, and rarely an object or a
//! wrapped caller's result.
//!
//! Every queued `put_work_item` holds a result object, so its size is the
//! platform's memory per queued item. Nearly every result carries either a
//! Rust callback and nothing else (a put from Rust), or a COM callback, which
//! lives in the image, and at most a COM state (a put from C). So the two
//! words are one of:
//!
//! - [`Attached::Callback`]: a Rust callback (a fat pointer, both words), nothing else;
//! - [`Attached::Word`]: a [`Word`], which is 0 (nothing attached), an even
//!   address (a COM state, one owned reference, nothing else), or an odd one:
//!   the address, plus one, of an [`Extra`] in a recycled block, which holds
//!   whatever does not fit (a Rust callback with a state, a Rust state, an
//!   object, a wrapped result, a COM state at an odd address).
//!
//! The enum is two words because the compiler keeps its tag in the niche of
//! the callback's pointer (asserted at compile time in `mod.rs`). A COM
//! object's address is even in practice (its first word is a vtable pointer),
//! but nothing in C promises it, so an odd one goes to [`Extra`].

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr::NonNull;

use super::State;
use crate::object::callback::Callback;
use crate::object::com::{self, ComPtr};
use crate::object::pool::{LocalBlocks, Pool};
use crate::object::recycle::PooledBox;

/// A state or object: a Rust value, or a COM object from the C ABI (kept as
/// the very pointer `GetState`/`GetObject` must give back).
#[derive(Clone)]
pub(super) enum Attachment {
    Rust(State),
    Com(ComPtr),
}

impl Attachment {
    pub(super) fn as_ref(&self) -> AttachmentRef<'_> {
        match self {
            Attachment::Rust(state) => AttachmentRef::Rust(state),
            Attachment::Com(object) => AttachmentRef::Com(object),
        }
    }
}

/// A borrowed [`Attachment`].
#[derive(Clone, Copy)]
pub(super) enum AttachmentRef<'a> {
    Rust(&'a State),
    Com(&'a ComPtr),
}

impl<'a> AttachmentRef<'a> {
    pub(super) fn to_owned(self) -> Attachment {
        match self {
            AttachmentRef::Rust(state) => Attachment::Rust(state.clone()),
            AttachmentRef::Com(object) => Attachment::Com(object.clone()),
        }
    }

    /// As a shared value (a COM object becomes a [`ComPtr`] value).
    pub(super) fn to_state(self) -> State {
        match self {
            AttachmentRef::Rust(state) => state.clone(),
            AttachmentRef::Com(object) => com::com_state(object.clone()),
        }
    }

    pub(super) fn downcast<T: Any>(self) -> Option<&'a T> {
        match self {
            AttachmentRef::Rust(state) => state.downcast_ref(),
            AttachmentRef::Com(object) => (object as &dyn Any).downcast_ref(),
        }
    }

    /// The COM object, if this is one (directly, or a [`ComPtr`] state).
    pub(super) fn as_com(self) -> Option<&'a ComPtr> {
        self.downcast::<ComPtr>()
    }
}

/// Everything a result can carry besides its image; what does not fit in
/// the two words is kept in one of these, in a recycled block.
#[derive(Default)]
pub(super) struct Extra {
    pub(super) callback: Option<Callback>,
    pub(super) state: Option<Attachment>,
    pub(super) object: Option<Attachment>,
    pub(super) foreign: Option<ComPtr>,
}

thread_local! {
    static EXTRA_BLOCKS: RefCell<LocalBlocks<Extra>> = const { RefCell::new(LocalBlocks::new()) };
}

/// Memory for [`Extra`]s, recycled as the results' own (no allocator call on
/// a put that attaches a Rust state).
static EXTRA_POOL: Pool<Extra> = Pool::new(&EXTRA_BLOCKS);

/// See the module docs. Immutable once made, except by [`take`](Self::take).
pub(super) enum Attached {
    Callback(Callback),
    Word(Word),
}

/// Nothing, a COM state, or an [`Extra`] (see the module docs).
pub(super) struct Word(*mut c_void);

// What the word owns must be shareable across threads for the impls below.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Extra>();
    shareable::<ComPtr>();
};

// SAFETY: what the word owns (a ComPtr or an Extra) is Send and Sync.
unsafe impl Send for Word {}
// SAFETY: as above; the word is never changed through a shared reference.
unsafe impl Sync for Word {}

const EXTRA_TAG: usize = 1;

/// Whether a COM state can be the word itself (its address is even).
fn fits_in_word(state: &ComPtr) -> bool {
    state.as_raw().addr() & EXTRA_TAG == 0
}

impl Attached {
    /// Nothing attached.
    pub(super) const NONE: Attached = Attached::Word(Word(std::ptr::null_mut()));

    #[inline]
    pub(super) fn new(
        callback: Option<Callback>,
        state: Option<Attachment>,
        object: Option<Attachment>,
        foreign: Option<ComPtr>,
    ) -> Attached {
        // The commonest results first, without building the tuple below.
        if state.is_none() && object.is_none() && foreign.is_none() {
            return match callback {
                Some(callback) => Attached::Callback(callback),
                None => Attached::NONE,
            };
        }
        match (callback, state, object, foreign) {
            (None, Some(Attachment::Com(state)), None, None) if fits_in_word(&state) => {
                Attached::Word(Word(state.into_raw()))
            }
            (callback, state, object, foreign) => {
                let extra = PooledBox::new(
                    Extra {
                        callback,
                        state,
                        object,
                        foreign,
                    },
                    &EXTRA_POOL,
                );
                let address = PooledBox::into_raw(extra).map_addr(|address| address | EXTRA_TAG);
                Attached::Word(Word(address.cast()))
            }
        }
    }

    /// The [`Extra`], if there is one.
    #[inline]
    fn extra(&self) -> Option<&Extra> {
        let Attached::Word(word) = self else {
            return None;
        };
        // SAFETY: a tagged word is a live PooledBox's value, owned by `self`.
        untag(word.0).map(|extra| unsafe { &*extra })
    }

    #[inline]
    pub(super) fn callback(&self) -> Option<&Callback> {
        match self {
            Attached::Callback(callback) => Some(callback),
            Attached::Word(_) => self.extra()?.callback.as_ref(),
        }
    }

    pub(super) fn state(&self) -> Option<AttachmentRef<'_>> {
        let Attached::Word(word) = self else {
            return None;
        };
        if word.0.is_null() {
            return None;
        }
        match self.extra() {
            Some(extra) => extra.state.as_ref().map(Attachment::as_ref),
            // SAFETY: an untagged non-null word is an owned COM pointer, and a
            // ComPtr is a transparent non-null pointer.
            None => Some(AttachmentRef::Com(unsafe {
                &*(&raw const word.0).cast::<ComPtr>()
            })),
        }
    }

    pub(super) fn object(&self) -> Option<AttachmentRef<'_>> {
        self.extra()?.object.as_ref().map(Attachment::as_ref)
    }

    #[inline]
    pub(super) fn foreign(&self) -> Option<&ComPtr> {
        self.extra()?.foreign.as_ref()
    }

    /// Nothing is attached.
    #[inline]
    pub(super) fn is_none(&self) -> bool {
        matches!(self, Attached::Word(word) if word.0.is_null())
    }

    /// Takes everything out, leaving nothing attached: the owner drops the
    /// parts in its own order.
    #[inline]
    pub(super) fn take(&mut self) -> Extra {
        match std::mem::replace(self, Attached::NONE) {
            Attached::Word(mut word) => word.take(),
            Attached::Callback(callback) => Extra {
                callback: Some(callback),
                ..Extra::default()
            },
        }
    }
}

/// The address of the [`Extra`] a word holds, if it is tagged.
#[inline]
fn untag(word: *mut c_void) -> Option<*mut Extra> {
    (word.addr() & EXTRA_TAG != 0).then(|| word.map_addr(|address| address & !EXTRA_TAG).cast())
}

impl Word {
    /// Takes everything out, leaving the word empty.
    fn take(&mut self) -> Extra {
        let word = std::mem::replace(&mut self.0, std::ptr::null_mut());
        let Some(extra) = untag(word) else {
            return Extra {
                // SAFETY: an untagged word is NULL or owns one reference to a
                // COM object.
                state: unsafe { ComPtr::from_raw_owned(word) }.map(Attachment::Com),
                ..Extra::default()
            };
        };
        // SAFETY: a tagged word is the value of a PooledBox from EXTRA_POOL,
        // owned by the word and given up here.
        let extra = unsafe { PooledBox::from_raw(NonNull::new_unchecked(extra), &EXTRA_POOL) };
        extra.into_inner()
    }
}

impl Drop for Word {
    #[inline]
    fn drop(&mut self) {
        // Empty after `take`, which is how a result's drop leaves it.
        if !self.0.is_null() {
            drop(self.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::com::test_objects::TestUnknown;
    use std::sync::Arc;

    fn com(object: &TestUnknown) -> ComPtr {
        // SAFETY: a live test object that outlives the reference.
        unsafe { ComPtr::from_raw_add_ref(object.as_raw()) }.unwrap()
    }

    fn word(attached: &Attached) -> *mut c_void {
        match attached {
            Attached::Word(word) => word.0,
            Attached::Callback(_) => panic!("a callback, not a word"),
        }
    }

    #[test]
    fn a_rust_callback_alone_is_the_two_words_themselves() {
        let callback = crate::object::callback::callback(|_| {});
        let mut attached = Attached::new(Some(callback.clone()), None, None, None);
        assert!(matches!(attached, Attached::Callback(_)), "no Extra");
        assert!(Arc::ptr_eq(attached.callback().unwrap(), &callback));
        assert!(attached.state().is_none() && attached.foreign().is_none());
        let parts = attached.take();
        assert!(Arc::ptr_eq(parts.callback.as_ref().unwrap(), &callback));
        assert!(attached.callback().is_none(), "emptied");
    }

    #[test]
    fn a_com_state_alone_is_the_word_itself() {
        let object = TestUnknown::new();
        let attached = Attached::new(None, Some(Attachment::Com(com(&object))), None, None);
        assert_eq!(word(&attached), object.as_raw(), "no Extra");
        assert_eq!(object.count(), 2, "the word owns one reference");
        let state = attached.state().and_then(AttachmentRef::as_com).unwrap();
        assert_eq!(state.as_raw(), object.as_raw());
        assert!(attached.callback().is_none());
        assert!(attached.object().is_none() && attached.foreign().is_none());
        drop(attached);
        assert_eq!(object.count(), 1, "released with the word");
    }

    #[test]
    fn anything_else_goes_to_an_extra_and_comes_back_whole() {
        let object = TestUnknown::new();
        let wrapped = TestUnknown::new();
        let callback = crate::object::callback::callback(|_| {});
        let state: State = Arc::new(7u32);
        let mut attached = Attached::new(
            Some(callback.clone()),
            Some(Attachment::Rust(state.clone())),
            Some(Attachment::Com(com(&object))),
            Some(com(&wrapped)),
        );
        assert_eq!(word(&attached).addr() & EXTRA_TAG, EXTRA_TAG, "tagged");
        assert!(Arc::ptr_eq(attached.callback().unwrap(), &callback));
        let seen = attached.state().and_then(AttachmentRef::downcast::<u32>);
        assert_eq!(seen, Some(&7));
        let held = attached.object().and_then(AttachmentRef::as_com);
        assert_eq!(held.unwrap().as_raw(), object.as_raw());
        assert_eq!(attached.foreign().unwrap().as_raw(), wrapped.as_raw());
        assert_eq!(Arc::strong_count(&state), 2);
        let parts = attached.take();
        assert!(
            attached.state().is_none() && attached.foreign().is_none(),
            "emptied"
        );
        assert!(parts.callback.is_some() && parts.state.is_some());
        assert!(parts.object.is_some() && parts.foreign.is_some());
        drop(parts);
        assert_eq!(Arc::strong_count(&state), 1);
        assert_eq!((object.count(), wrapped.count()), (1, 1));
    }

    #[test]
    fn a_rust_state_alone_and_nothing_at_all() {
        let attached = Attached::new(None, Some(Attachment::Rust(Arc::new("s"))), None, None);
        assert_eq!(word(&attached).addr() & EXTRA_TAG, EXTRA_TAG);
        let seen = attached.state().and_then(AttachmentRef::downcast::<&str>);
        assert_eq!(seen, Some(&"s"));
        let none = Attached::new(None, None, None, None);
        assert!(word(&none).is_null());
        assert!(none.callback().is_none() && none.state().is_none());
        assert!(none.object().is_none() && none.foreign().is_none());
    }

    #[test]
    fn only_an_even_address_fits_in_the_word() {
        let object = TestUnknown::new();
        let even = com(&object);
        assert!(fits_in_word(&even));
        // Never called, and forgotten: only the address is read.
        let odd = std::mem::ManuallyDrop::new(
            // SAFETY: not an object, but never used as one.
            unsafe { ComPtr::from_raw_owned(object.as_raw().wrapping_byte_add(1)) }.unwrap(),
        );
        assert!(!fits_in_word(&odd));
    }
}
