/*
 * waits.c - waiting work items (MFPutWaitingWorkItem / RtwqPutWaitingWorkItem).
 *
 * docs/behaviour.md#waiting: #w39, #w40, #d15 and #d17 (the callback runs on the queue its GetParameters names; IO,
 * LONG_FUNCTION, RT and TIMER are not allowed). Cancel after shutdown (#w41)
 * is in shutdown_timer_leak.c.
 */
#include "mfwq_test.h"

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

/* docs/behaviour.md#w39, #w40: NULL event, the same result twice, cancel. */
static void test_null_event_and_cancel(void)
{
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    MFWORKITEM_KEY key1 = 0, key2 = 0;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    /* docs/behaviour.md#w39: NULL event, priority 0: S_OK. */
    CHECK_HR(MFPutWaitingWorkItem(NULL, 0, result, &key1), S_OK);
    /* The same result can be put twice. */
    CHECK_HR(MFPutWaitingWorkItem(NULL, 0, result, &key2), S_OK);
    CHECK(key1 != key2);
    /* docs/behaviour.md#d17: a NULL handle never signals. */
    sleep_ms(100);
    CHECK_EQ(tcb_invokes(cb), 0);
    /* docs/behaviour.md#w39: cancelling each key is S_OK. */
    CHECK_HR(MFCancelWorkItem(key1), S_OK);
    CHECK_HR(MFCancelWorkItem(key2), S_OK);
    /* docs/behaviour.md#w40 / #d15: each cancelled waiting item is invoked once with
     * MF_E_OPERATION_CANCELLED. */
    CHECK(tcb_wait(cb, 2));
    CHECK_HR(atomic_load(&cb->last_status), MF_E_OPERATION_CANCELLED);
    CHECK_HR(IMFAsyncResult_GetStatus(result), MF_E_OPERATION_CANCELLED);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 2);
    /* docs/behaviour.md#w38 / #d15: a second cancel is MF_E_NOT_FOUND. */
    CHECK_HR(MFCancelWorkItem(key1), MF_E_NOT_FOUND);
    CHECK_HR(MFCancelWorkItem(key2), MF_E_NOT_FOUND);
    /* The platform lets go of the shared result. */
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* docs/behaviour.md#d17: an auto-reset event releases one waiting item per SetEvent and is
 * consumed by it. */
static void test_auto_reset_event(void)
{
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    tcb *a = tcb_create(), *b = tcb_create();
    IMFAsyncResult *ra = NULL, *rb = NULL;
    MFWORKITEM_KEY ka = 0, kb = 0;

    CHECK_HR(MFCreateAsyncResult(NULL, &a->iface, NULL, &ra), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &b->iface, NULL, &rb), S_OK);

    /* One item: not before the event, once after it. */
    CHECK_HR(MFPutWaitingWorkItem(event, 0, ra, &ka), S_OK);
    sleep_ms(100);
    CHECK_EQ(tcb_invokes(a), 0);
    CHECK(SetEvent(event));
    CHECK(tcb_wait(a, 1));
    CHECK_PTR(atomic_load(&a->last_result), ra);
    CHECK_HR(atomic_load(&a->last_status), S_OK);
    /* The wait consumed the auto-reset event. */
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    /* A fired item's key is gone. */
    CHECK_HR(MFCancelWorkItem(ka), MF_E_NOT_FOUND);

    /* Two items on one auto-reset event: one per SetEvent. */
    CHECK_HR(MFPutWaitingWorkItem(event, 0, ra, &ka), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, rb, &kb), S_OK);
    CHECK(SetEvent(event));
    WAIT_FOR(tcb_invokes(a) + tcb_invokes(b) >= 2, LONG_WAIT);
    sleep_ms(150);
    CHECK_MSG(tcb_invokes(a) + tcb_invokes(b) == 2, "D17: one SetEvent of an auto-reset event released %d items",
              tcb_invokes(a) + tcb_invokes(b) - 1);
    CHECK(SetEvent(event));
    WAIT_FOR(tcb_invokes(a) + tcb_invokes(b) >= 3, LONG_WAIT);
    CHECK_EQ(tcb_invokes(a), 2);
    CHECK_EQ(tcb_invokes(b), 1);
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);

    /* Already signalled when put: fires at once and consumes the signal. */
    CHECK(SetEvent(event));
    CHECK_HR(MFPutWaitingWorkItem(event, 0, rb, &kb), S_OK);
    CHECK(tcb_wait(b, 2));
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);

    CHECK_EQ(release_when_idle(ra), 0);
    CHECK_EQ(release_when_idle(rb), 0);
    WAIT_REFS(tcb_refs(a), 1, 1000);
    WAIT_REFS(tcb_refs(b), 1, 1000);
    CHECK_EQ(tcb_release(a), 0);
    CHECK_EQ(tcb_release(b), 0);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d17: a manual-reset event releases every waiting item and stays set. */
static void test_manual_reset_event(void)
{
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    tcb *cb = tcb_create();
    IMFAsyncResult *r1 = NULL, *r2 = NULL;
    MFWORKITEM_KEY k1 = 0, k2 = 0;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &r1), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &r2), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, r1, &k1), S_OK);
    CHECK_HR(RtwqPutWaitingWorkItem(event, 1, (IRtwqAsyncResult *)r2, &k2), S_OK);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK(SetEvent(event));
    CHECK(tcb_wait(cb, 2));
    CHECK_U(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    /* Still set: a new item fires at once. */
    CHECK_HR(MFPutWaitingWorkItem(event, 0, r1, NULL), S_OK);
    CHECK(tcb_wait(cb, 3));
    CHECK(ResetEvent(event));
    CHECK_HR(MFPutWaitingWorkItem(event, -1, r1, &k1), S_OK);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 3);
    CHECK(SetEvent(event));
    CHECK(tcb_wait(cb, 4));
    CHECK_EQ(release_when_idle(r1), 0);
    CHECK_EQ(release_when_idle(r2), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d17: the same result re-armed from inside Invoke. */
typedef struct rearm {
    HANDLE event;
    int times;
    MFWORKITEM_KEY key;
} rearm;

static void rearm_hook(tcb *cb, IMFAsyncResult *result)
{
    rearm *r = cb->ctx;
    if (tcb_invokes(cb) + 1 < r->times)
        CHECK_HR(MFPutWaitingWorkItem(r->event, 0, result, &r->key), S_OK);
}

static void test_rearm_inside_invoke(void)
{
    rearm r;
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;

    r.event = CreateEventA(NULL, FALSE, FALSE, NULL);
    r.times = 4;
    cb->ctx = &r;
    cb->hook = rearm_hook;
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(r.event, 0, result, &r.key), S_OK);
    for (int i = 1; i <= r.times; i++) {
        CHECK(SetEvent(r.event));
        CHECK_MSG(tcb_wait(cb, i), "D17: re-armed wait %d did not fire", i);
    }
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), r.times);
    CHECK_HR(MFCancelWorkItem(r.key), MF_E_NOT_FOUND);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(r.event));
}

/* docs/behaviour.md#waiting: a callback naming IO, TIMER, RT or LONG_FUNCTION is
 * refused (MF_E_INVALID_WORKQUEUE, checked at put time, docs/behaviour.md#d9/#d17). */
static void test_forbidden_queues(void)
{
    static const DWORD forbidden[] = {MFASYNC_CALLBACK_QUEUE_IO, MFASYNC_CALLBACK_QUEUE_TIMER,
                                      MFASYNC_CALLBACK_QUEUE_RT, MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION};
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);

    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        tcb *cb = tcb_create_params(0, forbidden[i]);
        IMFAsyncResult *result = NULL;
        MFWORKITEM_KEY key = 0;
        HRESULT hr;

        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        hr = MFPutWaitingWorkItem(event, 0, result, &key);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "waiting item naming queue %u: 0x%08x, expected MF_E_INVALID_WORKQUEUE",
                  (unsigned)forbidden[i], (unsigned)hr);
        hr = RtwqPutWaitingWorkItem(event, 0, (IRtwqAsyncResult *)result, &key);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "Rtwq waiting item naming queue %u: 0x%08x",
                  (unsigned)forbidden[i], (unsigned)hr);
        /* FAST_IO does not make IO acceptable here. */
        cb->flags = MFASYNC_FAST_IO_PROCESSING_CALLBACK;
        hr = MFPutWaitingWorkItem(event, 0, result, NULL);
        CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "FAST_IO waiting item naming queue %u: 0x%08x",
                  (unsigned)forbidden[i], (unsigned)hr);
        CHECK_EQ(result_refs(result), 1);
        CHECK_EQ(tcb_refs(cb), 2);
        CHECK(SetEvent(event));
        sleep_ms(30);
        CHECK(ResetEvent(event));
        CHECK_EQ(tcb_invokes(cb), 0);
        CHECK_EQ(IMFAsyncResult_Release(result), 0);
        CHECK_EQ(tcb_release(cb), 0);
    }
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#waiting: allowed queues, and the callback runs on the queue
 * its GetParameters names. */
static void test_allowed_queues(void)
{
    DWORD serial = 0, shared = 0, private_queue = 0;
    DWORD queues[5];
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    gate g;
    tcb *blocker, *cb;
    IMFAsyncResult *result = NULL;
    MFWORKITEM_KEY key = 0;

    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"", 0, NULL, &shared), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
    queues[0] = MFASYNC_CALLBACK_QUEUE_STANDARD;
    queues[1] = MFASYNC_CALLBACK_QUEUE_MULTITHREADED;
    queues[2] = serial;
    queues[3] = shared;
    queues[4] = private_queue;
    for (int i = 0; i < 5; i++) {
        cb = tcb_create_params(0, queues[i]);
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
        CHECK(SetEvent(event));
        CHECK_MSG(tcb_wait(cb, 1), "a waiting item naming queue 0x%08x did not run", (unsigned)queues[i]);
        CHECK(ResetEvent(event));
        CHECK_EQ(release_when_idle(result), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }

    /* The item waits for the (blocked) queue its callback names. */
    blocker = tcb_create();
    g.started = CreateEventA(NULL, TRUE, FALSE, NULL);
    g.release = CreateEventA(NULL, TRUE, FALSE, NULL);
    blocker->ctx = &g;
    blocker->hook = gate_hook;
    CHECK_HR(MFPutWorkItem(private_queue, &blocker->iface, NULL), S_OK);
    CHECK(wait_signalled(g.started));
    cb = tcb_create_params(0, private_queue);
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK(SetEvent(event));
    sleep_ms(100);
    CHECK_MSG(tcb_invokes(cb) == 0, "the fired waiting item did not run on the queue its callback names");
    SetEvent(g.release);
    CHECK(tcb_wait(cb, 1));
    CHECK(tcb_wait(blocker, 1));
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    WAIT_REFS(tcb_refs(blocker), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(tcb_release(blocker), 0);
    CloseHandle(g.started);
    CloseHandle(g.release);

    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFUnlockWorkQueue(shared), S_OK);
    CHECK_HR(MFUnlockWorkQueue(private_queue), S_OK);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d15 under a race: SetEvent on one thread, cancel on another. Every item
 * runs exactly once: with MF_E_OPERATION_CANCELLED if its cancel returned
 * S_OK, with S_OK otherwise. */
typedef struct race {
    int n;
    HANDLE *events;
    atomic_int started;
} race;

static void *set_all(void *arg)
{
    race *r = arg;
    atomic_store(&r->started, 1);
    /* From the far end, to meet the canceller in the middle. */
    for (int i = r->n - 1; i >= 0; i--) {
        SetEvent(r->events[i]);
        if (i % 3 == 0)
            sleep_ms(0.02);
    }
    return NULL;
}

static void test_cancel_races_signal(void)
{
    int n = SCALED(200);
    race r;
    tcb **cbs = calloc((size_t)n, sizeof(*cbs));
    IMFAsyncResult **results = calloc((size_t)n, sizeof(*results));
    MFWORKITEM_KEY *keys = calloc((size_t)n, sizeof(*keys));
    HRESULT *cancel = calloc((size_t)n, sizeof(*cancel));
    pthread_t thread;
    int won = 0;

    r.n = n;
    r.events = calloc((size_t)n, sizeof(HANDLE));
    for (int i = 0; i < n; i++) {
        r.events[i] = CreateEventA(NULL, i % 2, FALSE, NULL);
        cbs[i] = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
        CHECK_HR(MFCreateAsyncResult(NULL, &cbs[i]->iface, NULL, &results[i]), S_OK);
        CHECK_HR(MFPutWaitingWorkItem(r.events[i], 0, results[i], &keys[i]), S_OK);
    }
    atomic_init(&r.started, 0);
    thread = start_thread(set_all, &r);
    WAIT_FOR(atomic_load(&r.started), LONG_WAIT);
    for (int i = 0; i < n; i++) {
        cancel[i] = MFCancelWorkItem(keys[i]);
        CHECK_MSG(cancel[i] == S_OK || cancel[i] == MF_E_NOT_FOUND, "cancel returned 0x%08x",
                  (unsigned)cancel[i]);
        won += cancel[i] == S_OK;
    }
    join_thread(thread);
    for (int i = 0; i < n; i++) {
        HRESULT expected = cancel[i] == S_OK ? MF_E_OPERATION_CANCELLED : S_OK;
        CHECK_MSG(tcb_wait(cbs[i], 1), "item %d never ran", i);
        CHECK_MSG(atomic_load(&cbs[i]->last_status) == expected,
                  "D15: item %d (cancel 0x%08x) ran with status 0x%08x", i, (unsigned)cancel[i],
                  (unsigned)atomic_load(&cbs[i]->last_status));
    }
    sleep_ms(50);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(tcb_invokes(cbs[i]) == 1, "D15: item %d ran %d times", i, tcb_invokes(cbs[i]));
        CHECK_EQ(release_when_idle(results[i]), 0);
        WAIT_REFS(tcb_refs(cbs[i]), 1, 1000);
        CHECK_EQ(tcb_release(cbs[i]), 0);
        CHECK(CloseHandle(r.events[i]));
    }
    printf("wait/cancel race: %d of %d cancels won\n", won, n);
    free(cbs);
    free(results);
    free(keys);
    free(cancel);
    free(r.events);
}

/* Cancelling a waiting item from inside another callback, and many items on
 * one manual event. */
static void test_many_waiters(void)
{
    int n = SCALED(100);
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    tcb *cb = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    for (int i = 0; i < n; i++)
        CHECK_HR(MFPutWaitingWorkItem(event, i % 3 - 1, result, NULL), S_OK);
    CHECK_EQ(result_refs(result), (ULONG)(n + 1));
    CHECK(SetEvent(event));
    CHECK_MSG(tcb_wait(cb, n), "%d of %d waiting items ran", tcb_invokes(cb), n);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d6 + #d17: a result with no callback signals its hEvent when dispatched,
 * and a waiting item on that event then fires: the two use one kind of
 * event object. */
static void test_hevent_releases_a_waiting_item(void)
{
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    IMFAsyncResult *signaller = NULL, *waiting = NULL;
    tcb *cb = tcb_create();
    MFWORKITEM_KEY key = 0;

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &signaller), S_OK);
    fields(signaller)->hEvent = event;
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &waiting), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, waiting, &key), S_OK);
    CHECK_HR(MFInvokeCallback(signaller), S_OK);
    CHECK_MSG(tcb_wait(cb, 1), "the waiting item did not fire when hEvent was signalled");
    CHECK_HR(MFCancelWorkItem(key), MF_E_NOT_FOUND);
    CHECK_EQ(release_when_idle(waiting), 0);
    /* The stock result closes its hEvent on the final release (22). */
    CHECK_EQ(release_when_idle(signaller), 0);
    CHECK(!CloseHandle(event));
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* An event handle closed while a waiting item waits on it: the item stays
 * pending (it holds the event only weakly, and no handle is left that could
 * set it, so it never fires: what a Windows program sees too) and can be
 * cancelled (docs/behaviour.md#d15: invoked once with MF_E_OPERATION_CANCELLED). Windows
 * documents nothing here; this is what code ported from Windows would expect. */
static void test_event_closed_while_pending(void)
{
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    MFWORKITEM_KEY key = 0;

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK(CloseHandle(event));
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_HR(atomic_load(&cb->last_status), MF_E_OPERATION_CANCELLED);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* Waiting items still pending at the last shutdown never fire: their
 * callback is invoked once each with MF_E_SHUTDOWN before MFShutdown returns
 * (the put returned S_OK, so one invocation is owed), then the result is
 * released (only timers leak): the callback and state references come back,
 * and a later cancel is MF_E_SHUTDOWN. The leak checks of ci/c-abi.sh cover
 * this program, so a leak here fails. */
static void test_pending_waits_invoked_with_shutdown_status(void)
{
    tcb *cb = tcb_create();
    tunk *state = tunk_create(7);
    IMFAsyncResult *result = NULL;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    MFWORKITEM_KEY key = 0, null_key = 0;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, (IUnknown *)&state->iface, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(NULL, 0, result, &null_key), S_OK);
    CHECK_EQ(IMFAsyncResult_Release(result), 2);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(tcb_invokes(cb), 2);
    CHECK_HR(atomic_load(&cb->last_status), MF_E_SHUTDOWN);
    /* Released once delivered: the result went, and with it its callback
     * and state references. */
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK(SetEvent(event));
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 2);
    CHECK_HR(MFCancelWorkItem(key), MF_E_SHUTDOWN);
    CHECK_HR(MFCancelWorkItem(null_key), MF_E_SHUTDOWN);
    CHECK(CloseHandle(event));
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release((IUnknown *)&state->iface), 0);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_null_event_and_cancel();
    test_auto_reset_event();
    test_manual_reset_event();
    test_rearm_inside_invoke();
    test_forbidden_queues();
    test_allowed_queues();
    test_cancel_races_signal();
    test_many_waiters();
    test_hevent_releases_a_waiting_item();
    test_event_closed_while_pending();

    CHECK_HR(MFShutdown(), S_OK);
    test_pending_waits_invoked_with_shutdown_status();
    return test_finish("waits");
}
