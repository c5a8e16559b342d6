/*
 * reentrancy.c - platform calls made from inside callbacks.
 *
 * docs/behaviour.md#d36: every call is re-entrant from inside Invoke (and MFShutdown
 * from a queue thread must not deadlock; that one is in shutdown_drain.c).
 * docs/behaviour.md#d28: nothing runs inline. The semantics of #d15 and #d18 must hold
 * when the calls come from queue and timer threads: cancelling, removing a
 * periodic callback from inside itself, unlocking the very queue the
 * callback runs on (docs/behaviour.md#w27: its queued work still runs).
 *
 * Each step runs inside a callback and reports back; the main thread waits
 * with a time limit, so a deadlock shows as a failed check. If a step
 * failed, the program exits without shutting the platform down (a thread
 * may be stuck).
 */
#include "mfwq_test.h"

#include <unistd.h>

typedef void (*step_fn)(void *ctx);

typedef struct step {
    step_fn fn;
    void *ctx;
    atomic_int done;
} step;

static void step_hook(tcb *cb, IMFAsyncResult *result)
{
    step *s = cb->ctx;
    (void)result;
    s->fn(s->ctx);
    atomic_store(&s->done, 1);
}

/* Runs fn(ctx) inside Invoke on `queue`; returns 1 when it finished in time. */
static int run_inside(DWORD queue, step_fn fn, void *ctx, const char *name)
{
    step s;
    tcb *cb = tcb_create();
    int finished;

    s.fn = fn;
    s.ctx = ctx;
    atomic_init(&s.done, 0);
    cb->ctx = &s;
    cb->hook = step_hook;
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    WAIT_FOR(atomic_load(&s.done), LONG_WAIT);
    finished = atomic_load(&s.done);
    CHECK_MSG(finished, "D36: '%s' inside Invoke on queue 0x%08x did not return (deadlock?)", name,
              (unsigned)queue);
    if (!finished) {
        test_finish("reentrancy");
        fflush(NULL);
        _exit(1);
    }
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    return finished;
}

/* ---- the steps ------------------------------------------------------------ */

typedef struct put_ctx {
    tcb *target;
    DWORD queue;
} put_ctx;

/* Put, put-ex, invoke, schedule, wait from inside Invoke, onto the same
 * one-thread queue: none may run inline (docs/behaviour.md#d28), all run afterwards. */
static void put_everything(void *arg)
{
    put_ctx *p = arg;
    IMFAsyncResult *result = NULL;
    MFWORKITEM_KEY key = 0;
    HANDLE event = CreateEventA(NULL, TRUE, TRUE, NULL);

    CHECK_HR(MFPutWorkItem(p->queue, &p->target->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem2(p->queue, 1, &p->target->iface, NULL), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &p->target->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWorkItemEx(p->queue, result), S_OK);
    CHECK_HR(MFInvokeCallback(result), S_OK);
    CHECK_HR(MFScheduleWorkItemEx(result, -1, &key), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, NULL), S_OK); /* already set: fires */
    IMFAsyncResult_Release(result);
    CloseHandle(event);
    /* One-thread queue: nothing of the above has run yet. */
    CHECK_EQ(tcb_invokes(p->target), 0);
}

static void test_puts_from_invoke(void)
{
    put_ctx p;
    p.target = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    p.queue = MFASYNC_CALLBACK_QUEUE_STANDARD;
    run_inside(MFASYNC_CALLBACK_QUEUE_STANDARD, put_everything, &p, "put/invoke/schedule/wait");
    CHECK_MSG(tcb_wait(p.target, 6), "%d of 6 items put from inside Invoke ran", tcb_invokes(p.target));
    WAIT_REFS(tcb_refs(p.target), 1, 1000);
    CHECK_EQ(tcb_release(p.target), 0);
}

/* Cancel a pending scheduled item and a pending waiting item from Invoke. */
typedef struct cancel_ctx {
    MFWORKITEM_KEY timer_key;
    MFWORKITEM_KEY wait_key;
    tcb *timer_cb;
} cancel_ctx;

static void cancel_pending(void *arg)
{
    cancel_ctx *c = arg;
    CHECK_HR(MFCancelWorkItem(c->timer_key), S_OK);
    /* docs/behaviour.md#d15: the timer's callback is released before the cancel returns. */
    CHECK_EQ(tcb_refs(c->timer_cb), 1);
    CHECK_HR(MFCancelWorkItem(c->wait_key), S_OK);
    CHECK_HR(MFCancelWorkItem(c->timer_key), MF_E_NOT_FOUND);
}

static void test_cancel_from_invoke(void)
{
    cancel_ctx c;
    tcb *waiter = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    IMFAsyncResult *result = NULL;

    c.timer_cb = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    CHECK_HR(MFScheduleWorkItem(&c.timer_cb->iface, NULL, -60000, &c.timer_key), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &waiter->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(NULL, 0, result, &c.wait_key), S_OK);
    /* From STANDARD, the queue both callbacks name. */
    run_inside(MFASYNC_CALLBACK_QUEUE_STANDARD, cancel_pending, &c, "cancel");
    /* The cancelled waiting item is invoked with MF_E_OPERATION_CANCELLED. */
    CHECK(tcb_wait(waiter, 1));
    CHECK_HR(atomic_load(&waiter->last_status), MF_E_OPERATION_CANCELLED);
    CHECK_EQ(tcb_invokes(c.timer_cb), 0);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(waiter), 1, 1000);
    CHECK_EQ(tcb_release(waiter), 0);
    CHECK_EQ(tcb_release(c.timer_cb), 0);
}

/* A scheduled item cancelling its own key inside its Invoke: it already
 * fired, so MF_E_NOT_FOUND. */
static void self_cancel_hook(tcb *cb, IMFAsyncResult *result)
{
    MFWORKITEM_KEY *key = cb->ctx;
    (void)result;
    atomic_store(&cb->last_status, MFCancelWorkItem(*key));
}

static void test_self_cancel(void)
{
    static MFWORKITEM_KEY key;
    tcb *cb = tcb_create();
    cb->ctx = &key;
    cb->hook = self_cancel_hook;
    /* The key is written before the call returns; the item is due in 50 ms. */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -50, &key), S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_HR(atomic_load(&cb->last_status), MF_E_NOT_FOUND);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* Unlock the queue the callback runs on (its last lock) from inside its
 * own Invoke: no self-deadlock, and the items behind it still run (27). */
typedef struct own_queue {
    DWORD queue;
    HANDLE all_put; /* set once the items behind are on the queue */
} own_queue;

static void unlock_own_queue(void *arg)
{
    own_queue *q = arg;
    CHECK(WaitForSingleObject(q->all_put, T(LONG_WAIT)) == WAIT_OBJECT_0);
    CHECK_HR(MFUnlockWorkQueue(q->queue), S_OK);
}

static void check_unlock_own_queue(DWORD queue, const char *name)
{
    own_queue q;
    tcb *behind = tcb_create();
    step s;
    tcb *first = tcb_create();

    q.queue = queue;
    q.all_put = CreateEventA(NULL, TRUE, FALSE, NULL);
    s.fn = unlock_own_queue;
    s.ctx = &q;
    atomic_init(&s.done, 0);
    first->ctx = &s;
    first->hook = step_hook;
    CHECK_HR(MFPutWorkItem(queue, &first->iface, NULL), S_OK);
    for (int i = 0; i < 5; i++)
        CHECK_HR(MFPutWorkItem(queue, &behind->iface, NULL), S_OK);
    CHECK(SetEvent(q.all_put));
    WAIT_FOR(atomic_load(&s.done), LONG_WAIT);
    CHECK_MSG(atomic_load(&s.done), "D36: unlocking the %s it runs on did not return (deadlock?)", name);
    if (!atomic_load(&s.done)) {
        test_finish("reentrancy");
        fflush(NULL);
        _exit(1);
    }
    CHECK_MSG(tcb_wait(behind, 5), "27: %d of 5 items behind the unlock ran on the %s", tcb_invokes(behind), name);
    CHECK_HR(MFUnlockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
    CHECK(CloseHandle(q.all_put));
    WAIT_REFS(tcb_refs(first), 1, 1000);
    WAIT_REFS(tcb_refs(behind), 1, 1000);
    CHECK_EQ(tcb_release(first), 0);
    CHECK_EQ(tcb_release(behind), 0);
}

static void test_unlock_own_queue(void)
{
    DWORD queue = 0;
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    check_unlock_own_queue(queue, "private standard queue");
    CHECK_HR(MFAllocateWorkQueueEx(MF_WINDOW_WORKQUEUE, &queue), S_OK);
    check_unlock_own_queue(queue, "private window queue");
    CHECK_HR(MFAllocateWorkQueueEx(MF_MULTITHREADED_WORKQUEUE, &queue), S_OK);
    check_unlock_own_queue(queue, "private multithreaded queue");
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &queue), S_OK);
    check_unlock_own_queue(queue, "serial queue");
}

/* Allocate, lock, unlock queues; lock/unlock the platform; nested
 * startup/shutdown; shared queues - all from inside Invoke. */
static void queue_management(void *arg)
{
    DWORD queue = 0, serial = 0, shared = 0;
    tcb *cb = arg;
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(queue, &serial), S_OK);
    CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"", 0, NULL, &shared), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(shared, &cb->iface, NULL), S_OK);
    CHECK_HR(MFLockWorkQueue(queue), S_OK);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK_HR(MFUnlockWorkQueue(shared), S_OK);
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK_HR(MFUnlockPlatform(), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK(platform_usable());
}

static void test_queue_management_from_invoke(void)
{
    tcb *cb = tcb_create();
    run_inside(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, queue_management, cb, "queue management");
    CHECK_MSG(tcb_wait(cb, 2), "%d of 2 items put from inside Invoke ran", tcb_invokes(cb));
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* ---- periodic callbacks ---------------------------------------------------- */

typedef struct self_removing {
    DWORD key;
    atomic_int calls;
    atomic_int removed;
    atomic_int remove_hr;
    tcb *put_target;
} self_removing;

static self_removing periodic_state;

static void self_removing_fn(IUnknown *context)
{
    (void)context;
    int calls = atomic_fetch_add(&periodic_state.calls, 1) + 1;
    /* Work from a timer-driven callback. */
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &periodic_state.put_target->iface, NULL), S_OK);
    if (calls == 3) {
        /* docs/behaviour.md#d18 / #d36: removing itself from inside itself. */
        atomic_store(&periodic_state.remove_hr, MFRemovePeriodicCallback(periodic_state.key));
        atomic_store(&periodic_state.removed, 1);
    }
}

static void test_periodic_removes_itself(void)
{
    tunk *context = tunk_create(5);
    int calls;

    periodic_state.put_target = tcb_create();
    atomic_init(&periodic_state.remove_hr, E_UNEXPECTED);
    CHECK_HR(MFAddPeriodicCallback(self_removing_fn, &context->iface, &periodic_state.key), S_OK);
    WAIT_FOR(atomic_load(&periodic_state.removed), LONG_WAIT);
    CHECK_MSG(atomic_load(&periodic_state.removed), "the periodic callback never removed itself (deadlock?)");
    CHECK_HR(atomic_load(&periodic_state.remove_hr), S_OK);
    sleep_ms(T(100));
    calls = atomic_load(&periodic_state.calls);
    CHECK_MSG(calls == 3, "a periodic callback that removed itself on call 3 ran %d times", calls);
    WAIT_FOR(tunk_refs(context) == 1, 500);
    CHECK_EQ(tunk_refs(context), 1);
    CHECK_HR(MFRemovePeriodicCallback(periodic_state.key), MF_E_NOT_FOUND);
    CHECK(tcb_wait(periodic_state.put_target, calls));
    WAIT_REFS(tcb_refs(periodic_state.put_target), 1, 1000);
    CHECK_EQ(tcb_release(periodic_state.put_target), 0);
    CHECK_EQ(IUnknown_Release(&context->iface), 0);
}

/* Add and remove periodic callbacks from inside Invoke. */
static atomic_int added_calls;
static void added_fn(IUnknown *context)
{
    (void)context;
    atomic_fetch_add(&added_calls, 1);
}

typedef struct add_ctx {
    DWORD key;
} add_ctx;

static void add_periodic(void *arg)
{
    add_ctx *a = arg;
    CHECK_HR(MFAddPeriodicCallback(added_fn, NULL, &a->key), S_OK);
}

static void remove_periodic(void *arg)
{
    add_ctx *a = arg;
    CHECK_HR(MFRemovePeriodicCallback(a->key), S_OK);
}

static void test_periodic_from_invoke(void)
{
    add_ctx a;
    run_inside(MFASYNC_CALLBACK_QUEUE_STANDARD, add_periodic, &a, "MFAddPeriodicCallback");
    WAIT_FOR(atomic_load(&added_calls) >= 2, 2000);
    CHECK(atomic_load(&added_calls) >= 2);
    run_inside(MFASYNC_CALLBACK_QUEUE_TIMER, remove_periodic, &a, "MFRemovePeriodicCallback");
}

/* ---- waits re-armed and events set from callbacks ---------------------------- */

typedef struct ping_pong {
    HANDLE ping, pong;
    IMFAsyncResult *ping_result, *pong_result;
    atomic_int rounds;
    int target;
} ping_pong;

static ping_pong game;

/* Each side's Invoke sets the other side's event and re-arms its own wait. */
static void ping_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    (void)result;
    if (atomic_fetch_add(&game.rounds, 1) + 1 < game.target) {
        CHECK_HR(MFPutWaitingWorkItem(game.ping, 0, game.ping_result, NULL), S_OK);
        CHECK(SetEvent(game.pong));
    }
}

static void pong_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    (void)result;
    if (atomic_fetch_add(&game.rounds, 1) + 1 < game.target) {
        CHECK_HR(MFPutWaitingWorkItem(game.pong, 0, game.pong_result, NULL), S_OK);
        CHECK(SetEvent(game.ping));
    }
}

static void test_ping_pong(void)
{
    tcb *ping = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_STANDARD);
    tcb *pong = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);

    ping->hook = ping_hook;
    pong->hook = pong_hook;
    game.ping = CreateEventA(NULL, FALSE, FALSE, NULL);
    game.pong = CreateEventA(NULL, FALSE, FALSE, NULL);
    game.target = SCALED(200);
    CHECK_HR(MFCreateAsyncResult(NULL, &ping->iface, NULL, &game.ping_result), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &pong->iface, NULL, &game.pong_result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(game.ping, 0, game.ping_result, NULL), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(game.pong, 0, game.pong_result, NULL), S_OK);
    CHECK(SetEvent(game.ping));
    WAIT_FOR(atomic_load(&game.rounds) >= game.target, LONG_WAIT);
    CHECK_MSG(atomic_load(&game.rounds) >= game.target, "ping-pong stopped after %d of %d rounds",
              atomic_load(&game.rounds), game.target);
    sleep_ms(30);
    CHECK_EQ(atomic_load(&game.rounds), game.target);
    /* The side that played the round before the last one re-armed its wait:
     * one more SetEvent of each releases it (without re-arming). */
    CHECK(SetEvent(game.ping));
    CHECK(SetEvent(game.pong));
    WAIT_FOR(atomic_load(&game.rounds) >= game.target + 1, LONG_WAIT);
    sleep_ms(30);
    CHECK_EQ(atomic_load(&game.rounds), game.target + 1);
    CHECK_EQ(release_when_idle(game.ping_result), 0);
    CHECK_EQ(release_when_idle(game.pong_result), 0);
    WAIT_REFS(tcb_refs(ping), 1, 1000);
    WAIT_REFS(tcb_refs(pong), 1, 1000);
    CHECK_EQ(tcb_release(ping), 0);
    CHECK_EQ(tcb_release(pong), 0);
    CHECK(CloseHandle(game.ping));
    CHECK(CloseHandle(game.pong));
}

/* The same result invoked several times at once: invoked that many times. */
static void test_same_result_many_times(void)
{
    tcb *cb = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    IMFAsyncResult *result = NULL;
    int n = SCALED(50);

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    for (int i = 0; i < n; i++) {
        CHECK_HR(MFInvokeCallback(result), S_OK);
        CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), S_OK);
    }
    CHECK_MSG(tcb_wait(cb, 2 * n), "%d of %d invocations of one result ran", tcb_invokes(cb), 2 * n);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_puts_from_invoke();
    test_cancel_from_invoke();
    test_self_cancel();
    test_unlock_own_queue();
    test_queue_management_from_invoke();
    test_periodic_removes_itself();
    test_periodic_from_invoke();
    test_ping_pong();
    test_same_result_many_times();

    if (atomic_load(&t_failures) == 0)
        CHECK_HR(MFShutdown(), S_OK);
    return test_finish("reentrancy");
}
