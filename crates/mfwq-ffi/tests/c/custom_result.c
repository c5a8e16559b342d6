/*
 * custom_result.c - a caller-implemented IMFAsyncResult that begins with
 * MFASYNCRESULT (its own vtable and reference count after the 64 bytes), as
 * Microsoft's "Custom Asynchronous Result Objects" page describes, passed to
 * every function that takes a result.
 *
 * docs/behaviour.md#results and #layout (the platform reads pCallback / hEvent /
 * hrStatusResult by offset), #d6 (pCallback NULL with hEvent: the event is
 * set), docs/behaviour.md#d15 (a cancelled waiting item is invoked with
 * MF_E_OPERATION_CANCELLED), docs/behaviour.md#w30 (Invoke gets the very pointer).
 *
 * The callback reaches the platform only through the pCallback field at
 * offset 40: nothing else ever names it.
 */
#include "mfwq_test.h"

typedef struct custom_result {
    MFASYNCRESULT header;         /* vtable pointer, OVERLAPPED, pCallback, ... */
    atomic_long refs;             /* our own fields after the 64 bytes */
    IUnknown *state;
    IUnknown *object;
    atomic_int set_status_calls;
    atomic_int last_set_status;
    atomic_int get_status_calls;
    long magic;
} custom_result;

_Static_assert(offsetof(custom_result, refs) >= 64, "own fields come after MFASYNCRESULT");
_Static_assert(offsetof(MFASYNCRESULT, pCallback) == 40, "pCallback at offset 40");

#define CUSTOM_MAGIC 0x5ca1ab1eL

static custom_result *impl(IMFAsyncResult *iface)
{
    custom_result *result = (custom_result *)iface;
    CHECK_MSG(result->magic == CUSTOM_MAGIC, "a method of the custom result got a foreign pointer %p",
              (void *)iface);
    return result;
}

static HRESULT MFWQ_STDCALL custom_QueryInterface(IMFAsyncResult *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncResult)) {
        *out = iface;
        IMFAsyncResult_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL custom_AddRef(IMFAsyncResult *iface)
{
    return (ULONG)(atomic_fetch_add(&impl(iface)->refs, 1) + 1);
}

static ULONG MFWQ_STDCALL custom_Release(IMFAsyncResult *iface)
{
    custom_result *result = impl(iface);
    long refs = atomic_fetch_sub(&result->refs, 1) - 1;
    if (refs < 0) {
        CHECK_MSG(0, "custom result released below zero");
    } else if (refs == 0) {
        if (result->header.pCallback != NULL)
            IMFAsyncCallback_Release(result->header.pCallback);
        if (result->state != NULL)
            IUnknown_Release(result->state);
        if (result->object != NULL)
            IUnknown_Release(result->object);
        result->magic = 0;
        free(result);
        t_live_dec();
        /* As the page asks: the object held a platform lock while alive. */
        MFUnlockPlatform();
    }
    return (ULONG)refs;
}

static HRESULT MFWQ_STDCALL custom_GetState(IMFAsyncResult *iface, IUnknown **state)
{
    custom_result *result = impl(iface);
    if (state == NULL)
        return E_POINTER;
    if (result->state == NULL)
        return E_POINTER;
    *state = result->state;
    IUnknown_AddRef(*state);
    return S_OK;
}

static HRESULT MFWQ_STDCALL custom_GetStatus(IMFAsyncResult *iface)
{
    custom_result *result = impl(iface);
    atomic_fetch_add(&result->get_status_calls, 1);
    return result->header.hrStatusResult;
}

static HRESULT MFWQ_STDCALL custom_SetStatus(IMFAsyncResult *iface, HRESULT status)
{
    custom_result *result = impl(iface);
    atomic_fetch_add(&result->set_status_calls, 1);
    atomic_store(&result->last_set_status, status);
    result->header.hrStatusResult = status;
    return S_OK;
}

static HRESULT MFWQ_STDCALL custom_GetObject(IMFAsyncResult *iface, IUnknown **object)
{
    custom_result *result = impl(iface);
    if (object == NULL)
        return E_POINTER;
    if (result->object == NULL)
        return E_POINTER;
    *object = result->object;
    IUnknown_AddRef(*object);
    return S_OK;
}

static IUnknown *MFWQ_STDCALL custom_GetStateNoAddRef(IMFAsyncResult *iface)
{
    return impl(iface)->state;
}

static const IMFAsyncResultVtbl custom_vtbl = {
    custom_QueryInterface, custom_AddRef,    custom_Release,         custom_GetState,
    custom_GetStatus,      custom_SetStatus, custom_GetObject,       custom_GetStateNoAddRef,
};

/* Zero-fills the MFASYNCRESULT part (overlapped, dwBytesTransferred,
 * hrStatusResult, hEvent) and sets pCallback, as the page asks. */
static custom_result *custom_create(tcb *callback, IUnknown *state)
{
    custom_result *result = calloc(1, sizeof(*result));
    if (result == NULL)
        abort();
    result->header.AsyncResult.lpVtbl = &custom_vtbl;
    result->header.pCallback = callback != NULL ? &callback->iface : NULL;
    if (callback != NULL)
        IMFAsyncCallback_AddRef(&callback->iface);
    result->state = state;
    if (state != NULL)
        IUnknown_AddRef(state);
    atomic_init(&result->refs, 1);
    result->magic = CUSTOM_MAGIC;
    t_live_inc();
    MFLockPlatform();
    return result;
}

static IMFAsyncResult *as_result(custom_result *result) { return &result->header.AsyncResult; }
static long custom_refs(custom_result *result) { return atomic_load(&result->refs); }

/* Waits until the platform let go of the custom result. */
static void wait_idle(custom_result *result)
{
    WAIT_FOR(custom_refs(result) == 1, 1000);
    CHECK_MSG(custom_refs(result) == 1, "the platform still holds the custom result (%ld references)",
              custom_refs(result));
}

/* Put, invoke, schedule: Invoke receives the custom pointer itself. */
static void test_put_invoke_schedule(void)
{
    tcb *cb = tcb_create();
    tunk *state = tunk_create(4);
    custom_result *custom = custom_create(cb, &state->iface);
    IMFAsyncResult *result = as_result(custom);
    DWORD private_queue = 0;
    MFWORKITEM_KEY key = 0;
    int n = 0;

    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);

    /* MFPutWorkItemEx on several queues. */
    {
        const DWORD queues[] = {MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_MULTITHREADED,
                                private_queue};
        for (int i = 0; i < 3; i++) {
            CHECK_HR(MFPutWorkItemEx(queues[i], result), S_OK);
            CHECK(tcb_wait(cb, ++n));
            CHECK_PTR(atomic_load(&cb->last_result), result);
            wait_idle(custom);
        }
    }
    CHECK_HR(MFPutWorkItemEx2(MFASYNC_CALLBACK_QUEUE_STANDARD, 1, result), S_OK);
    CHECK(tcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    wait_idle(custom);
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, -1, (IRtwqAsyncResult *)result), S_OK);
    CHECK(tcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    wait_idle(custom);

    /* MFInvokeCallback (GetParameters of the pCallback callback is asked). */
    {
        int params_before = atomic_load(&cb->params_calls);
        CHECK_HR(MFInvokeCallback(result), S_OK);
        CHECK(tcb_wait(cb, ++n));
        CHECK_PTR(atomic_load(&cb->last_result), result);
        CHECK(atomic_load(&cb->params_calls) > params_before);
        wait_idle(custom);
    }

    /* The status Invoke sees is the custom object's. */
    CHECK_HR(IMFAsyncResult_SetStatus(result, E_FAIL), S_OK);
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK(tcb_wait(cb, ++n));
    CHECK_HR(atomic_load(&cb->last_status), E_FAIL);
    CHECK_HR(IMFAsyncResult_SetStatus(result, S_OK), S_OK);
    wait_idle(custom);

    /* MFScheduleWorkItemEx / RtwqScheduleWorkItem. */
    CHECK_HR(MFScheduleWorkItemEx(result, -20, &key), S_OK);
    CHECK(tcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    wait_idle(custom);
    CHECK_HR(RtwqScheduleWorkItem((IRtwqAsyncResult *)result, -5, NULL), S_OK);
    CHECK(tcb_wait(cb, ++n));
    wait_idle(custom);
    /* A cancelled scheduled custom item: given back at once, never invoked. */
    CHECK_HR(MFScheduleWorkItemEx(result, -5000, &key), S_OK);
    CHECK(custom_refs(custom) > 1);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK_EQ(custom_refs(custom), 1);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), n);

    /* The callback and state were never taken from anywhere but the
     * object: still only the custom result's references. */
    WAIT_REFS(tcb_refs(cb), 2, 1000);
    CHECK_EQ(tcb_refs(cb), 2);
    CHECK_EQ(tunk_refs(state), 2);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
    CHECK_HR(MFUnlockWorkQueue(private_queue), S_OK);
}

/* The platform reads pCallback from the field when the item is dispatched. */
static void test_callback_read_from_field(void)
{
    tcb *a = tcb_create(), *b = tcb_create();
    custom_result *custom = custom_create(a, NULL);
    IMFAsyncResult *result = as_result(custom);

    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK(tcb_wait(a, 1));
    wait_idle(custom);
    /* Swap the callback in the field: the next operation uses the new one. */
    IMFAsyncCallback_AddRef(&b->iface);
    custom->header.pCallback = &b->iface;
    IMFAsyncCallback_Release(&a->iface);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), S_OK);
    CHECK(tcb_wait(b, 1));
    CHECK_PTR(atomic_load(&b->last_result), result);
    CHECK_EQ(tcb_invokes(a), 1);
    wait_idle(custom);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    WAIT_REFS(tcb_refs(a), 1, 1000);
    CHECK_EQ(tcb_release(a), 0);
    CHECK_EQ(tcb_release(b), 0);
}

/* MFPutWaitingWorkItem with a custom result; cancel goes through SetStatus. */
static void test_waiting(void)
{
    tcb *cb = tcb_create();
    custom_result *custom = custom_create(cb, NULL);
    IMFAsyncResult *result = as_result(custom);
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    MFWORKITEM_KEY key = 0;

    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK(SetEvent(event));
    CHECK(tcb_wait(cb, 1));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    CHECK_HR(atomic_load(&cb->last_status), S_OK);
    wait_idle(custom);

    /* docs/behaviour.md#d15: cancelled: invoked once with MF_E_OPERATION_CANCELLED, which the
     * platform stores through the object's SetStatus. */
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    CHECK_MSG(atomic_load(&custom->set_status_calls) >= 1, "D15: the custom result's SetStatus was not called");
    CHECK_HR(atomic_load(&custom->last_set_status), MF_E_OPERATION_CANCELLED);
    CHECK_HR(atomic_load(&cb->last_status), MF_E_OPERATION_CANCELLED);
    CHECK_HR(MFCancelWorkItem(key), MF_E_NOT_FOUND);
    wait_idle(custom);

    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d6 with a custom result: pCallback NULL and hEvent set. */
static void test_event_instead_of_callback(void)
{
    custom_result *custom = custom_create(NULL, NULL);
    IMFAsyncResult *result = as_result(custom);
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    MFWORKITEM_KEY key = 0;

    custom->header.hEvent = event;
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFInvokeCallback did not set the custom result's hEvent");
    wait_idle(custom);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFPutWorkItemEx did not set the custom result's hEvent");
    wait_idle(custom);
    CHECK_HR(MFScheduleWorkItemEx(result, -10, &key), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: a scheduled custom result did not set its hEvent");
    wait_idle(custom);

    /* Both NULL: E_INVALIDARG. */
    custom->header.hEvent = NULL;
    CHECK_HR(MFInvokeCallback(result), E_INVALIDARG);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), E_INVALIDARG);
    CHECK_EQ(custom_refs(custom), 1);

    /* A custom result does not close the event: the caller does. */
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK(CloseHandle(event));
}

int main(void)
{
    int locks;

    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    locks = LOCK_COUNT();

    test_put_invoke_schedule();
    test_callback_read_from_field();
    test_waiting();
    test_event_instead_of_callback();

    /* Every custom result unlocked the platform it locked, and the platform
     * made no stock result of its own for them. */
    CHECK_LOCK_COUNT(locks);
    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("custom_result");
}
