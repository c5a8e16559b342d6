/*
 * begin_end.c - the Begin/End asynchronous-method pattern in plain C, as
 * Microsoft's "Writing an Asynchronous Method" page lays it out
 * (docs/behaviour.md#begin-end):
 *
 *   BeginSquareRoot(x, callback, state)
 *     result 1 = MFCreateAsyncResult(operation, caller's callback, caller's state)
 *     MFPutWorkItem(queue, component's callback, result 1)   -> result 2
 *   component Invoke(result 2)
 *     result 1 = result 2's state; operation = result 1's object
 *     do the work; result1->SetStatus(hr); MFInvokeCallback(result 1)
 *   caller Invoke(result 1)
 *     EndSquareRoot(result 1, &out): the status, then the operation's output
 *
 * Checks: the output, the failure path (a negative input), the caller's
 * state coming back, Begin failing synchronously when the platform is down
 * (then the callback is never called), many operations at once, and every
 * reference count back where it started.
 */
#include "mfwq_test.h"

#include <math.h>

/* ---- the operation object (the result's "object") ----------------------- */

typedef struct operation {
    IUnknown iface;
    atomic_long refs;
    double input;
    double output;
} operation;

static atomic_int operations_alive;

static operation *op_from(IUnknown *iface) { return (operation *)iface; }

static HRESULT MFWQ_STDCALL op_QueryInterface(IUnknown *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown)) {
        *out = iface;
        IUnknown_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL op_AddRef(IUnknown *iface) { return (ULONG)(atomic_fetch_add(&op_from(iface)->refs, 1) + 1); }

static ULONG MFWQ_STDCALL op_Release(IUnknown *iface)
{
    long refs = atomic_fetch_sub(&op_from(iface)->refs, 1) - 1;
    if (refs == 0) {
        free(op_from(iface));
        atomic_fetch_sub(&operations_alive, 1);
    }
    return (ULONG)refs;
}

static const IUnknownVtbl op_vtbl = {op_QueryInterface, op_AddRef, op_Release};

static operation *op_create(double input)
{
    operation *op = calloc(1, sizeof(*op));
    if (op == NULL)
        abort();
    op->iface.lpVtbl = &op_vtbl;
    atomic_init(&op->refs, 1);
    op->input = input;
    atomic_fetch_add(&operations_alive, 1);
    return op;
}

/* ---- the component: implements IMFAsyncCallback for its own work -------- */

typedef struct component {
    IMFAsyncCallback iface;
    atomic_long refs;
    DWORD queue;               /* where the component does its work */
    atomic_int work_done;
} component;

static component *comp_from(IMFAsyncCallback *iface) { return (component *)iface; }

static HRESULT MFWQ_STDCALL comp_QueryInterface(IMFAsyncCallback *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *out = iface;
        IMFAsyncCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL comp_AddRef(IMFAsyncCallback *iface)
{
    return (ULONG)(atomic_fetch_add(&comp_from(iface)->refs, 1) + 1);
}

static ULONG MFWQ_STDCALL comp_Release(IMFAsyncCallback *iface)
{
    long refs = atomic_fetch_sub(&comp_from(iface)->refs, 1) - 1;
    if (refs == 0) {
        free(comp_from(iface));
        t_live_dec();
    }
    return (ULONG)refs;
}

static HRESULT MFWQ_STDCALL comp_GetParameters(IMFAsyncCallback *iface, DWORD *flags, DWORD *queue)
{
    (void)iface;
    (void)flags;
    (void)queue;
    return E_NOTIMPL;
}

/* The work: the square root, failing for negative input. */
static HRESULT do_square_root(operation *op)
{
    if (op->input < 0)
        return E_INVALIDARG;
    op->output = sqrt(op->input);
    return S_OK;
}

/* Invoke(result 2): result 1 is the state; the operation is its object. */
static HRESULT MFWQ_STDCALL comp_Invoke(IMFAsyncCallback *iface, IMFAsyncResult *work_result)
{
    component *comp = comp_from(iface);
    IUnknown *state = NULL, *object = NULL;
    IMFAsyncResult *caller_result = NULL;
    HRESULT hr;

    hr = IMFAsyncResult_GetState(work_result, &state);
    CHECK_HR(hr, S_OK);
    if (SUCCEEDED(hr))
        hr = IUnknown_QueryInterface(state, &IID_IMFAsyncResult, (void **)&caller_result);
    CHECK_HR(hr, S_OK);
    if (SUCCEEDED(hr)) {
        hr = IMFAsyncResult_GetObject(caller_result, &object);
        CHECK_HR(hr, S_OK);
        if (SUCCEEDED(hr))
            hr = do_square_root(op_from(object));
        /* Report the operation's status, then complete it. */
        IMFAsyncResult_SetStatus(caller_result, hr);
        CHECK_HR(MFInvokeCallback(caller_result), S_OK);
    }
    atomic_fetch_add(&comp->work_done, 1);
    if (object != NULL)
        IUnknown_Release(object);
    if (caller_result != NULL)
        IMFAsyncResult_Release(caller_result);
    if (state != NULL)
        IUnknown_Release(state);
    return S_OK; /* the operation's status travels in result 1 */
}

static const IMFAsyncCallbackVtbl comp_vtbl = {
    comp_QueryInterface, comp_AddRef, comp_Release, comp_GetParameters, comp_Invoke,
};

static component *comp_create(DWORD queue)
{
    component *comp = calloc(1, sizeof(*comp));
    if (comp == NULL)
        abort();
    comp->iface.lpVtbl = &comp_vtbl;
    atomic_init(&comp->refs, 1);
    comp->queue = queue;
    t_live_inc();
    return comp;
}

static HRESULT BeginSquareRoot(component *comp, double x, IMFAsyncCallback *callback, IUnknown *state)
{
    operation *op = op_create(x);
    IMFAsyncResult *result = NULL;
    HRESULT hr;

    /* Result 1: the caller's callback and state, the operation as object. */
    hr = MFCreateAsyncResult(&op->iface, callback, state, &result);
    if (SUCCEEDED(hr)) {
        /* Queue the component's own work; result 1 is its state. */
        hr = MFPutWorkItem(comp->queue, &comp->iface, (IUnknown *)result);
        IMFAsyncResult_Release(result);
    }
    IUnknown_Release(&op->iface);
    return hr;
}

static HRESULT EndSquareRoot(component *comp, IMFAsyncResult *result, double *value)
{
    IUnknown *object = NULL;
    HRESULT hr;

    (void)comp;
    if (result == NULL || value == NULL)
        return E_POINTER;
    hr = IMFAsyncResult_GetStatus(result);
    if (FAILED(hr))
        return hr;
    hr = IMFAsyncResult_GetObject(result, &object);
    if (FAILED(hr))
        return hr;
    *value = op_from(object)->output;
    IUnknown_Release(object);
    return S_OK;
}

/* ---- the caller ---------------------------------------------------------- */

typedef struct caller {
    tcb *cb;                 /* the caller's callback (a tcb with a hook) */
    component *comp;
    double value;
    HRESULT hr;
    IMFAsyncResult *seen;    /* the result Invoke received (not AddRef'd) */
    IUnknown *seen_state;
} caller;

static void caller_hook(tcb *cb, IMFAsyncResult *result)
{
    caller *c = cb->ctx;
    c->seen = result;
    c->seen_state = IMFAsyncResult_GetStateNoAddRef(result);
    c->value = -123.0;
    c->hr = EndSquareRoot(c->comp, result, &c->value);
}

static void test_one_operation(DWORD component_queue, DWORD caller_queue, const char *name)
{
    component *comp = comp_create(component_queue);
    tcb *cb = caller_queue ? tcb_create_params(0, caller_queue) : tcb_create();
    tunk *state = tunk_create(42);
    caller c;

    memset(&c, 0, sizeof(c));
    c.cb = cb;
    c.comp = comp;
    cb->ctx = &c;
    cb->hook = caller_hook;

    /* Success. */
    CHECK_HR(BeginSquareRoot(comp, 16.0, &cb->iface, &state->iface), S_OK);
    CHECK_MSG(tcb_wait(cb, 1), "%s: the caller's callback was not invoked", name);
    CHECK_HR(c.hr, S_OK);
    CHECK_MSG(c.value == 4.0, "%s: EndSquareRoot gave %f, expected 4", name, c.value);
    CHECK_PTR(c.seen_state, &state->iface);
    WAIT_FOR(atomic_load(&comp->work_done) == 1, 2000);
    CHECK_EQ(atomic_load(&comp->work_done), 1);

    /* Failure: the status path. */
    CHECK_HR(BeginSquareRoot(comp, -1.0, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_HR(c.hr, E_INVALIDARG);
    CHECK_MSG(c.value == -123.0, "%s: EndSquareRoot wrote an output for a failed operation", name);
    CHECK_PTR(c.seen_state, NULL);

    /* Every reference back where it started. */
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    WAIT_REFS(atomic_load(&comp->refs), 1, 1000);
    WAIT_FOR(atomic_load(&operations_alive) == 0, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(atomic_load(&comp->refs), 1);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_EQ(atomic_load(&operations_alive), 0);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IMFAsyncCallback_Release(&comp->iface), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* The result the caller's Invoke receives is result 1 itself, which holds
 * the operation: checked through a hook that keeps it. */
static void test_caller_gets_result_one(void)
{
    component *comp = comp_create(MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    tcb *cb = tcb_create();
    caller c;
    IMFAsyncResult *kept;
    IUnknown *object = NULL;

    memset(&c, 0, sizeof(c));
    c.cb = cb;
    c.comp = comp;
    cb->ctx = &c;
    cb->hook = caller_hook;
    cb->keep = 1;
    CHECK_HR(BeginSquareRoot(comp, 2.25, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_HR(c.hr, S_OK);
    CHECK(c.value == 1.5);
    kept = tcb_take_kept(cb);
    CHECK(kept != NULL);
    if (kept != NULL) {
        /* Result 1: its object is the operation, its callback the caller's. */
        CHECK_PTR(fields(kept)->pCallback, &cb->iface);
        CHECK_HR(IMFAsyncResult_GetObject(kept, &object), S_OK);
        if (object != NULL) {
            CHECK(op_from(object)->input == 2.25);
            IUnknown_Release(object);
        }
        /* End may be called again on it (it only reads). */
        {
            double again = 0;
            CHECK_HR(EndSquareRoot(comp, kept, &again), S_OK);
            CHECK(again == 1.5);
        }
        CHECK_EQ(release_when_idle(kept), 0);
    }
    WAIT_FOR(atomic_load(&operations_alive) == 0, 1000);
    CHECK_EQ(atomic_load(&operations_alive), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    WAIT_REFS(atomic_load(&comp->refs), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IMFAsyncCallback_Release(&comp->iface), 0);
}

/* Many operations at once: every one completes with its own output. */
typedef struct many_caller {
    atomic_int wrong;
    atomic_int failed;
} many_caller;

static void many_hook(tcb *cb, IMFAsyncResult *result)
{
    many_caller *m = cb->ctx;
    IUnknown *state = IMFAsyncResult_GetStateNoAddRef(result);
    double value = 0;
    HRESULT hr = EndSquareRoot(NULL, result, &value);
    long n = state != NULL ? tunk_from(state)->value : -1;
    if (FAILED(hr))
        atomic_fetch_add(&m->failed, 1);
    else if (value != (double)n)
        atomic_fetch_add(&m->wrong, 1);
}

static void test_many_operations(void)
{
    int n = SCALED(500);
    component *comp = comp_create(MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    tcb *cb = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    many_caller m;

    atomic_init(&m.wrong, 0);
    atomic_init(&m.failed, 0);
    cb->ctx = &m;
    cb->hook = many_hook;
    for (int i = 0; i < n; i++) {
        tunk *state = tunk_create(i);
        CHECK_HR(BeginSquareRoot(comp, (double)i * (double)i, &cb->iface, &state->iface), S_OK);
        IUnknown_Release(&state->iface);
    }
    CHECK_MSG(tcb_wait(cb, n), "%d of %d operations completed", tcb_invokes(cb), n);
    CHECK_EQ(atomic_load(&m.wrong), 0);
    CHECK_EQ(atomic_load(&m.failed), 0);
    /* The component counts its work after completing the operation, so the
     * caller can be done first: wait for the count. */
    WAIT_FOR(atomic_load(&comp->work_done) == n, 2000);
    CHECK_EQ(atomic_load(&comp->work_done), n);
    WAIT_FOR(atomic_load(&operations_alive) == 0, 2000);
    CHECK_EQ(atomic_load(&operations_alive), 0);
    WAIT_REFS(tcb_refs(cb), 1, 2000);
    WAIT_REFS(atomic_load(&comp->refs), 1, 2000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IMFAsyncCallback_Release(&comp->iface), 0);
}

/* calling-asynchronous-methods: a Begin that fails never calls back. */
static void test_begin_fails_when_stopped(void)
{
    component *comp = comp_create(MFASYNC_CALLBACK_QUEUE_STANDARD);
    tcb *cb = tcb_create();
    tunk *state = tunk_create(1);

    CHECK_HR(BeginSquareRoot(comp, 9.0, &cb->iface, &state->iface), MF_E_SHUTDOWN);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(atomic_load(&operations_alive), 0);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_EQ(atomic_load(&comp->refs), 1);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IMFAsyncCallback_Release(&comp->iface), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

int main(void)
{
    DWORD private_queue = 0;

    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    test_begin_fails_when_stopped();

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    /* The sample's choice: the component works on STANDARD; the caller's
     * callback uses the default queue. */
    test_one_operation(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, "STANDARD / default");
    /* A component with a private queue of its own; the caller on MULTITHREADED. */
    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
    test_one_operation(private_queue, MFASYNC_CALLBACK_QUEUE_MULTITHREADED, "private / MULTITHREADED");
    CHECK_HR(MFUnlockWorkQueue(private_queue), S_OK);
    test_caller_gets_result_one();
    test_many_operations();
    CHECK_HR(MFShutdown(), S_OK);

    test_begin_fails_when_stopped();
    return test_finish("begin_end");
}
