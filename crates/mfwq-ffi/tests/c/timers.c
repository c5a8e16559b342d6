/*
 * timers.c - scheduled work items and their cancellation.
 *
 * docs/behaviour.md#scheduled: #w36 to #w38, #d15, #d16, and #d37 (a fired
 * timer invokes the callback on the queue its GetParameters names). Timers
 * pending at shutdown (#w15, #w41, #w56) are in
 * shutdown_timer_leak.c.
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

/* docs/behaviour.md#w36, #w37, #w38 */
static void test_schedule_and_cancel(void)
{
    tcb *cb = tcb_create();
    MFWORKITEM_KEY key = 0, other = 0;

    /* docs/behaviour.md#w36: a negative timeout is relative milliseconds. */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -5000, &key), S_OK);
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -5000, &other), S_OK);
    CHECK_MSG(key != other, "two pending items share the key 0x%llx", (unsigned long long)key);
    CHECK_EQ(tcb_refs(cb), 3);
    /* docs/behaviour.md#w37: cancel is S_OK and the callback is released before it returns. */
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK_EQ(tcb_refs(cb), 2);
    CHECK_HR(MFCancelWorkItem(other), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    /* docs/behaviour.md#w38: a second cancel of the same key is MF_E_NOT_FOUND. */
    CHECK_HR(MFCancelWorkItem(key), MF_E_NOT_FOUND);
    CHECK_HR(MFCancelWorkItem(other), MF_E_NOT_FOUND);
    CHECK_EQ(tcb_invokes(cb), 0);
    /* docs/behaviour.md#w37: the test's Release now returns 0 right away. */
    CHECK_EQ(tcb_release(cb), 0);

    /* Keys never issued. */
    CHECK_HR(MFCancelWorkItem(0), MF_E_NOT_FOUND);
    CHECK_HR(MFCancelWorkItem(0xdeadbeefull), MF_E_NOT_FOUND);
    CHECK_HR(MFCancelWorkItem(~0ull), MF_E_NOT_FOUND);

    /* docs/behaviour.md#w37 / #d15: a cancelled item is never invoked, even once its time has
     * passed. (The delay is long enough for the cancel to come first even
     * on a slow runner.) */
    cb = tcb_create();
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -(INT64)T(200), &key), S_OK);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    sleep_ms(T(200) + 200);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(tcb_release(cb), 0);
}

/* A scheduled item fires after its delay, with the state it was given. */
static void test_schedule_fires(void)
{
    tcb *cb = tcb_create();
    tunk *state = tunk_create(5);
    MFWORKITEM_KEY key = 0;
    IMFAsyncResult *kept, *own = NULL;
    double started;

    cb->keep = 1;
    started = now_ms();
    CHECK_HR(MFScheduleWorkItem(&cb->iface, &state->iface, -50, &key), S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_MSG(now_ms() - started >= 45, "a -50 ms item fired after %.1f ms", now_ms() - started);
    kept = tcb_take_kept(cb);
    CHECK(kept != NULL);
    if (kept != NULL) {
        CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(kept), &state->iface);
        CHECK_HR(IMFAsyncResult_GetStatus(kept), S_OK);
        CHECK_EQ(release_when_idle(kept), 0);
    }
    /* A fired item's key is gone. */
    CHECK_HR(MFCancelWorkItem(key), MF_E_NOT_FOUND);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(state), 1);

    /* MFScheduleWorkItemEx: Invoke receives the very result scheduled. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, &state->iface, &own), S_OK);
    started = now_ms();
    CHECK_HR(MFScheduleWorkItemEx(own, -30, &key), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_MSG(now_ms() - started >= 25, "a -30 ms item fired after %.1f ms", now_ms() - started);
    CHECK_PTR(atomic_load(&cb->last_result), own);
    kept = tcb_take_kept(cb);
    if (kept != NULL)
        IMFAsyncResult_Release(kept);
    CHECK_EQ(release_when_idle(own), 0);

    /* Cancelling a scheduled result gives it back at once. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &own), S_OK);
    CHECK_HR(MFScheduleWorkItemEx(own, -5000, &key), S_OK);
    CHECK_EQ(result_refs(own), 2);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK_EQ(result_refs(own), 1);
    CHECK_EQ(IMFAsyncResult_Release(own), 0);

    /* RtwqScheduleWorkItem is the same call. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &own), S_OK);
    CHECK_HR(RtwqScheduleWorkItem((IRtwqAsyncResult *)own, -10, &key), S_OK);
    CHECK(tcb_wait(cb, 3));
    CHECK_PTR(atomic_load(&cb->last_result), own);
    kept = tcb_take_kept(cb);
    if (kept != NULL)
        IMFAsyncResult_Release(kept);
    CHECK_EQ(release_when_idle(own), 0);

    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* docs/behaviour.md#d16: a timeout >= 0 fires as soon as possible; pKey may be NULL. */
static void test_non_negative_timeouts(void)
{
    tcb *cb = tcb_create();
    MFWORKITEM_KEY key = 0;
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, 0, &key), S_OK);
    CHECK_MSG(tcb_wait(cb, 1), "D16: a 0 timeout did not fire");
    /* +600000 would be ten minutes if it were taken as relative. */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, 600000, &key), S_OK);
    CHECK_MSG(tcb_wait(cb, 2), "D16: a positive timeout did not fire soon");
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(MFScheduleWorkItemEx(result, 1, NULL), S_OK);
    CHECK_MSG(tcb_wait(cb, 3), "D16: a +1 timeout did not fire soon");
    /* NULL key. */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -10, NULL), S_OK);
    CHECK_HR(MFScheduleWorkItemEx(result, -10, NULL), S_OK);
    CHECK_HR(RtwqScheduleWorkItem((IRtwqAsyncResult *)result, -10, NULL), S_OK);
    CHECK_MSG(tcb_wait(cb, 6), "items scheduled with a NULL key: %d of 6 ran", tcb_invokes(cb));
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

static order_log order;

static void log_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)result;
    order_push(&order, cb->id);
}

/* Timers fire in deadline order, whatever order they were scheduled in.
 * The deadlines are taken from when each call was made, so that a slow
 * runner that stalls between the calls cannot make the check wrong; pairs
 * due within 20 ms of each other are not compared. */
static void test_deadline_order(void)
{
    static const INT64 delays[] = {-300, -100, -200, -10};
    double due[4];
    tcb *cbs[4];
    MFWORKITEM_KEY key;

    memset(&order, 0, sizeof(order));
    for (int i = 0; i < 4; i++) {
        cbs[i] = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
        cbs[i]->id = i;
        cbs[i]->hook = log_hook;
        due[i] = now_ms() - (double)delays[i];
        CHECK_HR(MFScheduleWorkItem(&cbs[i]->iface, NULL, delays[i], &key), S_OK);
    }
    WAIT_FOR(order_count(&order) >= 4, LONG_WAIT);
    CHECK_EQ(order_count(&order), 4);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) {
            long earlier = order.ids[i], later = order.ids[j];
            if (earlier < 0 || earlier > 3 || later < 0 || later > 3)
                continue;
            CHECK_MSG(due[earlier] <= due[later] + 20,
                      "timer %ld (due at +%.0f ms) fired before timer %ld (due at +%.0f ms)", earlier,
                      due[earlier] - due[0], later, due[later] - due[0]);
        }
    for (int i = 0; i < 4; i++) {
        WAIT_REFS(tcb_refs(cbs[i]), 1, 1000);
        CHECK_EQ(tcb_release(cbs[i]), 0);
    }
}

/* docs/behaviour.md#d37 / #queue-selection: on expiry the callback runs on the queue its
 * GetParameters names. */
static void test_fires_on_callback_queue(void)
{
    DWORD queue = 0;
    gate g;
    tcb *blocker = tcb_create(), *cb;
    MFWORKITEM_KEY key;

    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    cb = tcb_create_params(0, queue);
    g.started = CreateEventA(NULL, TRUE, FALSE, NULL);
    g.release = CreateEventA(NULL, TRUE, FALSE, NULL);
    blocker->ctx = &g;
    blocker->hook = gate_hook;
    CHECK_HR(MFPutWorkItem(queue, &blocker->iface, NULL), S_OK);
    CHECK(wait_signalled(g.started));
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -10, &key), S_OK);
    sleep_ms(150);
    CHECK_MSG(tcb_invokes(cb) == 0, "D37: the fired timer did not wait for the queue its callback names");
    SetEvent(g.release);
    CHECK(tcb_wait(cb, 1));
    CHECK(tcb_wait(blocker, 1));
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    WAIT_REFS(tcb_refs(blocker), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(tcb_release(blocker), 0);
    CloseHandle(g.started);
    CloseHandle(g.release);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
}

/* docs/behaviour.md#d15 under a race: cancel right around expiry. A cancel that returned S_OK
 * means never invoked; MF_E_NOT_FOUND means it fired (invoked once). */
static void test_cancel_races_expiry(void)
{
    int n = SCALED(300);
    tcb **cbs = calloc((size_t)n, sizeof(*cbs));
    int cancelled = 0;
    int bad_refs = 0;

    for (int i = 0; i < n; i++) {
        MFWORKITEM_KEY key = 0;
        HRESULT hr;
        cbs[i] = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
        CHECK_HR(MFScheduleWorkItem(&cbs[i]->iface, NULL, -(i % 3), &key), S_OK);
        if (i % 5)
            sleep_ms(0.05 * (i % 7));
        hr = MFCancelWorkItem(key);
        CHECK_MSG(hr == S_OK || hr == MF_E_NOT_FOUND, "cancel returned 0x%08x", (unsigned)hr);
        if (hr == S_OK) {
            cancelled++;
            cbs[i]->id = 1; /* must never run */
            /* docs/behaviour.md#d15: released before the cancel returned. */
            if (tcb_refs(cbs[i]) != 1)
                bad_refs++;
        }
    }
    CHECK_MSG(bad_refs == 0, "D15: %d cancelled items still held their callback after cancel", bad_refs);
    for (int i = 0; i < n; i++) {
        if (cbs[i]->id == 0)
            CHECK_MSG(tcb_wait(cbs[i], 1), "item %d: cancel said not found but it never ran", i);
    }
    sleep_ms(50);
    for (int i = 0; i < n; i++) {
        int expected = cbs[i]->id ? 0 : 1;
        CHECK_MSG(tcb_invokes(cbs[i]) == expected, "D15: item %d (cancel %s) was invoked %d times", i,
                  cbs[i]->id ? "S_OK" : "MF_E_NOT_FOUND", tcb_invokes(cbs[i]));
        WAIT_REFS(tcb_refs(cbs[i]), 1, 1000);
        CHECK_EQ(tcb_release(cbs[i]), 0);
    }
    printf("cancel race: %d of %d cancels won\n", cancelled, n);
    free(cbs);
}

/* A scheduled item whose callback's flags do not fit the queue it names
 * (FAST_IO on STANDARD) could never be dispatched: the call refuses it at
 * once (MF_E_INVALID_WORKQUEUE, as a put does), it is never invoked, and
 * nothing is kept. */
static void test_incompatible_flags(void)
{
    tcb *cb = tcb_create_params(MFASYNC_FAST_IO_PROCESSING_CALLBACK, MFASYNC_CALLBACK_QUEUE_STANDARD);
    MFWORKITEM_KEY key = 0;
    HRESULT hr = MFScheduleWorkItem(&cb->iface, NULL, -10, &key);
    CHECK_MSG(hr == MF_E_INVALID_WORKQUEUE, "MFScheduleWorkItem with FAST_IO on STANDARD: 0x%08x", (unsigned)hr);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(tcb_release(cb), 0);
}

/* Many pending timers, all cancelled. */
static void test_many_pending(void)
{
    enum { N = 64 };
    MFWORKITEM_KEY keys[N];
    tcb *cb = tcb_create();

    for (int i = 0; i < N; i++)
        CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -60000 - i, &keys[i]), S_OK);
    CHECK_EQ(tcb_refs(cb), N + 1);
    for (int i = N - 1; i >= 0; i--)
        CHECK_HR(MFCancelWorkItem(keys[i]), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tcb_release(cb), 0);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_schedule_and_cancel();
    test_schedule_fires();
    test_non_negative_timeouts();
    test_deadline_order();
    test_fires_on_callback_queue();
    test_cancel_races_expiry();
    test_many_pending();
    test_incompatible_flags();

    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("timers");
}
