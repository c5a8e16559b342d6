/*
 * square_root.c - an asynchronous method in the Begin/End style, in C.
 *
 * The pattern is the one Media Foundation documents under "Writing an
 * Asynchronous Method" (docs/behaviour.md#begin-end):
 *
 *   BeginSquareRoot(component, x, callback, state)
 *     1. creates an operation object holding x (and, later, the answer);
 *     2. creates result 1 = MFCreateAsyncResult(op, callback, state): the
 *        caller's callback and state, the operation as the result's object;
 *     3. queues the component's own work with
 *        MFPutWorkItem(queue, component-as-callback, result 1), which makes
 *        result 2 (component callback, result 1 as its state).
 *   The component's Invoke(result 2), on a work-queue thread,
 *     4. gets result 1 back with GetState, the operation with GetObject,
 *     5. computes, stores the status with SetStatus,
 *     6. calls MFInvokeCallback(result 1): the caller's Invoke runs on the
 *        queue its GetParameters names (STANDARD here).
 *   EndSquareRoot(result 1, &answer), called by the caller's Invoke, returns
 *   the status and reads the answer from the operation object.
 *
 * A negative input completes with the status E_INVALIDARG; a NULL callback is
 * refused synchronously by Begin (and then no callback is ever made).
 *
 * Every object counts itself; main() checks at the end that every reference
 * was released and returns 1 if anything leaked or a result was wrong.
 *
 * Build: see README.md in this folder (make -C examples/c).
 */
#define COBJMACROS
#include <mfapi.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* Objects of this program alive right now (all kinds together). */
static atomic_int g_live_objects;

#define CHECK_HR(expr)                                                          \
    do {                                                                        \
        HRESULT hr_ = (expr);                                                   \
        if (FAILED(hr_)) {                                                      \
            fprintf(stderr, "%s:%d: %s failed: 0x%08X\n", __FILE__, __LINE__,   \
                    #expr, (unsigned)hr_);                                      \
            return hr_;                                                         \
        }                                                                       \
    } while (0)

/* ======================================================================== */
/* The operation object: the private data of one BeginSquareRoot call.      */
/* It is only an IUnknown; the component recognises it by its vtable.       */
/* ======================================================================== */

typedef struct SqrtOp {
    IUnknown unknown;
    atomic_uint refs;
    double input;
    double output;
} SqrtOp;

static HRESULT op_query_interface(IUnknown *This, REFIID riid, void **ppv)
{
    if (ppv == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown)) {
        *ppv = This;
        IUnknown_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG op_add_ref(IUnknown *This)
{
    return atomic_fetch_add(&((SqrtOp *)This)->refs, 1) + 1;
}

static ULONG op_release(IUnknown *This)
{
    SqrtOp *op = (SqrtOp *)This;
    ULONG left = atomic_fetch_sub(&op->refs, 1) - 1;
    if (left == 0) {
        free(op);
        atomic_fetch_sub(&g_live_objects, 1);
    }
    return left;
}

static const IUnknownVtbl op_vtbl = { op_query_interface, op_add_ref, op_release };

static HRESULT op_create(double input, SqrtOp **out)
{
    SqrtOp *op = calloc(1, sizeof *op);
    if (op == NULL)
        return E_OUTOFMEMORY;
    op->unknown.lpVtbl = &op_vtbl;
    atomic_init(&op->refs, 1);
    op->input = input;
    op->output = 0.0;
    atomic_fetch_add(&g_live_objects, 1);
    *out = op;
    return S_OK;
}

/* The operation object behind an IUnknown, or NULL if it is something else. */
static SqrtOp *op_from(IUnknown *unknown)
{
    return (unknown != NULL && unknown->lpVtbl == &op_vtbl) ? (SqrtOp *)unknown : NULL;
}

/* ======================================================================== */
/* The component: an IMFAsyncCallback that does the work on its own queue. */
/* ======================================================================== */

typedef struct SquareRoot {
    IMFAsyncCallback callback; /* first: a SquareRoot* is an IMFAsyncCallback* */
    atomic_uint refs;
    DWORD queue;               /* a private queue of the component's own */
} SquareRoot;

static HRESULT sr_query_interface(IMFAsyncCallback *This, REFIID riid, void **ppv)
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

static ULONG sr_add_ref(IMFAsyncCallback *This)
{
    return atomic_fetch_add(&((SquareRoot *)This)->refs, 1) + 1;
}

static ULONG sr_release(IMFAsyncCallback *This)
{
    SquareRoot *component = (SquareRoot *)This;
    ULONG left = atomic_fetch_sub(&component->refs, 1) - 1;
    if (left == 0) {
        free(component);
        atomic_fetch_sub(&g_live_objects, 1);
    }
    return left;
}

static HRESULT sr_get_parameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    (void)This;
    (void)pdwFlags;
    (void)pdwQueue;
    return E_NOTIMPL; /* MFPutWorkItem names the queue explicitly */
}

/* Steps 4-6: runs on the component's queue with result 2. */
static HRESULT sr_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult2)
{
    IUnknown *state = NULL;
    IMFAsyncResult *result1 = NULL;
    IUnknown *object = NULL;
    SqrtOp *op;
    HRESULT hr;

    (void)This;
    /* Result 1 is the state of result 2. */
    hr = IMFAsyncResult_GetState(pResult2, &state);
    if (FAILED(hr))
        return hr; /* cannot happen: Begin always passes result 1 */
    hr = IUnknown_QueryInterface(state, &IID_IMFAsyncResult, (void **)&result1);
    IUnknown_Release(state);
    if (FAILED(hr))
        return hr;

    /* The operation is the object of result 1. */
    hr = IMFAsyncResult_GetObject(result1, &object);
    op = SUCCEEDED(hr) ? op_from(object) : NULL;
    if (op == NULL) {
        hr = E_UNEXPECTED;
    } else if (!(op->input >= 0.0)) { /* negative, or NaN */
        hr = E_INVALIDARG;
    } else {
        op->output = sqrt(op->input);
        hr = S_OK;
    }
    if (object != NULL)
        IUnknown_Release(object);

    /* Report the outcome to the caller: its Invoke runs on its own queue. */
    IMFAsyncResult_SetStatus(result1, hr);
    hr = MFInvokeCallback(result1);
    if (FAILED(hr))
        fprintf(stderr, "MFInvokeCallback failed: 0x%08X\n", (unsigned)hr);
    IMFAsyncResult_Release(result1);
    return S_OK;
}

static const IMFAsyncCallbackVtbl sr_vtbl = {
    sr_query_interface, sr_add_ref, sr_release, sr_get_parameters, sr_invoke,
};

/* Makes the component with one reference, on a private queue of its own. */
static HRESULT SquareRoot_Create(SquareRoot **out)
{
    SquareRoot *component = calloc(1, sizeof *component);
    HRESULT hr;
    if (component == NULL)
        return E_OUTOFMEMORY;
    hr = MFAllocateWorkQueue(&component->queue);
    if (FAILED(hr)) {
        free(component);
        return hr;
    }
    component->callback.lpVtbl = &sr_vtbl;
    atomic_init(&component->refs, 1);
    atomic_fetch_add(&g_live_objects, 1);
    *out = component;
    return S_OK;
}

/* Gives the component's queue back (before MFShutdown). */
static HRESULT SquareRoot_Shutdown(SquareRoot *component)
{
    return MFUnlockWorkQueue(component->queue);
}

/* Steps 1-3. On failure nothing was queued and the callback is never called. */
static HRESULT BeginSquareRoot(SquareRoot *component, double x, IMFAsyncCallback *pCallback,
                               IUnknown *pState)
{
    SqrtOp *op = NULL;
    IMFAsyncResult *result1 = NULL;
    HRESULT hr;

    if (component == NULL || pCallback == NULL)
        return E_POINTER;
    CHECK_HR(op_create(x, &op));
    /* Result 1 holds the operation (as its object), the caller's callback and state. */
    hr = MFCreateAsyncResult(&op->unknown, pCallback, pState, &result1);
    IUnknown_Release(&op->unknown); /* result 1 holds its own reference now */
    if (FAILED(hr))
        return hr;
    /* Result 2 is made by MFPutWorkItem: our callback, result 1 as its state. */
    hr = MFPutWorkItem(component->queue, &component->callback, (IUnknown *)result1);
    IMFAsyncResult_Release(result1);
    return hr;
}

/* Called with result 1 (from the caller's Invoke): the status and the answer. */
static HRESULT EndSquareRoot(IMFAsyncResult *pResult, double *pValue)
{
    IUnknown *object = NULL;
    SqrtOp *op;
    HRESULT hr;

    if (pResult == NULL || pValue == NULL)
        return E_POINTER;
    *pValue = 0.0;
    hr = IMFAsyncResult_GetObject(pResult, &object);
    if (FAILED(hr))
        return hr;
    op = op_from(object);
    hr = op == NULL ? E_UNEXPECTED : IMFAsyncResult_GetStatus(pResult);
    if (SUCCEEDED(hr))
        *pValue = op->output;
    IUnknown_Release(object);
    return hr;
}

/* ======================================================================== */
/* The caller: one request object (the state) and one callback.             */
/* ======================================================================== */

/* What the caller passes as state: where the answer goes and whom to wake. */
typedef struct Request {
    IUnknown unknown;
    atomic_uint refs;
    double input;
    double answer;
    HRESULT status;
    HANDLE done; /* set by the caller's Invoke after EndSquareRoot */
} Request;

static HRESULT req_query_interface(IUnknown *This, REFIID riid, void **ppv)
{
    return op_query_interface(This, riid, ppv); /* IUnknown only, the same rule */
}

static ULONG req_add_ref(IUnknown *This)
{
    return atomic_fetch_add(&((Request *)This)->refs, 1) + 1;
}

static ULONG req_release(IUnknown *This)
{
    Request *request = (Request *)This;
    ULONG left = atomic_fetch_sub(&request->refs, 1) - 1;
    if (left == 0) {
        CloseHandle(request->done);
        free(request);
        atomic_fetch_sub(&g_live_objects, 1);
    }
    return left;
}

static const IUnknownVtbl req_vtbl = { req_query_interface, req_add_ref, req_release };

static HRESULT Request_Create(double input, Request **out)
{
    Request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return E_OUTOFMEMORY;
    request->done = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (request->done == NULL) {
        free(request);
        return E_OUTOFMEMORY;
    }
    request->unknown.lpVtbl = &req_vtbl;
    atomic_init(&request->refs, 1);
    request->input = input;
    request->status = E_PENDING;
    atomic_fetch_add(&g_live_objects, 1);
    *out = request;
    return S_OK;
}

/* The caller's callback: a static object (no count needed, but it counts its
 * references so that main can check them). */
typedef struct Caller {
    IMFAsyncCallback callback;
    atomic_uint refs;
} Caller;

static HRESULT caller_query_interface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    return sr_query_interface(This, riid, ppv); /* IUnknown + IMFAsyncCallback */
}

static ULONG caller_add_ref(IMFAsyncCallback *This)
{
    return atomic_fetch_add(&((Caller *)This)->refs, 1) + 1;
}

static ULONG caller_release(IMFAsyncCallback *This)
{
    return atomic_fetch_sub(&((Caller *)This)->refs, 1) - 1;
}

static HRESULT caller_get_parameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    (void)This;
    (void)pdwFlags;
    (void)pdwQueue;
    return E_NOTIMPL; /* completions arrive on MFASYNC_CALLBACK_QUEUE_STANDARD */
}

/* The completion: End the operation and hand the answer to main. */
static HRESULT caller_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    IUnknown *state = IMFAsyncResult_GetStateNoAddRef(pResult);
    Request *request = (state != NULL && state->lpVtbl == &req_vtbl) ? (Request *)state : NULL;
    double answer = 0.0;
    HRESULT status = EndSquareRoot(pResult, &answer);

    (void)This;
    if (request == NULL) {
        fprintf(stderr, "completion without its request\n");
        return E_UNEXPECTED;
    }
    request->answer = answer;
    request->status = status;
    SetEvent(request->done); /* the event's set/wait orders the two stores above */
    return S_OK;
}

static const IMFAsyncCallbackVtbl caller_vtbl = {
    caller_query_interface, caller_add_ref, caller_release, caller_get_parameters, caller_invoke,
};

static Caller g_caller = { { &caller_vtbl }, 1 };

/* ======================================================================== */

static const double g_inputs[] = { 2.0, 16.0, -1.0, 0.25, 1e6 };
#define N_INPUTS (sizeof g_inputs / sizeof g_inputs[0])

static int run(void)
{
    SquareRoot *component = NULL;
    Request *requests[N_INPUTS] = { NULL };
    int failures = 0;
    size_t i;
    HRESULT hr;

    CHECK_HR(SquareRoot_Create(&component));

    /* Start every operation; they run concurrently. */
    for (i = 0; i < N_INPUTS; i++) {
        CHECK_HR(Request_Create(g_inputs[i], &requests[i]));
        CHECK_HR(BeginSquareRoot(component, g_inputs[i], &g_caller.callback,
                                 &requests[i]->unknown));
    }

    /* A Begin that fails synchronously: no callback will ever come. */
    hr = BeginSquareRoot(component, 4.0, NULL, NULL);
    printf("BeginSquareRoot(4, no callback) -> 0x%08X (E_POINTER expected)\n", (unsigned)hr);
    if (hr != E_POINTER)
        failures++;

    for (i = 0; i < N_INPUTS; i++) {
        Request *request = requests[i];
        double x = request->input;
        if (WaitForSingleObject(request->done, 10000) != WAIT_OBJECT_0) {
            fprintf(stderr, "sqrt(%g): no completion within 10 s\n", x);
            return E_FAIL; /* leaves objects behind on purpose: main reports it */
        }
        if (SUCCEEDED(request->status)) {
            printf("sqrt(%g) = %g\n", x, request->answer);
            if (x < 0 || fabs(request->answer * request->answer - x) > 1e-9 * (1 + x))
                failures++;
        } else {
            printf("sqrt(%g) failed: 0x%08X%s\n", x, (unsigned)request->status,
                   request->status == E_INVALIDARG ? " (E_INVALIDARG)" : "");
            if (!(x < 0 && request->status == E_INVALIDARG))
                failures++;
        }
        IUnknown_Release(&request->unknown);
    }

    CHECK_HR(SquareRoot_Shutdown(component));
    /* The platform may still hold a reference for a moment (result 2 is
     * released after the component's Invoke returns, which can be after the
     * completion was seen): main checks the counts after MFShutdown, which
     * runs every queued item and drops every platform reference. */
    IMFAsyncCallback_Release(&component->callback);
    return failures == 0 ? S_OK : E_FAIL;
}

int main(void)
{
    HRESULT hr;
    int live;
    unsigned caller_refs;

    hr = MFStartup(MF_VERSION, MFSTARTUP_FULL);
    if (FAILED(hr)) {
        fprintf(stderr, "MFStartup failed: 0x%08X\n", (unsigned)hr);
        return 1;
    }
    hr = run();
    /* Runs what is still queued, stops the threads and drops every platform
     * reference to our objects. */
    if (FAILED(MFShutdown())) {
        fprintf(stderr, "MFShutdown failed\n");
        return 1;
    }

    live = atomic_load(&g_live_objects);
    caller_refs = atomic_load(&g_caller.refs);
    printf("live objects after shutdown: %d, caller callback references: %u\n", live,
           caller_refs);
    if (FAILED(hr)) {
        fprintf(stderr, "square_root: FAILED (0x%08X)\n", (unsigned)hr);
        return 1;
    }
    if (live != 0 || caller_refs != 1) {
        fprintf(stderr, "square_root: LEAK (%d objects, %u caller references)\n", live,
                caller_refs);
        return 1;
    }
    printf("square_root: OK\n");
    return 0;
}
