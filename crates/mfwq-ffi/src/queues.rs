//! Queue management (docs/behaviour.md#allocate and the Rtwq twins).

use mfwq::{QueueId, QueueType};

use crate::{class_name, hr, missing_input, write_out, DWORD, HRESULT, LONG, WCHAR};

/// `MFAllocateWorkQueue(&id)`: a private standard queue.
///
/// # Safety
/// `pdwWorkQueue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFAllocateWorkQueue(pdwWorkQueue: *mut DWORD) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(pdwWorkQueue, || {
            mfwq::allocate_work_queue(QueueType::Standard).map(|q| q.0)
        })
    }
}

/// `MFAllocateWorkQueueEx(type, &id)`; an unknown type is `E_INVALIDARG`.
///
/// # Safety
/// `pdwWorkQueue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFAllocateWorkQueueEx(
    WorkQueueType: i32,
    pdwWorkQueue: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(pdwWorkQueue, || {
            let kind = QueueType::from_raw(WorkQueueType).ok_or_else(missing_input)?;
            mfwq::allocate_work_queue(kind).map(|q| q.0)
        })
    }
}

/// `RtwqAllocateWorkQueue(type, &id)`.
///
/// # Safety
/// `queue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqAllocateWorkQueue(queue_type: i32, queue: *mut DWORD) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFAllocateWorkQueueEx(queue_type, queue) }
}

/// `MFAllocateSerialWorkQueue(target, &id)`.
///
/// # Safety
/// `pdwWorkQueue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFAllocateSerialWorkQueue(
    dwWorkQueue: DWORD,
    pdwWorkQueue: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(pdwWorkQueue, || {
            mfwq::allocate_serial_work_queue(QueueId(dwWorkQueue)).map(|q| q.0)
        })
    }
}

/// `RtwqAllocateSerialWorkQueue(target, &id)`.
///
/// # Safety
/// `queue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqAllocateSerialWorkQueue(
    target_queue: DWORD,
    queue: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFAllocateSerialWorkQueue(target_queue, queue) }
}

/// `MFLockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn MFLockWorkQueue(dwWorkQueue: DWORD) -> HRESULT {
    hr(mfwq::lock_work_queue(QueueId(dwWorkQueue)))
}

/// `MFUnlockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn MFUnlockWorkQueue(dwWorkQueue: DWORD) -> HRESULT {
    hr(mfwq::unlock_work_queue(QueueId(dwWorkQueue)))
}

/// `RtwqLockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn RtwqLockWorkQueue(queue: DWORD) -> HRESULT {
    MFLockWorkQueue(queue)
}

/// `RtwqUnlockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn RtwqUnlockWorkQueue(queue: DWORD) -> HRESULT {
    MFUnlockWorkQueue(queue)
}

/// `MFLockSharedWorkQueue(class, basePriority, &taskId, &id)`: a NULL class is
/// `E_POINTER` (docs/behaviour.md#w51), a NULL `pID` is `E_POINTER`; `pdwTaskId` may be NULL.
///
/// # Safety
/// `wszClass` must be NULL or a NUL-terminated UTF-16 string; `pdwTaskId` NULL
/// or valid for a `DWORD` read and write; `pID` NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFLockSharedWorkQueue(
    wszClass: *const WCHAR,
    BasePriority: LONG,
    pdwTaskId: *mut DWORD,
    pID: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let class = unsafe { class_name(wszClass) };
    // SAFETY: NULL or valid for read and write, as the caller promises.
    let task_id = unsafe { pdwTaskId.as_mut() };
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(pID, || {
            mfwq::lock_shared_work_queue_named(class.as_ref(), BasePriority, task_id).map(|q| q.0)
        })
    }
}

/// `RtwqLockSharedWorkQueue(class, priority, &taskId, &id)`.
///
/// # Safety
/// As [`MFLockSharedWorkQueue`].
#[no_mangle]
pub unsafe extern "system" fn RtwqLockSharedWorkQueue(
    usageclass: *const WCHAR,
    priority: LONG,
    taskid: *mut DWORD,
    queue: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFLockSharedWorkQueue(usageclass, priority, taskid, queue) }
}
