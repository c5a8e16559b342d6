/*
 * mferror.h - Media Foundation HRESULT codes used by the mfwq work-queue
 * platform (libmfplat).
 *
 * MF failure codes have severity 1 and facility FACILITY_MF (0xD), so every
 * MF_E_* is 0xC00D0000 | code. Each is cast to the 32-bit signed HRESULT:
 * FAILED(MF_E_SHUTDOWN) is true and `hr == MF_E_SHUTDOWN` compares as on
 * Windows. The RTWorkQ twins (RTWQ_E_*, in <rtworkq.h>) have the same values.
 */
#ifndef MFWQ_MFERROR_H_
#define MFWQ_MFERROR_H_

#include "mfwq_win32.h"

#ifndef FACILITY_MF
#  define FACILITY_MF       0xD
#endif
#ifndef FACILITY_MF_WIN32
#  define FACILITY_MF_WIN32 0x7
#endif

/* The platform was not started: call MFStartup first. (The work-queue
 * functions report a stopped platform with MF_E_SHUTDOWN instead.) */
#define MF_E_PLATFORM_NOT_INITIALIZED          ((HRESULT)0xC00D36B0)
/* The caller's buffer is too small (MFGetWorkQueueMMCSSClass). */
#define MF_E_BUFFERTOOSMALL                    ((HRESULT)0xC00D36B1)
/* The request is not valid in the object's current state. */
#define MF_E_INVALIDREQUEST                    ((HRESULT)0xC00D36B2)
/* The object must be initialized before this call. */
#define MF_E_NOT_INITIALIZED                   ((HRESULT)0xC00D36B6)
/* An unexpected error. */
#define MF_E_UNEXPECTED                        ((HRESULT)0xC00D36BB)
/* Real-time services are not available. */
#define MF_E_RT_UNAVAILABLE                    ((HRESULT)0xC00D36CF)
/* The object or value does not exist (e.g. cancelling a stale key). */
#define MF_E_NOT_FOUND                         ((HRESULT)0xC00D36D5)
/* The value is not available. */
#define MF_E_NOT_AVAILABLE                     ((HRESULT)0xC00D36D6)
/* Success: the same callback and state were already registered. */
#define MF_S_MULTIPLE_BEGIN                    ((HRESULT)0x000D36D8)
/* A callback is already registered. */
#define MF_E_MULTIPLE_BEGIN                    ((HRESULT)0xC00D36D9)
/* Another listener is already present. */
#define MF_E_MULTIPLE_SUBSCRIBERS              ((HRESULT)0xC00D36DA)
/* The timer was orphaned before its callback time. */
#define MF_E_TIMER_ORPHANED                    ((HRESULT)0xC00D36DB)
/* The key is not valid. */
#define MF_E_INVALID_KEY                       ((HRESULT)0xC00D36E2)
/* MFStartup was given a version this platform does not provide. */
#define MF_E_BAD_STARTUP_VERSION               ((HRESULT)0xC00D36E3)
/* The operation was cancelled. */
#define MF_E_OPERATION_CANCELLED               ((HRESULT)0xC00D36ED)
/* Media Foundation is disabled in Safe Mode. */
#define MF_E_DISABLED_IN_SAFEMODE              ((HRESULT)0xC00D36EF)
/* Real-time I/O cannot provide the requested throughput. */
#define MF_E_RT_THROUGHPUT_NOT_AVAILABLE       ((HRESULT)0xC00D36F3)
/* The work queue cannot be registered with more classes. */
#define MF_E_RT_TOO_MANY_CLASSES               ((HRESULT)0xC00D36F4)
/* Another thread owns the object. */
#define MF_E_RT_WOULDBLOCK                     ((HRESULT)0xC00D36F5)
/* No more real-time memory. */
#define MF_E_RT_OUTOFMEMORY                    ((HRESULT)0xC00D36F7)
/* No MMCSS class has been set for this work queue. */
#define MF_E_RT_WORKQUEUE_CLASS_NOT_SPECIFIED  ((HRESULT)0xC00D36F8)
/* Invalid work queue id, or a queue that does not fit the callback's flags. */
#define MF_E_INVALID_WORKQUEUE                 ((HRESULT)0xC00D36FF)
/* A value is out of range. */
#define MF_E_OUT_OF_RANGE                      ((HRESULT)0xC00D3702)
/* No events are queued. */
#define MF_E_NO_EVENTS_AVAILABLE               ((HRESULT)0xC00D3E80)
/* The platform (or object) has been shut down, or was never started. */
#define MF_E_SHUTDOWN                          ((HRESULT)0xC00D3E85)
/* Already initialized. */
#define MF_E_ALREADY_INITIALIZED               ((HRESULT)0xC00D4650)

#endif /* MFWQ_MFERROR_H_ */
