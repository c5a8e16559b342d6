/*
 * put_invoke.c - putting work items and invoking callbacks: which queue ids
 * work, what the callback receives, GetParameters and Invoke's return
 * value, releases after Invoke, hEvent, and the callback-flag rules.
 *
 * docs/behaviour.md#put-invoke: #w30 to #w33, #w35, #d5, #d6, #d7, #d9, #d28;
 * docs/behaviour.md#callback-flags (FAST_IO / SIGNAL callbacks need IO or TIMER).
 * #w34 (the COM apartment type of callback threads) is in apartments.c.
 */
#include "mfwq_test.h"
#include <rtworkq.h>

static pthread_t main_thread;

/* ---- a gate: an item that holds a one-thread queue until released ------- */

typedef struct gate {
    HANDLE started;
    HANDLE release;
} gate;

static void gate_hook(tcb *cb, IMFAsyncResult *result)
{
    gate *g = cb->ctx;
    (void)result;
    SetEvent(g->started);
    CHECK(WaitForSingleObject(g->release, T(LONG_WAIT)) == WAIT_OBJECT_0);
}

/* Blocks `queue` (a one-thread queue) until gate_open. */
static tcb *gate_close(gate *g, DWORD queue)
{
    tcb *blocker = tcb_create();
    g->started = CreateEventA(NULL, TRUE, FALSE, NULL);
    g->release = CreateEventA(NULL, TRUE, FALSE, NULL);
    blocker->ctx = g;
    blocker->hook = gate_hook;
    CHECK_HR(MFPutWorkItem(queue, &blocker->iface, NULL), S_OK);
    CHECK(wait_signalled(g->started));
    return blocker;
}

static void gate_open(gate *g, tcb *blocker)
{
    SetEvent(g->release);
    CHECK(tcb_wait(blocker, 1));
    WAIT_REFS(tcb_refs(blocker), 1, 1000);
    CHECK_EQ(tcb_release(blocker), 0);
    CloseHandle(g->started);
    CloseHandle(g->release);
}

/* ---- docs/behaviour.md#w30, #w31, #w33: queue ids without private bits --- */

static void test_put_ids_without_private_bits(void)
{
    static const DWORD ids[] = {0, 0xFFFF, 0x4000, 6, 0x20, 1, 2, 3, 4, 5, 7};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        DWORD queue = ids[i];
        tcb *cb = tcb_create();
        tunk *state = tunk_create((long)queue);
        IMFAsyncResult *kept, *own = NULL;
        HRESULT hr;

        /* docs/behaviour.md#w30: MFPutWorkItem works and invokes the callback. */
        cb->keep = 1;
        hr = MFPutWorkItem(queue, &cb->iface, &state->iface);
        CHECK_MSG(hr == S_OK, "30: MFPutWorkItem(0x%x) returned 0x%08x", (unsigned)queue, (unsigned)hr);
        CHECK_MSG(tcb_wait(cb, 1), "30: the item put on 0x%x did not run", (unsigned)queue);
        /* docs/behaviour.md#w31: GetParameters was asked (flags are checked at put time, docs/behaviour.md#d9). */
        CHECK(atomic_load(&cb->params_calls) >= 1);
        CHECK_MSG(!pthread_equal(cb->invoke_thread, main_thread), "D28: Invoke ran on the caller's thread");
        kept = tcb_take_kept(cb);
        CHECK(kept != NULL);
        if (kept != NULL) {
            /* The internal result carries the state and the callback. */
            CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(kept), &state->iface);
            CHECK_PTR(fields(kept)->pCallback, &cb->iface);
            CHECK_HR(IMFAsyncResult_GetStatus(kept), S_OK);
            /* docs/behaviour.md#w33: the platform drops its reference promptly after Invoke. */
            CHECK_EQ(release_when_idle(kept), 0);
        }

        /* docs/behaviour.md#w30: RtwqPutWorkItem; the callback receives the very result put. */
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &own), S_OK);
        hr = RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)own);
        CHECK_MSG(hr == S_OK, "30: RtwqPutWorkItem(0x%x) returned 0x%08x", (unsigned)queue, (unsigned)hr);
        CHECK(tcb_wait(cb, 2));
        CHECK_PTR(atomic_load(&cb->last_result), own);
        kept = tcb_take_kept(cb);
        if (kept != NULL)
            IMFAsyncResult_Release(kept);
        /* docs/behaviour.md#w33 */
        CHECK_EQ(release_when_idle(own), 0);

        /* MFPutWorkItemEx / Ex2 / MFPutWorkItem2 as well. */
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &own), S_OK);
        CHECK_HR(MFPutWorkItemEx(queue, own), S_OK);
        CHECK(tcb_wait(cb, 3));
        CHECK_PTR(atomic_load(&cb->last_result), own);
        CHECK_HR(MFPutWorkItemEx2(queue, 1, own), S_OK);
        CHECK(tcb_wait(cb, 4));
        CHECK_PTR(atomic_load(&cb->last_result), own);
        CHECK_HR(MFPutWorkItem2(queue, -1, &cb->iface, NULL), S_OK);
        CHECK(tcb_wait(cb, 5));
        kept = tcb_take_kept(cb);
        if (kept != NULL)
            IMFAsyncResult_Release(kept);
        CHECK_EQ(release_when_idle(own), 0);

        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
        CHECK_EQ(IUnknown_Release(&state->iface), 0);
    }
}

/* docs/behaviour.md#w30 / #d7: 0x10000 (private bits, never allocated) is MF_E_INVALID_WORKQUEUE;
 * nothing is kept and nothing runs. */
static void test_put_invalid_private_id(void)
{
    tcb *cb = tcb_create();
    tunk *state = tunk_create(0);
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, &state->iface, &result), S_OK);
    CHECK_HR(MFPutWorkItem(0x10000u, &cb->iface, &state->iface), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItem2(0x10000u, 0, &cb->iface, &state->iface), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItemEx(0x10000u, result), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItemEx2(0x10000u, 0, result), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqPutWorkItem(0x10000u, 0, (IRtwqAsyncResult *)result), MF_E_INVALID_WORKQUEUE);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(tcb_refs(cb), 2);   /* only the result's reference */
    CHECK_EQ(tunk_refs(state), 2);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* ---- 31, 32 ---------------------------------------------------------------- */

/* docs/behaviour.md#w31: a callback returning E_NOTIMPL from GetParameters is dispatched (the
 * tcb default); 32: Invoke's return value is ignored. */
static void test_invoke_return_ignored(void)
{
    tcb *failing = tcb_create(), *notimpl = tcb_create(), *after = tcb_create();

    failing->invoke_ret = E_FAIL;
    notimpl->invoke_ret = E_NOTIMPL;
    for (int i = 0; i < 3; i++) {
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &failing->iface, NULL), S_OK);
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &notimpl->iface, NULL), S_OK);
    }
    CHECK(tcb_wait(failing, 3));
    CHECK(tcb_wait(notimpl, 3));
    /* The queues go on working. */
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &after->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &after->iface, NULL), S_OK);
    CHECK(tcb_wait(after, 2));
    WAIT_REFS(tcb_refs(failing), 1, 1000);
    WAIT_REFS(tcb_refs(notimpl), 1, 1000);
    WAIT_REFS(tcb_refs(after), 1, 1000);
    CHECK_EQ(tcb_release(failing), 0);
    CHECK_EQ(tcb_release(notimpl), 0);
    CHECK_EQ(tcb_release(after), 0);
}

/* ---- docs/behaviour.md#w35, #d6: hEvent --------------------------------- */

/* docs/behaviour.md#w35: MFInvokeCallback on a result with a callback and hEvent: S_OK, the
 * callback runs, the event is NOT signalled, the caller's release is 0. */
static void test_invoke_with_callback_and_event(void)
{
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    DWORD info;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    fields(result)->hEvent = event;
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_PTR(atomic_load(&cb->last_result), result);
    CHECK_U(WaitForSingleObject(event, 100), WAIT_TIMEOUT);
    CHECK_EQ(release_when_idle(result), 0);
    /* docs/behaviour.md#w22: the final release closed the event. */
    CHECK(!GetHandleInformation(event, &info));
    CHECK_EQ(tcb_release(cb), 0);
}

/* docs/behaviour.md#d6: pCallback NULL with hEvent set: the event is set when the item is
 * dispatched; both NULL: E_INVALIDARG. */
static void test_event_instead_of_callback(void)
{
    IMFAsyncResult *result = NULL;
    HANDLE event;
    DWORD queue = 0;
    MFWORKITEM_KEY key = 0;

    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);

    /* MFInvokeCallback */
    event = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    fields(result)->hEvent = event;
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFInvokeCallback did not set hEvent");
    /* MFPutWorkItemEx on STANDARD and on a private queue, RtwqPutWorkItem */
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFPutWorkItemEx(STANDARD) did not set hEvent");
    CHECK_HR(MFPutWorkItemEx2(queue, 0, result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFPutWorkItemEx2(private) did not set hEvent");
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 0, (IRtwqAsyncResult *)result), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: RtwqPutWorkItem(MULTITHREADED) did not set hEvent");
    /* A scheduled item: set on expiry. */
    CHECK_HR(MFScheduleWorkItemEx(result, -10, &key), S_OK);
    CHECK_MSG(wait_signalled(event), "D6: MFScheduleWorkItemEx did not set hEvent");
    CHECK_EQ(release_when_idle(result), 0);

    /* Both NULL: E_INVALIDARG, never a crash, nothing kept. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_HR(MFInvokeCallback(result), E_INVALIDARG);
    CHECK_HR(RtwqInvokeCallback((IRtwqAsyncResult *)result), E_INVALIDARG);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), E_INVALIDARG);
    CHECK_HR(MFPutWorkItemEx2(queue, 1, result), E_INVALIDARG);
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, (IRtwqAsyncResult *)result), E_INVALIDARG);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);

    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
}

/* ---- docs/behaviour.md#d5: MFPutWorkItemEx runs on the queue it names --- */

static void test_put_ex_uses_its_queue(void)
{
    DWORD queue = 0;
    gate g;
    tcb *blocker, *names_standard, *names_private;
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);

    /* Put on the blocked private queue, callback naming STANDARD: it waits
     * for the private queue. */
    names_standard = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    blocker = gate_close(&g, queue);
    CHECK_HR(MFCreateAsyncResult(NULL, &names_standard->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWorkItemEx(queue, result), S_OK);
    CHECK_HR(MFPutWorkItem(queue, &names_standard->iface, NULL), S_OK);
    sleep_ms(100);
    CHECK_MSG(tcb_invokes(names_standard) == 0, "D5: an item put on a blocked private queue ran elsewhere");
    gate_open(&g, blocker);
    CHECK(tcb_wait(names_standard, 2));
    CHECK_EQ(release_when_idle(result), 0);

    /* Put on STANDARD, callback naming the blocked private queue: it runs
     * at once, on STANDARD. */
    names_private = tcb_create_params(0, queue);
    blocker = gate_close(&g, queue);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &names_private->iface, NULL), S_OK);
    CHECK_MSG(tcb_wait(names_private, 1), "D5: an item put on STANDARD waited for the queue its callback names");
    /* MFInvokeCallback, on the other hand, uses the callback's queue
     * (docs/behaviour.md#queue-selection): it waits for the gate. */
    CHECK_HR(MFCreateAsyncResult(NULL, &names_private->iface, NULL, &result), S_OK);
    CHECK_HR(MFInvokeCallback(result), S_OK);
    sleep_ms(100);
    CHECK_MSG(tcb_invokes(names_private) == 1, "MFInvokeCallback did not use the queue GetParameters names");
    gate_open(&g, blocker);
    CHECK(tcb_wait(names_private, 2));
    CHECK_EQ(release_when_idle(result), 0);

    WAIT_REFS(tcb_refs(names_standard), 1, 1000);
    WAIT_REFS(tcb_refs(names_private), 1, 1000);
    CHECK_EQ(tcb_release(names_standard), 0);
    CHECK_EQ(tcb_release(names_private), 0);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
}

/* MFInvokeCallback with a queue the callback names that is not valid (docs/behaviour.md#d7,
 * docs/behaviour.md#put-invoke). */
static void test_invoke_invalid_queue(void)
{
    DWORD queue = 0;
    tcb *dead, *never;
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    dead = tcb_create_params(0, queue);
    never = tcb_create_params(0, 0x10000u);
    CHECK_HR(MFCreateAsyncResult(NULL, &dead->iface, NULL, &result), S_OK);
    CHECK_HR(MFInvokeCallback(result), MF_E_INVALID_WORKQUEUE);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_HR(MFCreateAsyncResult(NULL, &never->iface, NULL, &result), S_OK);
    CHECK_HR(RtwqInvokeCallback((IRtwqAsyncResult *)result), MF_E_INVALID_WORKQUEUE);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_invokes(dead), 0);
    CHECK_EQ(tcb_invokes(never), 0);
    CHECK_EQ(tcb_release(dead), 0);
    CHECK_EQ(tcb_release(never), 0);

    /* E_NOTIMPL: the default queue, STANDARD. */
    never = tcb_create();
    CHECK_HR(MFCreateAsyncResult(NULL, &never->iface, NULL, &result), S_OK);
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK(tcb_wait(never, 1));
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(never), 1, 1000);
    CHECK_EQ(tcb_release(never), 0);
}

/* docs/behaviour.md#d7: a callback naming an id without private bits that is not a platform
 * queue (0, 6, 0x20, 0xFFFF) is invoked as if it named STANDARD. */
static void test_invoke_low_ids(void)
{
    static const DWORD ids[] = {0, 6, 0x20, 0x4000, 0xFFFF};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        tcb *cb = tcb_create_params(0, ids[i]);
        IMFAsyncResult *result = NULL;
        HRESULT hr;
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        hr = MFInvokeCallback(result);
        CHECK_MSG(hr == S_OK, "D7: MFInvokeCallback with a callback naming 0x%x: 0x%08x", (unsigned)ids[i],
                  (unsigned)hr);
        if (hr == S_OK)
            CHECK(tcb_wait(cb, 1));
        CHECK_EQ(release_when_idle(result), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* GetParameters failing with something other than E_NOTIMPL is not
 * specified (docs/behaviour.md#d7): whatever the call returns, no crash, nothing kept, and
 * a call that succeeded runs its item exactly once. */
static void test_get_parameters_fails(void)
{
    static const HRESULT failures[] = {E_FAIL, E_POINTER, E_UNEXPECTED};
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        tcb *cb = tcb_create();
        IMFAsyncResult *result = NULL;
        HRESULT put, invoke;
        int expected;
        cb->params_hr = failures[i];
        cb->flags = MFASYNC_FAST_IO_PROCESSING_CALLBACK; /* never written out: params_hr is not S_OK */
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        put = MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL);
        invoke = MFInvokeCallback(result);
        expected = (put == S_OK) + (invoke == S_OK);
        if (expected)
            CHECK(tcb_wait(cb, expected));
        sleep_ms(30);
        CHECK_MSG(tcb_invokes(cb) == expected, "GetParameters 0x%08x: put 0x%08x, invoke 0x%08x, %d invocations",
                  (unsigned)failures[i], (unsigned)put, (unsigned)invoke, tcb_invokes(cb));
        CHECK_EQ(release_when_idle(result), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* ---- docs/behaviour.md#d28: Invoke never runs inline -------------------- */

typedef struct nested {
    IMFAsyncResult *inner;
    tcb *inner_cb;
    atomic_int inner_ran_before_return;
    atomic_int done;
} nested;

static void nested_hook(tcb *cb, IMFAsyncResult *result)
{
    nested *n = cb->ctx;
    (void)result;
    CHECK_HR(MFInvokeCallback(n->inner), S_OK);
    /* STANDARD has one thread: had the inner Invoke not run inline, it
     * cannot have run yet. */
    atomic_store(&n->inner_ran_before_return, tcb_invokes(n->inner_cb));
    atomic_store(&n->done, 1);
}

static void test_never_inline(void)
{
    nested n;
    tcb *outer = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);

    n.inner_cb = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    CHECK_HR(MFCreateAsyncResult(NULL, &n.inner_cb->iface, NULL, &n.inner), S_OK);
    atomic_init(&n.inner_ran_before_return, -1);
    atomic_init(&n.done, 0);
    outer->ctx = &n;
    outer->hook = nested_hook;
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &outer->iface, NULL), S_OK);
    CHECK(tcb_wait(outer, 1));
    CHECK(tcb_wait(n.inner_cb, 1));
    CHECK_EQ(atomic_load(&n.inner_ran_before_return), 0);
    CHECK(!pthread_equal(n.inner_cb->invoke_thread, main_thread));
    CHECK_EQ(release_when_idle(n.inner), 0);

    /* MFInvokeCallback from the main thread does not run inline either. */
    CHECK_HR(MFCreateAsyncResult(NULL, &n.inner_cb->iface, NULL, &n.inner), S_OK);
    CHECK_HR(MFInvokeCallback(n.inner), S_OK);
    CHECK(tcb_wait(n.inner_cb, 2));
    CHECK(!pthread_equal(n.inner_cb->invoke_thread, main_thread));
    CHECK_EQ(release_when_idle(n.inner), 0);

    WAIT_REFS(tcb_refs(outer), 1, 1000);
    WAIT_REFS(tcb_refs(n.inner_cb), 1, 1000);
    CHECK_EQ(tcb_release(outer), 0);
    CHECK_EQ(tcb_release(n.inner_cb), 0);
}

/* ---- callback flags (docs/behaviour.md#callback-flags, #d9) ------------- */

static void check_flags(DWORD flags, const char *name)
{
    static const DWORD refused[] = {MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_MULTITHREADED,
                                    MFASYNC_CALLBACK_QUEUE_RT, MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, 0};
    static const DWORD allowed[] = {MFASYNC_CALLBACK_QUEUE_IO, MFASYNC_CALLBACK_QUEUE_TIMER};
    DWORD private_queue = 0;
    IMFAsyncResult *result = NULL;
    int ran = 0;

    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]) + 1; i++) {
        DWORD queue = i < sizeof(refused) / sizeof(refused[0]) ? refused[i] : private_queue;
        tcb *cb = tcb_create_params(flags, queue);
        HRESULT hr;

        /* Explicit-queue puts check the flags against the queue argument. */
        hr = MFPutWorkItem(queue, &cb->iface, NULL);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s callback put on 0x%x: 0x%08x, expected MF_E_INVALID_WORKQUEUE",
                  name, (unsigned)queue, (unsigned)hr);
        hr = MFPutWorkItem2(queue, 1, &cb->iface, NULL);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s callback MFPutWorkItem2 on 0x%x: 0x%08x", name,
                  (unsigned)queue, (unsigned)hr);
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        hr = MFPutWorkItemEx(queue, result);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s result put on 0x%x: 0x%08x", name, (unsigned)queue,
                  (unsigned)hr);
        hr = RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)result);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s result RtwqPutWorkItem on 0x%x: 0x%08x", name,
                  (unsigned)queue, (unsigned)hr);
        /* MFInvokeCallback checks them against the queue the callback names. */
        hr = MFInvokeCallback(result);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s callback naming 0x%x invoked: 0x%08x", name,
                  (unsigned)queue, (unsigned)hr);
        CHECK_EQ(result_refs(result), 1);
        CHECK_EQ(IMFAsyncResult_Release(result), 0);
        /* A timer checks them against the queue the callback names, at once
         * (the callback could never be dispatched), and keeps no reference. */
        {
            MFWORKITEM_KEY key = 0;
            hr = MFScheduleWorkItem(&cb->iface, NULL, -10, &key);
            CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "%s callback naming 0x%x scheduled: 0x%08x", name,
                      (unsigned)queue, (unsigned)hr);
            CHECK_EQ(tcb_refs(cb), 1);
        }
        CHECK_EQ(tcb_invokes(cb), 0);
        CHECK_EQ(tcb_release(cb), 0);
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        DWORD queue = allowed[i];
        tcb *cb = tcb_create_params(flags, queue);
        HRESULT hr = MFPutWorkItem(queue, &cb->iface, NULL);
        CHECK_MSG(hr == S_OK, "%s callback put on 0x%x: 0x%08x, expected S_OK", name, (unsigned)queue,
                  (unsigned)hr);
        ran += hr == S_OK;
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        hr = MFPutWorkItemEx(queue, result);
        CHECK_MSG(hr == S_OK, "%s result put on 0x%x: 0x%08x", name, (unsigned)queue, (unsigned)hr);
        ran += hr == S_OK;
        hr = MFInvokeCallback(result);
        CHECK_MSG(hr == S_OK, "%s callback naming 0x%x invoked: 0x%08x", name, (unsigned)queue, (unsigned)hr);
        ran += hr == S_OK;
        {
            MFWORKITEM_KEY key = 0;
            hr = MFScheduleWorkItem(&cb->iface, NULL, -1, &key);
            CHECK_MSG(hr == S_OK, "%s callback naming 0x%x scheduled: 0x%08x", name, (unsigned)queue,
                      (unsigned)hr);
            ran += hr == S_OK;
        }
        CHECK(tcb_wait(cb, ran));
        ran = 0;
        CHECK_EQ(release_when_idle(result), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
    CHECK_HR(MFUnlockWorkQueue(private_queue), S_OK);
}

static void test_callback_flags(void)
{
    static const DWORD unrestricted[] = {MFASYNC_BLOCKING_CALLBACK, MFASYNC_LOCALIZE_REMOTE_CALLBACK,
                                         MFASYNC_REPLY_CALLBACK};

    check_flags(MFASYNC_FAST_IO_PROCESSING_CALLBACK, "FAST_IO");
    check_flags(MFASYNC_SIGNAL_CALLBACK, "SIGNAL");
    check_flags(MFASYNC_FAST_IO_PROCESSING_CALLBACK | MFASYNC_SIGNAL_CALLBACK, "FAST_IO|SIGNAL");

    /* BLOCKING, LOCALIZE_REMOTE: no queue restriction (docs/behaviour.md#callback-flags); REPLY only
     * matters on serial queues (docs/behaviour.md#d9): on STANDARD two items run with no reply. */
    for (size_t i = 0; i < sizeof(unrestricted) / sizeof(unrestricted[0]); i++) {
        tcb *cb = tcb_create_params(unrestricted[i], MFASYNC_CALLBACK_QUEUE_STANDARD);
        IMFAsyncResult *result = NULL;
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), S_OK);
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        CHECK_HR(MFInvokeCallback(result), S_OK);
        CHECK_MSG(tcb_wait(cb, 3), "flags 0x%x: %d of 3 items ran", (unsigned)unrestricted[i], tcb_invokes(cb));
        CHECK_EQ(release_when_idle(result), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* ---- who holds the result after Invoke ---------------------------------- */

/* Invoke sets an event and returns; the thread that event wakes releases its
 * last reference to the result and gets 0 back, every time: its wait returns
 * only once the worker has dropped the platform's own reference, however long
 * the worker is preempted after Invoke returns (docs/porting.md, "Who holds
 * the result after Invoke"). */
static void signal_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)result;
    SetEvent((HANDLE)cb->ctx);
}

static void test_woken_thread_releases_the_last_reference(void)
{
    static const DWORD queues[] = {MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_MULTITHREADED};
    int trials = SCALED(200);

    for (size_t q = 0; q < sizeof(queues) / sizeof(queues[0]); q++) {
        HANDLE done = CreateEventA(NULL, FALSE, FALSE, NULL);
        HANDLE both[2];
        tcb *cb = tcb_create();
        int zero_put_ex = 0, zero_put = 0, zero_multi = 0;

        cb->hook = signal_hook;
        cb->ctx = done;
        for (int i = 0; i < trials; i++) {
            /* A result the caller made, put with RtwqPutWorkItem. */
            IMFAsyncResult *result = NULL;
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
            CHECK_HR(RtwqPutWorkItem(queues[q], 0, (IRtwqAsyncResult *)result), S_OK);
            CHECK(WaitForSingleObject(done, T(LONG_WAIT)) == WAIT_OBJECT_0);
            zero_put_ex += IMFAsyncResult_Release(result) == 0;
        }
        /* The platform's internal result, kept by Invoke (AddRef). */
        cb->keep = 1;
        for (int i = 0; i < trials; i++) {
            IMFAsyncResult *kept;
            CHECK_HR(MFPutWorkItem(queues[q], &cb->iface, NULL), S_OK);
            CHECK(WaitForSingleObject(done, T(LONG_WAIT)) == WAIT_OBJECT_0);
            kept = tcb_take_kept(cb);
            CHECK(kept != NULL);
            if (kept != NULL)
                zero_put += IMFAsyncResult_Release(kept) == 0;
        }
        cb->keep = 0;
        /* The same through WaitForMultipleObjects. */
        both[0] = CreateEventA(NULL, FALSE, FALSE, NULL);
        both[1] = done;
        for (int i = 0; i < trials; i++) {
            IMFAsyncResult *result = NULL;
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
            CHECK_HR(MFPutWorkItemEx(queues[q], result), S_OK);
            CHECK(WaitForMultipleObjects(2, both, FALSE, T(LONG_WAIT)) == WAIT_OBJECT_0 + 1);
            zero_multi += IMFAsyncResult_Release(result) == 0;
        }
        /* No trial may miss, natively or under the slow runners: once Invoke
         * has returned the woken thread waits up to 100 ms for the worker's
         * release, and for the few instructions of Invoke after SetEvent it
         * waits 2 ms (and at least 32 yields), longer while the kernel
         * reports the worker runnable but not run (preempted), never for a
         * blocked or busy one. Without the settling wait about four in ten
         * trials miss. */
        CHECK_MSG(zero_put_ex == trials,
                  "queue %u: RtwqPutWorkItem: Release returned 0 in %d of %d trials", (unsigned)queues[q],
                  zero_put_ex, trials);
        CHECK_MSG(zero_put == trials, "queue %u: MFPutWorkItem: Release returned 0 in %d of %d trials",
                  (unsigned)queues[q], zero_put, trials);
        CHECK_MSG(zero_multi == trials,
                  "queue %u: WaitForMultipleObjects: Release returned 0 in %d of %d trials", (unsigned)queues[q],
                  zero_multi, trials);
        CHECK(CloseHandle(both[0]));
        CHECK(CloseHandle(done));
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

int main(void)
{
    main_thread = pthread_self();
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_put_ids_without_private_bits();
    test_put_invalid_private_id();
    test_invoke_return_ignored();
    test_invoke_with_callback_and_event();
    test_event_instead_of_callback();
    test_put_ex_uses_its_queue();
    test_invoke_invalid_queue();
    test_invoke_low_ids();
    test_get_parameters_fails();
    test_never_inline();
    test_callback_flags();
    test_woken_thread_releases_the_last_reference();

    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("put_invoke");
}
