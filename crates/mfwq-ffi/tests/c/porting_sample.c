/*
 * porting_sample.c - Media Foundation work-queue code written the way
 * Windows documentation and samples write it, in C, built unchanged against
 * the mfwq headers: a COM callback object with Interlocked reference counting
 * and QueryInterface, COM initialised before MFStartup, a critical section
 * guarding shared state, an asynchronous method with the Begin/End pattern
 * (MFCreateAsyncResult, MFPutWorkItem, MFInvokeCallback), a private work
 * queue, and event waits with WaitForSingleObject and WaitForMultipleObjects.
 *
 * Nothing here is mfwq-specific: no helper header, only <mfapi.h>. The only
 * Linux spelling is u"" for wide strings (WCHAR is 16 bits, wchar_t is not).
 */
#define COBJMACROS
#include <mfapi.h>

#include <stdio.h>
#include <stdlib.h>

static int failures;

#define CHECK_HR(expr)                                                                  \
    do {                                                                                \
        HRESULT hr_ = (expr);                                                           \
        if (FAILED(hr_)) {                                                              \
            printf("%s:%d: %s failed: 0x%08x\n", __FILE__, __LINE__, #expr, (unsigned)hr_); \
            failures++;                                                                 \
        }                                                                               \
    } while (0)
#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

/* ------------------------------------------------------------------------ */
/* An asynchronous "square root" operation, Begin/End style                 */
/* ------------------------------------------------------------------------ */

/* The operation object: the work-queue callback that computes, and carries the
 * caller's result until completion. */
typedef struct SqrtOperation {
    IMFAsyncCallback iface;
    LONG refCount;
    double input;
    double output;
    IMFAsyncResult *callerResult; /* reported with MFInvokeCallback */
} SqrtOperation;

/* The operation travels to EndSqrt as the result's object: a tiny IUnknown. */
static SqrtOperation *impl_from_callback(IMFAsyncCallback *iface)
{
    return (SqrtOperation *)iface;
}

static HRESULT STDMETHODCALLTYPE Sqrt_QueryInterface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    if (ppv == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *ppv = This;
        IMFAsyncCallback_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE Sqrt_AddRef(IMFAsyncCallback *This)
{
    return (ULONG)InterlockedIncrement(&impl_from_callback(This)->refCount);
}

static ULONG STDMETHODCALLTYPE Sqrt_Release(IMFAsyncCallback *This)
{
    SqrtOperation *op = impl_from_callback(This);
    LONG count = InterlockedDecrement(&op->refCount);
    if (count == 0) {
        if (op->callerResult != NULL)
            IMFAsyncResult_Release(op->callerResult);
        free(op);
    }
    return (ULONG)count;
}

static HRESULT STDMETHODCALLTYPE Sqrt_GetParameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    (void)This;
    (void)pdwFlags;
    (void)pdwQueue;
    return E_NOTIMPL; /* the defaults: STANDARD, no flags */
}

/* Runs on the work queue: do the work, then complete the caller's result. */
static HRESULT STDMETHODCALLTYPE Sqrt_Invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    SqrtOperation *op = impl_from_callback(This);
    IMFAsyncResult *caller;
    HRESULT hr = S_OK;
    double x = op->input, guess = x > 1 ? x / 2 : 1;
    (void)pResult;

    if (x < 0) {
        hr = E_INVALIDARG;
    } else {
        for (int i = 0; i < 40; i++)
            guess = (guess + x / guess) / 2;
        op->output = x == 0 ? 0 : guess;
    }
    /* The caller's result holds this operation (its object): let go of it
     * here, or the two would keep each other alive. */
    caller = op->callerResult;
    op->callerResult = NULL;
    IMFAsyncResult_SetStatus(caller, hr);
    hr = MFInvokeCallback(caller);
    IMFAsyncResult_Release(caller);
    return hr;
}

static const IMFAsyncCallbackVtbl SqrtVtbl = {
    Sqrt_QueryInterface, Sqrt_AddRef, Sqrt_Release, Sqrt_GetParameters, Sqrt_Invoke,
};

/* BeginSqrt: starts the operation; pCallback is invoked when it is done. */
static HRESULT BeginSqrt(double x, IMFAsyncCallback *pCallback, IUnknown *pState)
{
    SqrtOperation *op = calloc(1, sizeof(*op));
    HRESULT hr;

    if (op == NULL)
        return E_OUTOFMEMORY;
    op->iface.lpVtbl = &SqrtVtbl;
    op->refCount = 1;
    op->input = x;
    /* The caller's result carries the operation as its object, for EndSqrt. */
    hr = MFCreateAsyncResult((IUnknown *)&op->iface, pCallback, pState, &op->callerResult);
    if (SUCCEEDED(hr))
        hr = MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &op->iface, NULL);
    IMFAsyncCallback_Release(&op->iface);
    return hr;
}

/* EndSqrt: the outcome, from the result the caller's callback received. */
static HRESULT EndSqrt(IMFAsyncResult *pResult, double *pOutput)
{
    IUnknown *object = NULL;
    HRESULT hr = IMFAsyncResult_GetObject(pResult, &object);

    if (SUCCEEDED(hr)) {
        SqrtOperation *op = impl_from_callback((IMFAsyncCallback *)object);
        hr = IMFAsyncResult_GetStatus(pResult);
        if (SUCCEEDED(hr))
            *pOutput = op->output;
        IUnknown_Release(object);
    }
    return hr;
}

/* ------------------------------------------------------------------------ */
/* The caller: a callback that collects results under a critical section    */
/* ------------------------------------------------------------------------ */

#define N_REQUESTS 64

typedef struct Collector {
    IMFAsyncCallback iface;
    long refCount; /* `long`, as Microsoft's samples write it (64 bits here: C11 picks the long form) */
    DWORD queue; /* where Invoke runs: a private queue */
    CRITICAL_SECTION lock;
    double sum;
    int completed;
    int failed;
    HANDLE allDone;
    HANDLE sawFailure;
} Collector;

static Collector *collector_from(IMFAsyncCallback *iface) { return (Collector *)iface; }

static HRESULT STDMETHODCALLTYPE Collector_QueryInterface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    if (ppv == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *ppv = This;
        IMFAsyncCallback_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE Collector_AddRef(IMFAsyncCallback *This)
{
    return (ULONG)InterlockedIncrement(&collector_from(This)->refCount);
}

static ULONG STDMETHODCALLTYPE Collector_Release(IMFAsyncCallback *This)
{
    Collector *c = collector_from(This);
    long count = InterlockedDecrement(&c->refCount);
    if (count == 0) {
        DeleteCriticalSection(&c->lock);
        CloseHandle(c->allDone);
        CloseHandle(c->sawFailure);
        free(c);
    }
    return (ULONG)count;
}

static HRESULT STDMETHODCALLTYPE Collector_GetParameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    *pdwFlags = 0;
    *pdwQueue = collector_from(This)->queue;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Collector_Invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    Collector *c = collector_from(This);
    double value = 0;
    HRESULT hr = EndSqrt(pResult, &value);

    EnterCriticalSection(&c->lock);
    /* Re-entered on purpose: critical sections are recursive. */
    EnterCriticalSection(&c->lock);
    if (SUCCEEDED(hr))
        c->sum += value;
    else
        c->failed++;
    c->completed++;
    if (c->completed == N_REQUESTS + 1)
        SetEvent(c->allDone);
    LeaveCriticalSection(&c->lock);
    LeaveCriticalSection(&c->lock);
    if (FAILED(hr))
        SetEvent(c->sawFailure);
    return S_OK;
}

static const IMFAsyncCallbackVtbl CollectorVtbl = {
    Collector_QueryInterface, Collector_AddRef, Collector_Release, Collector_GetParameters, Collector_Invoke,
};

int main(void)
{
    HRESULT hr;
    Collector *collector;
    IMFAsyncCallback *asCallback = NULL;
    IUnknown *asUnknown = NULL;
    HANDLE waits[2];
    DWORD which;
    LONG flag = 0;
    void *slot = NULL;
    int marker = 0;
    ULONGLONG started;

    /* COM first, then Media Foundation, as MF applications do. */
    hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    CHECK(hr == S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL));
    started = GetTickCount64();

    /* The Interlocked functions return the new value (old for Exchange). */
    CHECK(InterlockedIncrement(&flag) == 1);
    CHECK(InterlockedExchange(&flag, 5) == 1);
    CHECK(InterlockedCompareExchange(&flag, 7, 5) == 5 && flag == 7);
    CHECK(InterlockedExchangeAdd(&flag, 3) == 7 && flag == 10);
    CHECK(InterlockedCompareExchangePointer(&slot, &marker, NULL) == NULL && slot == &marker);

    collector = calloc(1, sizeof(*collector));
    if (collector == NULL)
        return 1;
    collector->iface.lpVtbl = &CollectorVtbl;
    collector->refCount = 1;
    InitializeCriticalSectionAndSpinCount(&collector->lock, 4000);
    collector->allDone = CreateEventW(NULL, TRUE, FALSE, NULL);
    collector->sawFailure = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK_HR(MFAllocateWorkQueue(&collector->queue));

    /* QueryInterface as callers use it. */
    CHECK_HR(IMFAsyncCallback_QueryInterface(&collector->iface, &IID_IUnknown, (void **)&asUnknown));
    CHECK_HR(IUnknown_QueryInterface(asUnknown, &IID_IMFAsyncCallback, (void **)&asCallback));
    CHECK(asCallback == &collector->iface);
    IUnknown_Release(asUnknown);
    CHECK(IMFAsyncCallback_QueryInterface(&collector->iface, &IID_IMFAsyncResult, (void **)&asUnknown) ==
          E_NOINTERFACE);
    IMFAsyncCallback_Release(asCallback);

    /* Fire the requests: N square roots and one that fails. */
    for (int i = 1; i <= N_REQUESTS; i++)
        CHECK_HR(BeginSqrt((double)i * i, &collector->iface, NULL));
    CHECK_HR(BeginSqrt(-1.0, &collector->iface, NULL));

    /* The failure is signalled first or along the way; wait for both. */
    waits[0] = collector->allDone;
    waits[1] = collector->sawFailure;
    which = WaitForMultipleObjects(2, waits, TRUE, 10000);
    CHECK(which < WAIT_OBJECT_0 + 2);
    CHECK(WaitForSingleObject(collector->allDone, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(collector->sawFailure, 0) == WAIT_TIMEOUT); /* auto-reset: consumed */

    EnterCriticalSection(&collector->lock);
    CHECK(collector->completed == N_REQUESTS + 1);
    CHECK(collector->failed == 1);
    /* 1 + 2 + ... + N */
    CHECK(collector->sum > (N_REQUESTS * (N_REQUESTS + 1)) / 2 - 0.001);
    CHECK(collector->sum < (N_REQUESTS * (N_REQUESTS + 1)) / 2 + 0.001);
    LeaveCriticalSection(&collector->lock);

    CHECK_HR(MFUnlockWorkQueue(collector->queue));
    CHECK(GetTickCount64() - started < 60000);
    CHECK_HR(MFShutdown());
    /* Released once the platform has let go of its references. */
    for (int i = 0; i < 1000 && collector->refCount > 1; i++)
        Sleep(1);
    CHECK(IMFAsyncCallback_Release(&collector->iface) == 0);
    CoUninitialize();

    printf("porting_sample.c: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
