/*
 * mfobjects.h - the asynchronous-callback interfaces of the mfwq work-queue
 * platform (libmfplat): IMFAsyncResult, IMFAsyncCallback,
 * IMFAsyncCallbackLogging, IMFRemoteAsyncCallback, the callback flags and the
 * work-queue identifiers.
 *
 * Every interface comes in two forms with one binary layout:
 *   C   : a struct whose only member is `lpVtbl`, pointing at a `...Vtbl`
 *         struct of function pointers (the three IUnknown slots first); with
 *         COBJMACROS defined, Interface_Method(This, ...) calls through it.
 *   C++ : an abstract class derived from IUnknown, with pure virtual methods
 *         in the same slot order (and no virtual destructor).
 * Methods use the native calling convention (see mfwq_win32.h).
 *
 * The IIDs are exported by libmfplat as data; their values are given in the
 * comments.
 */
#ifndef MFWQ_MFOBJECTS_H_
#define MFWQ_MFOBJECTS_H_

#include "mfwq_win32.h"

typedef struct IMFAsyncResult IMFAsyncResult;
typedef struct IMFAsyncCallback IMFAsyncCallback;
typedef struct IMFAsyncCallbackLogging IMFAsyncCallbackLogging;
typedef struct IMFRemoteAsyncCallback IMFRemoteAsyncCallback;

#ifdef __cplusplus
extern "C" {
#endif

/* {AC6B7889-0740-4D51-8619-905994A55CC6} */
extern const IID IID_IMFAsyncResult;
/* {A27003CF-2354-4F2A-8D6A-AB7CFF15437E} */
extern const IID IID_IMFAsyncCallback;
/* {C7A4DCA1-F5F0-47B6-B92B-BF0106D25791} */
extern const IID IID_IMFAsyncCallbackLogging;
/* {A27003D0-2354-4F2A-8D6A-AB7CFF15437E} */
extern const IID IID_IMFRemoteAsyncCallback;

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------------ */
/* Callback flags: what IMFAsyncCallback::GetParameters stores in *pdwFlags */
/* ------------------------------------------------------------------------ */

/* Invoke finishes very quickly (under about 1 ms). */
#define MFASYNC_FAST_IO_PROCESSING_CALLBACK 0x00000001u
/* Invoke only signals or does minimal work (under about 50 us). */
#define MFASYNC_SIGNAL_CALLBACK             0x00000002u
/* Invoke may block. */
#define MFASYNC_BLOCKING_CALLBACK           0x00000004u
/* Reply callback of a serial queue: the queue moves on only when the callee
 * invokes the result it received. */
#define MFASYNC_REPLY_CALLBACK              0x00000008u
/* Undocumented. */
#define MFASYNC_LOCALIZE_REMOTE_CALLBACK    0x00000010u

/* ------------------------------------------------------------------------ */
/* Work-queue identifiers (what GetParameters stores in *pdwQueue)          */
/* ------------------------------------------------------------------------ */

/* No queue. */
#define MFASYNC_CALLBACK_QUEUE_UNDEFINED     0x00000000u
/* The default queue of a callback: one thread, one item at a time. */
#define MFASYNC_CALLBACK_QUEUE_STANDARD      0x00000001u
/* Platform-internal. */
#define MFASYNC_CALLBACK_QUEUE_RT            0x00000002u
/* Platform-internal: I/O. */
#define MFASYNC_CALLBACK_QUEUE_IO            0x00000003u
/* Platform-internal: scheduled items and periodic callbacks. */
#define MFASYNC_CALLBACK_QUEUE_TIMER         0x00000004u
/* The general-purpose platform thread pool. */
#define MFASYNC_CALLBACK_QUEUE_MULTITHREADED 0x00000005u
/* (6 is not defined.) Platform-internal: long-running work. */
#define MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION 0x00000007u
/* Non-zero (id & MASK): a queue made by an allocate function. */
#define MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK  0xFFFF0000u
/* Every platform queue (MMCSS registration only). */
#define MFASYNC_CALLBACK_QUEUE_ALL           0xFFFFFFFFu

#ifdef __cplusplus
/* ======================================================================== */
/* C++ form                                                                 */
/* ======================================================================== */
extern "C++" {

/* The state of one asynchronous operation; the object a callback's Invoke
 * receives. Implementations start with the MFASYNCRESULT layout (mfapi.h). */
struct IMFAsyncResult : public IUnknown {
    /* Slot 3: the caller's state object, AddRef'd (E_POINTER if none). */
    virtual HRESULT MFWQ_STDCALL GetState(IUnknown **ppunkState) = 0;
    /* Slot 4: the status of the operation. */
    virtual HRESULT MFWQ_STDCALL GetStatus(void) = 0;
    /* Slot 5: set the status of the operation. */
    virtual HRESULT MFWQ_STDCALL SetStatus(HRESULT hrStatus) = 0;
    /* Slot 6: the object of the operation, AddRef'd (E_POINTER if none). */
    virtual HRESULT MFWQ_STDCALL GetObject(IUnknown **ppObject) = 0;
    /* Slot 7: the state object, not AddRef'd (NULL if none). */
    virtual IUnknown *MFWQ_STDCALL GetStateNoAddRef(void) = 0;
    MFWQ_INTERFACE_DTOR(IMFAsyncResult)
};

/* Implemented by the application: called on a work-queue thread. */
struct IMFAsyncCallback : public IUnknown {
    /* Slot 3: flags and queue of the callback (E_NOTIMPL: the defaults). */
    virtual HRESULT MFWQ_STDCALL GetParameters(DWORD *pdwFlags, DWORD *pdwQueue) = 0;
    /* Slot 4: the work item runs / the operation has completed. */
    virtual HRESULT MFWQ_STDCALL Invoke(IMFAsyncResult *pAsyncResult) = 0;
    MFWQ_INTERFACE_DTOR(IMFAsyncCallback)
};

/* A callback that can name its owner for diagnostics. */
struct IMFAsyncCallbackLogging : public IMFAsyncCallback {
    /* Slot 5: the object this callback belongs to. */
    virtual void *MFWQ_STDCALL GetObjectPointer(void) = 0;
    /* Slot 6: a tag identifying that object. */
    virtual DWORD MFWQ_STDCALL GetObjectTag(void) = 0;
    MFWQ_INTERFACE_DTOR(IMFAsyncCallbackLogging)
};

/* Used only to marshal asynchronous calls between processes. */
struct IMFRemoteAsyncCallback : public IUnknown {
    /* Slot 3. */
    virtual HRESULT MFWQ_STDCALL Invoke(HRESULT hr, IUnknown *pRemoteResult) = 0;
    MFWQ_INTERFACE_DTOR(IMFRemoteAsyncCallback)
};

} /* extern "C++" */

#ifdef MFWQ_DECLARE_UUIDOF_IID
MFWQ_DECLARE_UUIDOF_IID(IMFAsyncResult, IID_IMFAsyncResult)
MFWQ_DECLARE_UUIDOF_IID(IMFAsyncCallback, IID_IMFAsyncCallback)
MFWQ_DECLARE_UUIDOF_IID(IMFAsyncCallbackLogging, IID_IMFAsyncCallbackLogging)
MFWQ_DECLARE_UUIDOF_IID(IMFRemoteAsyncCallback, IID_IMFRemoteAsyncCallback)
#endif

#else
/* ======================================================================== */
/* C form                                                                   */
/* ======================================================================== */

/* IMFAsyncResult: 8 slots, 64 bytes. */
typedef struct IMFAsyncResultVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IMFAsyncResult *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IMFAsyncResult *This);
    ULONG (MFWQ_STDCALL *Release)(IMFAsyncResult *This);
    HRESULT (MFWQ_STDCALL *GetState)(IMFAsyncResult *This, IUnknown **ppunkState);
    HRESULT (MFWQ_STDCALL *GetStatus)(IMFAsyncResult *This);
    HRESULT (MFWQ_STDCALL *SetStatus)(IMFAsyncResult *This, HRESULT hrStatus);
    HRESULT (MFWQ_STDCALL *GetObject)(IMFAsyncResult *This, IUnknown **ppObject);
    IUnknown *(MFWQ_STDCALL *GetStateNoAddRef)(IMFAsyncResult *This);
    END_INTERFACE
} IMFAsyncResultVtbl;

struct IMFAsyncResult {
    CONST_VTBL IMFAsyncResultVtbl *lpVtbl;
};

/* IMFAsyncCallback: 5 slots, 40 bytes. */
typedef struct IMFAsyncCallbackVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IMFAsyncCallback *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IMFAsyncCallback *This);
    ULONG (MFWQ_STDCALL *Release)(IMFAsyncCallback *This);
    HRESULT (MFWQ_STDCALL *GetParameters)(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue);
    HRESULT (MFWQ_STDCALL *Invoke)(IMFAsyncCallback *This, IMFAsyncResult *pAsyncResult);
    END_INTERFACE
} IMFAsyncCallbackVtbl;

struct IMFAsyncCallback {
    CONST_VTBL IMFAsyncCallbackVtbl *lpVtbl;
};

/* IMFAsyncCallbackLogging: 7 slots, 56 bytes. */
typedef struct IMFAsyncCallbackLoggingVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IMFAsyncCallbackLogging *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IMFAsyncCallbackLogging *This);
    ULONG (MFWQ_STDCALL *Release)(IMFAsyncCallbackLogging *This);
    HRESULT (MFWQ_STDCALL *GetParameters)(IMFAsyncCallbackLogging *This, DWORD *pdwFlags, DWORD *pdwQueue);
    HRESULT (MFWQ_STDCALL *Invoke)(IMFAsyncCallbackLogging *This, IMFAsyncResult *pAsyncResult);
    void *(MFWQ_STDCALL *GetObjectPointer)(IMFAsyncCallbackLogging *This);
    DWORD (MFWQ_STDCALL *GetObjectTag)(IMFAsyncCallbackLogging *This);
    END_INTERFACE
} IMFAsyncCallbackLoggingVtbl;

struct IMFAsyncCallbackLogging {
    CONST_VTBL IMFAsyncCallbackLoggingVtbl *lpVtbl;
};

/* IMFRemoteAsyncCallback: 4 slots, 32 bytes. */
typedef struct IMFRemoteAsyncCallbackVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IMFRemoteAsyncCallback *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IMFRemoteAsyncCallback *This);
    ULONG (MFWQ_STDCALL *Release)(IMFRemoteAsyncCallback *This);
    HRESULT (MFWQ_STDCALL *Invoke)(IMFRemoteAsyncCallback *This, HRESULT hr, IUnknown *pRemoteResult);
    END_INTERFACE
} IMFRemoteAsyncCallbackVtbl;

struct IMFRemoteAsyncCallback {
    CONST_VTBL IMFRemoteAsyncCallbackVtbl *lpVtbl;
};

#ifdef COBJMACROS
#define IMFAsyncResult_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IMFAsyncResult_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IMFAsyncResult_Release(This) ((This)->lpVtbl->Release(This))
#define IMFAsyncResult_GetState(This, ppunkState) ((This)->lpVtbl->GetState(This, ppunkState))
#define IMFAsyncResult_GetStatus(This) ((This)->lpVtbl->GetStatus(This))
#define IMFAsyncResult_SetStatus(This, hrStatus) ((This)->lpVtbl->SetStatus(This, hrStatus))
#define IMFAsyncResult_GetObject(This, ppObject) ((This)->lpVtbl->GetObject(This, ppObject))
#define IMFAsyncResult_GetStateNoAddRef(This) ((This)->lpVtbl->GetStateNoAddRef(This))

#define IMFAsyncCallback_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IMFAsyncCallback_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IMFAsyncCallback_Release(This) ((This)->lpVtbl->Release(This))
#define IMFAsyncCallback_GetParameters(This, pdwFlags, pdwQueue) ((This)->lpVtbl->GetParameters(This, pdwFlags, pdwQueue))
#define IMFAsyncCallback_Invoke(This, pAsyncResult) ((This)->lpVtbl->Invoke(This, pAsyncResult))

#define IMFAsyncCallbackLogging_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IMFAsyncCallbackLogging_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IMFAsyncCallbackLogging_Release(This) ((This)->lpVtbl->Release(This))
#define IMFAsyncCallbackLogging_GetParameters(This, pdwFlags, pdwQueue) ((This)->lpVtbl->GetParameters(This, pdwFlags, pdwQueue))
#define IMFAsyncCallbackLogging_Invoke(This, pAsyncResult) ((This)->lpVtbl->Invoke(This, pAsyncResult))
#define IMFAsyncCallbackLogging_GetObjectPointer(This) ((This)->lpVtbl->GetObjectPointer(This))
#define IMFAsyncCallbackLogging_GetObjectTag(This) ((This)->lpVtbl->GetObjectTag(This))

#define IMFRemoteAsyncCallback_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IMFRemoteAsyncCallback_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IMFRemoteAsyncCallback_Release(This) ((This)->lpVtbl->Release(This))
#define IMFRemoteAsyncCallback_Invoke(This, hr, pRemoteResult) ((This)->lpVtbl->Invoke(This, hr, pRemoteResult))
#endif /* COBJMACROS */

#endif /* __cplusplus */

#endif /* MFWQ_MFOBJECTS_H_ */
