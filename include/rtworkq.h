/*
 * rtworkq.h - the Real-Time Work Queue API (RTWorkQ), as libmfplat (mfwq)
 * provides it on Linux. It shares one platform with <mfapi.h>; both headers
 * can be included in one translation unit, in either order.
 *
 * Build:  cc -I include app.c -L target/release -lmfplat
 *
 * IRtwqAsyncResult and IRtwqAsyncCallback are binary-identical to
 * IMFAsyncResult and IMFAsyncCallback and have the same IIDs, and
 * RTWQASYNCRESULT has the MFASYNCRESULT layout: objects of either family can
 * be passed to the other family's functions with a pointer cast.
 *
 * As in the Windows SDK, this header defines no work-queue identifiers and
 * no callback flags: the numbers are those of <mfobjects.h>
 * (MFASYNC_CALLBACK_QUEUE_*, MFASYNC_*_CALLBACK).
 */
#ifndef MFWQ_RTWORKQ_H_
#define MFWQ_RTWORKQ_H_

#include "mfwq_win32.h"

typedef struct IRtwqAsyncResult IRtwqAsyncResult;
typedef struct IRtwqAsyncCallback IRtwqAsyncCallback;
typedef struct IRtwqPlatformEvents IRtwqPlatformEvents;

#ifdef __cplusplus
extern "C" {
#endif

/* {AC6B7889-0740-4D51-8619-905994A55CC6} (= IID_IMFAsyncResult) */
extern const IID IID_IRtwqAsyncResult;
/* {A27003CF-2354-4F2A-8D6A-AB7CFF15437E} (= IID_IMFAsyncCallback) */
extern const IID IID_IRtwqAsyncCallback;
/* {63D9255A-7FF1-4B61-8FAF-ED6460DACF2B} */
extern const IID IID_IRtwqPlatformEvents;

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------------ */
/* Error codes: the same values as the MF_E_* codes of the same names       */
/* ------------------------------------------------------------------------ */

/* x is the decimal code within facility MF. */
#define RTWQ_E_ERROR(x) ((HRESULT)(0xC00D0000u + (x)))

#define RTWQ_E_BUFFERTOOSMALL       RTWQ_E_ERROR(14001)   /* 0xC00D36B1 */
#define RTWQ_E_NOT_INITIALIZED      RTWQ_E_ERROR(14006)   /* 0xC00D36B6 */
#define RTWQ_E_UNEXPECTED           RTWQ_E_ERROR(14011)   /* 0xC00D36BB */
#define RTWQ_E_NOT_FOUND            RTWQ_E_ERROR(14037)   /* 0xC00D36D5 */
#define RTWQ_E_OPERATION_CANCELLED  RTWQ_E_ERROR(14061)   /* 0xC00D36ED */
#define RTWQ_E_INVALID_WORKQUEUE    RTWQ_E_ERROR(14079)   /* 0xC00D36FF */
#define RTWQ_E_SHUTDOWN             RTWQ_E_ERROR(16005)   /* 0xC00D3E85 */

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

/* The kind of queue RtwqAllocateWorkQueue makes (4 bytes). */
typedef enum _RTWQ_WORKQUEUE_TYPE {
    RTWQ_STANDARD_WORKQUEUE = 0,       /* one thread, no message loop */
    RTWQ_WINDOW_WORKQUEUE = 1,         /* one thread of its own that a host may pump */
    RTWQ_MULTITHREADED_WORKQUEUE = 2   /* a thread pool; items run concurrently */
} RTWQ_WORKQUEUE_TYPE;

/* Cancellation key of a scheduled or waiting work item. */
typedef UINT64 RTWQWORKITEM_KEY;

/* A periodic callback (RtwqAddPeriodicCallback); context may be NULL. */
typedef void (MFWQ_STDCALL *RTWQPERIODICCALLBACK)(IUnknown *context);  /* WINAPI */

#ifdef __cplusplus
/* ======================================================================== */
/* C++ form                                                                 */
/* ======================================================================== */
extern "C++" {

/* Same slots and meaning as IMFAsyncResult. */
struct IRtwqAsyncResult : public IUnknown {
    virtual HRESULT MFWQ_STDCALL GetState(IUnknown **ppunkState) = 0;       /* slot 3 */
    virtual HRESULT MFWQ_STDCALL GetStatus(void) = 0;                       /* slot 4 */
    virtual HRESULT MFWQ_STDCALL SetStatus(HRESULT hrStatus) = 0;           /* slot 5 */
    virtual HRESULT MFWQ_STDCALL GetObject(IUnknown **ppObject) = 0;        /* slot 6 */
    virtual IUnknown *MFWQ_STDCALL GetStateNoAddRef(void) = 0;              /* slot 7 */
    MFWQ_INTERFACE_DTOR(IRtwqAsyncResult)
};

/* Same slots and meaning as IMFAsyncCallback. */
struct IRtwqAsyncCallback : public IUnknown {
    virtual HRESULT MFWQ_STDCALL GetParameters(DWORD *pdwFlags, DWORD *pdwQueue) = 0;  /* slot 3 */
    virtual HRESULT MFWQ_STDCALL Invoke(IRtwqAsyncResult *pAsyncResult) = 0;           /* slot 4 */
    MFWQ_INTERFACE_DTOR(IRtwqAsyncCallback)
};

/* Notified of platform startup and shutdown (RtwqRegisterPlatformEvents). */
struct IRtwqPlatformEvents : public IUnknown {
    virtual HRESULT MFWQ_STDCALL InitializationComplete(void) = 0;  /* slot 3 */
    virtual HRESULT MFWQ_STDCALL ShutdownStart(void) = 0;           /* slot 4 */
    virtual HRESULT MFWQ_STDCALL ShutdownComplete(void) = 0;        /* slot 5 */
    MFWQ_INTERFACE_DTOR(IRtwqPlatformEvents)
};

/* The MFASYNCRESULT layout with RTWQ types: 64 bytes. */
typedef struct tagRTWQASYNCRESULT : public IRtwqAsyncResult {
    OVERLAPPED overlapped;           /*  8: internal; zero-filled */
    IRtwqAsyncCallback *pCallback;   /* 40: callback, or NULL with hEvent */
    HRESULT hrStatusResult;          /* 48: status of the operation */
    DWORD dwBytesTransferred;        /* 52: internal; 0 */
    HANDLE hEvent;                   /* 56: signalled when pCallback is NULL */
    MFWQ_INTERFACE_DTOR(tagRTWQASYNCRESULT)
} RTWQASYNCRESULT;

} /* extern "C++" */

#ifdef MFWQ_DECLARE_UUIDOF_IID
MFWQ_DECLARE_UUIDOF_IID(IRtwqAsyncResult, IID_IRtwqAsyncResult)
MFWQ_DECLARE_UUIDOF_IID(IRtwqAsyncCallback, IID_IRtwqAsyncCallback)
MFWQ_DECLARE_UUIDOF_IID(IRtwqPlatformEvents, IID_IRtwqPlatformEvents)
#endif

#else
/* ======================================================================== */
/* C form                                                                   */
/* ======================================================================== */

/* IRtwqAsyncResult: 8 slots, 64 bytes. */
typedef struct IRtwqAsyncResultVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IRtwqAsyncResult *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IRtwqAsyncResult *This);
    ULONG (MFWQ_STDCALL *Release)(IRtwqAsyncResult *This);
    HRESULT (MFWQ_STDCALL *GetState)(IRtwqAsyncResult *This, IUnknown **ppunkState);
    HRESULT (MFWQ_STDCALL *GetStatus)(IRtwqAsyncResult *This);
    HRESULT (MFWQ_STDCALL *SetStatus)(IRtwqAsyncResult *This, HRESULT hrStatus);
    HRESULT (MFWQ_STDCALL *GetObject)(IRtwqAsyncResult *This, IUnknown **ppObject);
    IUnknown *(MFWQ_STDCALL *GetStateNoAddRef)(IRtwqAsyncResult *This);
    END_INTERFACE
} IRtwqAsyncResultVtbl;

struct IRtwqAsyncResult {
    CONST_VTBL IRtwqAsyncResultVtbl *lpVtbl;
};

/* IRtwqAsyncCallback: 5 slots, 40 bytes. */
typedef struct IRtwqAsyncCallbackVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IRtwqAsyncCallback *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IRtwqAsyncCallback *This);
    ULONG (MFWQ_STDCALL *Release)(IRtwqAsyncCallback *This);
    HRESULT (MFWQ_STDCALL *GetParameters)(IRtwqAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue);
    HRESULT (MFWQ_STDCALL *Invoke)(IRtwqAsyncCallback *This, IRtwqAsyncResult *pAsyncResult);
    END_INTERFACE
} IRtwqAsyncCallbackVtbl;

struct IRtwqAsyncCallback {
    CONST_VTBL IRtwqAsyncCallbackVtbl *lpVtbl;
};

/* IRtwqPlatformEvents: 6 slots, 48 bytes. */
typedef struct IRtwqPlatformEventsVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IRtwqPlatformEvents *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IRtwqPlatformEvents *This);
    ULONG (MFWQ_STDCALL *Release)(IRtwqPlatformEvents *This);
    HRESULT (MFWQ_STDCALL *InitializationComplete)(IRtwqPlatformEvents *This);
    HRESULT (MFWQ_STDCALL *ShutdownStart)(IRtwqPlatformEvents *This);
    HRESULT (MFWQ_STDCALL *ShutdownComplete)(IRtwqPlatformEvents *This);
    END_INTERFACE
} IRtwqPlatformEventsVtbl;

struct IRtwqPlatformEvents {
    CONST_VTBL IRtwqPlatformEventsVtbl *lpVtbl;
};

/* The MFASYNCRESULT layout with RTWQ types: 64 bytes. */
typedef struct tagRTWQASYNCRESULT {
    IRtwqAsyncResult AsyncResult;    /*  0: the vtable pointer */
    OVERLAPPED overlapped;           /*  8: internal; zero-filled */
    IRtwqAsyncCallback *pCallback;   /* 40: callback, or NULL with hEvent */
    HRESULT hrStatusResult;          /* 48: status of the operation */
    DWORD dwBytesTransferred;        /* 52: internal; 0 */
    HANDLE hEvent;                   /* 56: signalled when pCallback is NULL */
} RTWQASYNCRESULT;

#ifdef COBJMACROS
#define IRtwqAsyncResult_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IRtwqAsyncResult_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRtwqAsyncResult_Release(This) ((This)->lpVtbl->Release(This))
#define IRtwqAsyncResult_GetState(This, ppunkState) ((This)->lpVtbl->GetState(This, ppunkState))
#define IRtwqAsyncResult_GetStatus(This) ((This)->lpVtbl->GetStatus(This))
#define IRtwqAsyncResult_SetStatus(This, hrStatus) ((This)->lpVtbl->SetStatus(This, hrStatus))
#define IRtwqAsyncResult_GetObject(This, ppObject) ((This)->lpVtbl->GetObject(This, ppObject))
#define IRtwqAsyncResult_GetStateNoAddRef(This) ((This)->lpVtbl->GetStateNoAddRef(This))

#define IRtwqAsyncCallback_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IRtwqAsyncCallback_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRtwqAsyncCallback_Release(This) ((This)->lpVtbl->Release(This))
#define IRtwqAsyncCallback_GetParameters(This, pdwFlags, pdwQueue) ((This)->lpVtbl->GetParameters(This, pdwFlags, pdwQueue))
#define IRtwqAsyncCallback_Invoke(This, pAsyncResult) ((This)->lpVtbl->Invoke(This, pAsyncResult))

#define IRtwqPlatformEvents_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IRtwqPlatformEvents_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IRtwqPlatformEvents_Release(This) ((This)->lpVtbl->Release(This))
#define IRtwqPlatformEvents_InitializationComplete(This) ((This)->lpVtbl->InitializationComplete(This))
#define IRtwqPlatformEvents_ShutdownStart(This) ((This)->lpVtbl->ShutdownStart(This))
#define IRtwqPlatformEvents_ShutdownComplete(This) ((This)->lpVtbl->ShutdownComplete(This))
#endif /* COBJMACROS */

#endif /* __cplusplus */

/* ------------------------------------------------------------------------ */
/* Functions                                                                */
/* ------------------------------------------------------------------------ */

#ifdef __cplusplus
extern "C" {
#endif

/* Platform lifecycle (one startup count, shared with MFStartup). */
MFWQ_STDAPI RtwqStartup(void);
MFWQ_STDAPI RtwqShutdown(void);
MFWQ_STDAPI RtwqLockPlatform(void);
MFWQ_STDAPI RtwqUnlockPlatform(void);
MFWQ_STDAPI RtwqRegisterPlatformEvents(IRtwqPlatformEvents *events);
MFWQ_STDAPI RtwqUnregisterPlatformEvents(IRtwqPlatformEvents *events);

/* Queue management. */
MFWQ_STDAPI RtwqAllocateWorkQueue(RTWQ_WORKQUEUE_TYPE queue_type, DWORD *queue);
MFWQ_STDAPI RtwqAllocateSerialWorkQueue(DWORD target_queue, DWORD *queue);
MFWQ_STDAPI RtwqLockWorkQueue(DWORD queue);
MFWQ_STDAPI RtwqUnlockWorkQueue(DWORD queue);
MFWQ_STDAPI RtwqLockSharedWorkQueue(const WCHAR *usageclass, LONG priority,
                                    DWORD *taskid /* _Inout_ */, DWORD *queue);
MFWQ_STDAPI RtwqJoinWorkQueue(DWORD queue, HANDLE hFile, HANDLE *cookie);
MFWQ_STDAPI RtwqUnjoinWorkQueue(DWORD queue, HANDLE cookie);
MFWQ_STDAPI RtwqSetLongRunning(DWORD queue_id, BOOL enable);  /* BOOL = WINBOOL */

/* Result objects, work items, timers, waits. Timeout: negative milliseconds. */
MFWQ_STDAPI RtwqCreateAsyncResult(IUnknown *object, IRtwqAsyncCallback *callback, IUnknown *state,
                                  IRtwqAsyncResult **result);
MFWQ_STDAPI RtwqInvokeCallback(IRtwqAsyncResult *result);
MFWQ_STDAPI RtwqPutWorkItem(DWORD queue, LONG priority, IRtwqAsyncResult *result);
MFWQ_STDAPI RtwqPutWaitingWorkItem(HANDLE event, LONG priority, IRtwqAsyncResult *result,
                                   RTWQWORKITEM_KEY *key /* _Out_opt_ */);
MFWQ_STDAPI RtwqScheduleWorkItem(IRtwqAsyncResult *result, INT64 timeout,
                                 RTWQWORKITEM_KEY *key /* _Out_opt_ */);
MFWQ_STDAPI RtwqCancelWorkItem(RTWQWORKITEM_KEY key);
MFWQ_STDAPI RtwqAddPeriodicCallback(RTWQPERIODICCALLBACK callback, IUnknown *context,
                                    DWORD *key /* _Out_opt_ */);
MFWQ_STDAPI RtwqRemovePeriodicCallback(DWORD key);

/* MMCSS (mapped to Linux scheduling classes). */
MFWQ_STDAPI RtwqBeginRegisterWorkQueueWithMMCSS(DWORD queue, const WCHAR *mmcss_class, DWORD taskid,
                                                LONG priority, IRtwqAsyncCallback *callback,
                                                IUnknown *state);
MFWQ_STDAPI RtwqEndRegisterWorkQueueWithMMCSS(IRtwqAsyncResult *result, DWORD *taskid);
MFWQ_STDAPI RtwqBeginUnregisterWorkQueueWithMMCSS(DWORD queue, IRtwqAsyncCallback *callback,
                                                  IUnknown *state);
/* Not in the Windows SDK header; exported by libmfplat as a harmless extra. */
MFWQ_STDAPI RtwqEndUnregisterWorkQueueWithMMCSS(IRtwqAsyncResult *result);
MFWQ_STDAPI RtwqGetWorkQueueMMCSSClass(DWORD queue, WCHAR *mmcss_class, DWORD *length);
MFWQ_STDAPI RtwqGetWorkQueueMMCSSTaskId(DWORD queue, DWORD *taskid);
MFWQ_STDAPI RtwqGetWorkQueueMMCSSPriority(DWORD queue, LONG *priority);
MFWQ_STDAPI RtwqRegisterPlatformWithMMCSS(const WCHAR *mmcss_class, DWORD *taskid /* _Inout_ */,
                                          LONG priority);
MFWQ_STDAPI RtwqUnregisterPlatformFromMMCSS(void);

/* Deadlines (100-ns units). */
MFWQ_STDAPI RtwqSetDeadline(DWORD queue_id, LONGLONG deadline, HANDLE *request);
MFWQ_STDAPI RtwqSetDeadline2(DWORD queue_id, LONGLONG deadline, LONGLONG predeadline, HANDLE *request);
MFWQ_STDAPI RtwqCancelDeadline(HANDLE request);

#ifdef __cplusplus
}
#endif

#endif /* MFWQ_RTWORKQ_H_ */
