/*
 * mfapi.h - the Media Foundation work-queue platform, as libmfplat (mfwq)
 * provides it on Linux.
 *
 * Build:  cc -I include app.c -L target/release -lmfplat
 *         or: cc app.c $(pkg-config --cflags --libs mfplat)
 *         (for the build tree: PKG_CONFIG_PATH=target/release/pkgconfig)
 *
 * Every function returns an HRESULT (S_OK on success; codes in <mferror.h>)
 * and uses the native C calling convention. Parameter names are the usual
 * Windows ones; _In_/_Out_ notes say which pointers are optional.
 */
#ifndef MFWQ_MFAPI_H_
#define MFWQ_MFAPI_H_

#include "mfwq_win32.h"
#include "mfobjects.h"
#include "mferror.h"

/* ------------------------------------------------------------------------ */
/* Versions and startup flags                                               */
/* ------------------------------------------------------------------------ */

/* The SDK (high word) and API (low word) versions MFStartup is given. The
 * SDK version is 2 (Windows 7 and later) unless WINVER asks for Vista. */
#if defined(WINVER) && (WINVER < 0x0601)
#  define MF_SDK_VERSION 0x0001
#else
#  define MF_SDK_VERSION 0x0002
#endif
#define MF_API_VERSION 0x0070
#define MF_VERSION ((MF_SDK_VERSION << 16) | MF_API_VERSION)

/* MFStartup flags. (No sockets are initialized on Linux either way.) */
#define MFSTARTUP_NOSOCKET 0x1
#define MFSTARTUP_LITE     (MFSTARTUP_NOSOCKET)
#define MFSTARTUP_FULL     0x0

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

/* The kind of queue MFAllocateWorkQueueEx makes (4 bytes). */
typedef enum _MFASYNC_WORKQUEUE_TYPE {
    MF_STANDARD_WORKQUEUE = 0,       /* one thread, no message loop */
    MF_WINDOW_WORKQUEUE = 1,         /* one thread of its own that a host may pump */
    MF_MULTITHREADED_WORKQUEUE = 2   /* a thread pool; items run concurrently */
} MFASYNC_WORKQUEUE_TYPE;

/* Cancellation key of a scheduled or waiting work item. */
typedef UINT64 MFWORKITEM_KEY;

/* A periodic callback (MFAddPeriodicCallback); pContext may be NULL. */
typedef void (*MFPERIODICCALLBACK)(IUnknown *pContext);

/* MMCSS relative thread priority (the lPriority / BasePriority arguments). */
#if !defined(MFWQ_AVRT_PRIORITY_DEFINED) && !defined(_AVRT_)
#define MFWQ_AVRT_PRIORITY_DEFINED
typedef enum _AVRT_PRIORITY {
    AVRT_PRIORITY_VERYLOW = -2,
    AVRT_PRIORITY_LOW = -1,
    AVRT_PRIORITY_NORMAL = 0,
    AVRT_PRIORITY_HIGH = 1,
    AVRT_PRIORITY_CRITICAL = 2
} AVRT_PRIORITY, *PAVRT_PRIORITY;
#endif

/* The layout every IMFAsyncResult implementation starts with: 64 bytes,
 * alignment 8. Offsets: vtable pointer 0, overlapped 8, pCallback 40,
 * hrStatusResult 48, dwBytesTransferred 52, hEvent 56. A custom result
 * object zero-fills `overlapped`, sets dwBytesTransferred to 0, and puts its
 * own fields after these. */
#ifdef __cplusplus
extern "C++" {
typedef struct tagMFASYNCRESULT : public IMFAsyncResult {
    OVERLAPPED overlapped;           /* internal; zero-filled */
    IMFAsyncCallback *pCallback;     /* callback to invoke, or NULL with hEvent */
    HRESULT hrStatusResult;          /* status of the operation */
    DWORD dwBytesTransferred;        /* internal; 0 */
    HANDLE hEvent;                   /* signalled instead when pCallback is NULL */
    MFWQ_INTERFACE_DTOR(tagMFASYNCRESULT)
} MFASYNCRESULT;
}
#else
typedef struct tagMFASYNCRESULT {
    IMFAsyncResult AsyncResult;      /* the vtable pointer */
    OVERLAPPED overlapped;           /* internal; zero-filled */
    IMFAsyncCallback *pCallback;     /* callback to invoke, or NULL with hEvent */
    HRESULT hrStatusResult;          /* status of the operation */
    DWORD dwBytesTransferred;        /* internal; 0 */
    HANDLE hEvent;                   /* signalled instead when pCallback is NULL */
} MFASYNCRESULT;
#endif

/* ------------------------------------------------------------------------ */
/* Functions                                                                */
/* ------------------------------------------------------------------------ */

#ifdef __cplusplus
extern "C" {
#endif

/* Platform lifecycle. Version: MF_VERSION. */
#ifdef __cplusplus
MFWQ_STDAPI MFStartup(ULONG Version, DWORD dwFlags = MFSTARTUP_FULL);
#else
MFWQ_STDAPI MFStartup(ULONG Version, DWORD dwFlags);
#endif
MFWQ_STDAPI MFShutdown(void);
MFWQ_STDAPI MFLockPlatform(void);
MFWQ_STDAPI MFUnlockPlatform(void);

/* Queue management. */
MFWQ_STDAPI MFAllocateWorkQueue(DWORD *pdwWorkQueue /* _Out_ */);
MFWQ_STDAPI MFAllocateWorkQueueEx(MFASYNC_WORKQUEUE_TYPE WorkQueueType, DWORD *pdwWorkQueue /* _Out_ */);
MFWQ_STDAPI MFAllocateSerialWorkQueue(DWORD dwWorkQueue /* _In_ */, DWORD *pdwWorkQueue /* _Out_ */);
MFWQ_STDAPI MFLockWorkQueue(DWORD dwWorkQueue);
MFWQ_STDAPI MFUnlockWorkQueue(DWORD dwWorkQueue);
MFWQ_STDAPI MFLockSharedWorkQueue(PCWSTR wszClass, LONG BasePriority,
                                  DWORD *pdwTaskId /* _Inout_ */, DWORD *pID /* _Out_ */);

/* Putting work items. */
MFWQ_STDAPI MFPutWorkItem(DWORD dwQueue, IMFAsyncCallback *pCallback, IUnknown *pState);
MFWQ_STDAPI MFPutWorkItem2(DWORD dwQueue, LONG Priority,
                           IMFAsyncCallback *pCallback /* _In_ */, IUnknown *pState /* _In_opt_ */);
MFWQ_STDAPI MFPutWorkItemEx(DWORD dwQueue, IMFAsyncResult *pResult);
MFWQ_STDAPI MFPutWorkItemEx2(DWORD dwQueue, LONG Priority, IMFAsyncResult *pResult /* _In_ */);

/* Timers, waits, cancellation. Timeout: milliseconds, given as a negative
 * number (-5000 = 5 s). */
MFWQ_STDAPI MFPutWaitingWorkItem(HANDLE hEvent, LONG Priority, IMFAsyncResult *pResult /* _In_ */,
                                 MFWORKITEM_KEY *pKey /* _Out_opt_ */);
MFWQ_STDAPI MFScheduleWorkItem(IMFAsyncCallback *pCallback, IUnknown *pState, INT64 Timeout,
                               MFWORKITEM_KEY *pKey /* _Out_opt_ */);
MFWQ_STDAPI MFScheduleWorkItemEx(IMFAsyncResult *pResult, INT64 Timeout,
                                 MFWORKITEM_KEY *pKey /* _Out_opt_ */);
MFWQ_STDAPI MFCancelWorkItem(MFWORKITEM_KEY Key);

/* Result objects and invocation. */
MFWQ_STDAPI MFCreateAsyncResult(IUnknown *punkObject, IMFAsyncCallback *pCallback, IUnknown *punkState,
                                IMFAsyncResult **ppAsyncResult /* _Out_ */);
MFWQ_STDAPI MFInvokeCallback(IMFAsyncResult *pAsyncResult);

/* Periodic callbacks. */
MFWQ_STDAPI MFGetTimerPeriodicity(DWORD *Periodicity /* _Out_ */);
MFWQ_STDAPI MFAddPeriodicCallback(MFPERIODICCALLBACK Callback, IUnknown *pContext,
                                  DWORD *pdwKey /* _Out_opt_ */);
MFWQ_STDAPI MFRemovePeriodicCallback(DWORD dwKey);

/* MMCSS (mapped to Linux scheduling classes). */
MFWQ_STDAPI MFBeginRegisterWorkQueueWithMMCSS(DWORD dwWorkQueueId, LPCWSTR wszClass, DWORD dwTaskId,
                                              IMFAsyncCallback *pDoneCallback, IUnknown *pDoneState);
MFWQ_STDAPI MFBeginRegisterWorkQueueWithMMCSSEx(DWORD dwWorkQueueId, LPCWSTR wszClass, DWORD dwTaskId,
                                                LONG lPriority, IMFAsyncCallback *pDoneCallback,
                                                IUnknown *pDoneState);
MFWQ_STDAPI MFEndRegisterWorkQueueWithMMCSS(IMFAsyncResult *pResult, DWORD *pdwTaskId /* _Out_ */);
MFWQ_STDAPI MFBeginUnregisterWorkQueueWithMMCSS(DWORD dwWorkQueueId, IMFAsyncCallback *pDoneCallback,
                                                IUnknown *pDoneState);
MFWQ_STDAPI MFEndUnregisterWorkQueueWithMMCSS(IMFAsyncResult *pResult);
MFWQ_STDAPI MFGetWorkQueueMMCSSClass(DWORD dwWorkQueueId,
                                     LPWSTR pwszClass /* _Out_writes_to_opt_(*pcchClass, *pcchClass) */,
                                     DWORD *pcchClass /* _Inout_ */);
MFWQ_STDAPI MFGetWorkQueueMMCSSTaskId(DWORD dwWorkQueueId, LPDWORD pdwTaskId);
MFWQ_STDAPI MFGetWorkQueueMMCSSPriority(DWORD dwWorkQueueId, LONG *lPriority);
MFWQ_STDAPI MFRegisterPlatformWithMMCSS(PCWSTR wszClass, DWORD *pdwTaskId /* _Inout_ */, LONG lPriority);
MFWQ_STDAPI MFUnregisterPlatformFromMMCSS(void);

#ifdef __cplusplus
}
#endif

#endif /* MFWQ_MFAPI_H_ */
