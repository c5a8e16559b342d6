/*
 * serial.c - serial work queues: targets, chains, unlock order, strict FIFO
 * one at a time, and reply mode.
 *
 * docs/behaviour.md#serial: #w48 to #w50, #d10 (reply mode must work: the
 * serial queue advances only when the callee invokes the result it
 * received).
 */
#include "mfwq_test.h"

static const DWORD platform_queues[] = {
    MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_RT, MFASYNC_CALLBACK_QUEUE_IO,
    MFASYNC_CALLBACK_QUEUE_TIMER, MFASYNC_CALLBACK_QUEUE_MULTITHREADED, MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION,
};
enum { PLATFORM_QUEUES = sizeof(platform_queues) / sizeof(platform_queues[0]) };

static int runs_on(DWORD queue)
{
    tcb *cb = tcb_create();
    int ran;
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    ran = tcb_wait(cb, 1);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    return ran;
}

/* docs/behaviour.md#w48: a serial queue over every platform queue. */
static void test_targets(void)
{
    for (int i = 0; i < PLATFORM_QUEUES; i++) {
        DWORD serial = 0;
        HRESULT hr = MFAllocateSerialWorkQueue(platform_queues[i], &serial);
        CHECK_MSG(hr == S_OK, "48: MFAllocateSerialWorkQueue(%u) returned 0x%08x", (unsigned)platform_queues[i],
                  (unsigned)hr);
        CHECK((serial & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0);
        CHECK_MSG(runs_on(serial), "48: an item on the serial queue over %u did not run",
                  (unsigned)platform_queues[i]);
        CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
        /* Gone after its last unlock. */
        CHECK_HR(MFUnlockWorkQueue(serial), MF_E_INVALID_WORKQUEUE);
    }
    /* Over private queues of each type and a shared queue. */
    {
        static const MFASYNC_WORKQUEUE_TYPE types[] = {MF_STANDARD_WORKQUEUE, MF_WINDOW_WORKQUEUE,
                                                       MF_MULTITHREADED_WORKQUEUE};
        DWORD target = 0, serial = 0;
        for (int i = 0; i < 3; i++) {
            CHECK_HR(MFAllocateWorkQueueEx(types[i], &target), S_OK);
            CHECK_HR(MFAllocateSerialWorkQueue(target, &serial), S_OK);
            CHECK(runs_on(serial));
            CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
            CHECK_HR(MFUnlockWorkQueue(target), S_OK);
        }
        CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"", 0, NULL, &target), S_OK);
        CHECK_HR(RtwqAllocateSerialWorkQueue(target, &serial), S_OK);
        CHECK(runs_on(serial));
        CHECK_HR(RtwqUnlockWorkQueue(serial), S_OK);
        CHECK_HR(MFUnlockWorkQueue(target), S_OK);
    }
    /* docs/behaviour.md#d7: a private target that is not live. */
    {
        DWORD serial = 0x1234;
        CHECK_HR(MFAllocateSerialWorkQueue(0x10000u, &serial), MF_E_INVALID_WORKQUEUE);
        CHECK_U(serial, 0x1234);
    }
}

/* docs/behaviour.md#w49: chains; unlocking the target first; the chained queue keeps its
 * target alive. */
static void test_chains(void)
{
    DWORD first = 0, second = 0, third = 0;

    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &first), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(first, &second), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(second, &third), S_OK);
    CHECK(runs_on(third));
    /* Unlock the targets first: S_OK, and the chain still works. */
    CHECK_HR(MFUnlockWorkQueue(first), S_OK);
    CHECK_HR(MFUnlockWorkQueue(second), S_OK);
    CHECK_MSG(runs_on(third), "49: the chained queue did not keep its targets alive");
    CHECK_HR(MFUnlockWorkQueue(third), S_OK);
    CHECK_HR(MFUnlockWorkQueue(third), MF_E_INVALID_WORKQUEUE);
}

/* ---- docs/behaviour.md#w50: strict FIFO, never two at once -------------- */

typedef struct fifo_probe {
    atomic_int running;
    atomic_int overlaps;
    atomic_long expected;
    atomic_int out_of_order;
} fifo_probe;

static void fifo_hook(tcb *cb, IMFAsyncResult *result)
{
    fifo_probe *probe = cb->ctx;
    IUnknown *state = IMFAsyncResult_GetStateNoAddRef(result);
    long value = state != NULL ? tunk_from(state)->value : -1;
    if (atomic_fetch_add(&probe->running, 1) != 0)
        atomic_fetch_add(&probe->overlaps, 1);
    if (atomic_fetch_add(&probe->expected, 1) != value)
        atomic_fetch_add(&probe->out_of_order, 1);
    /* Give an overlapping item time to show itself. */
    if (value % 4 == 0)
        sleep_ms(0.3);
    atomic_fetch_sub(&probe->running, 1);
}

static void check_fifo(DWORD serial, const char *name, int n)
{
    fifo_probe probe;
    tcb *cb = tcb_create();

    atomic_init(&probe.running, 0);
    atomic_init(&probe.overlaps, 0);
    atomic_init(&probe.expected, 0);
    atomic_init(&probe.out_of_order, 0);
    cb->ctx = &probe;
    cb->hook = fifo_hook;
    for (int i = 0; i < n; i++) {
        tunk *state = tunk_create(i);
        IMFAsyncResult *result = NULL;
        switch (i % 3) {
        case 0:
            CHECK_HR(MFPutWorkItem(serial, &cb->iface, &state->iface), S_OK);
            break;
        case 1:
            CHECK_HR(MFPutWorkItem2(serial, 0, &cb->iface, &state->iface), S_OK);
            break;
        default:
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, &state->iface, &result), S_OK);
            CHECK_HR(MFPutWorkItemEx(serial, result), S_OK);
            IMFAsyncResult_Release(result);
            break;
        }
        IUnknown_Release(&state->iface);
    }
    CHECK_MSG(tcb_wait(cb, n), "50 %s: %d of %d items ran", name, tcb_invokes(cb), n);
    CHECK_MSG(atomic_load(&probe.overlaps) == 0, "50 %s: items overlapped %d times", name,
              atomic_load(&probe.overlaps));
    CHECK_MSG(atomic_load(&probe.out_of_order) == 0, "50 %s: %d items out of FIFO order", name,
              atomic_load(&probe.out_of_order));
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

static void test_fifo_one_at_a_time(void)
{
    DWORD serial = 0, inner = 0, outer = 0, target = 0;
    char name[64];

    for (int i = 0; i < PLATFORM_QUEUES; i++) {
        CHECK_HR(MFAllocateSerialWorkQueue(platform_queues[i], &serial), S_OK);
        snprintf(name, sizeof(name), "serial over %u", (unsigned)platform_queues[i]);
        check_fifo(serial, name, SCALED(300));
        CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    }
    CHECK_HR(MFAllocateWorkQueueEx(MF_MULTITHREADED_WORKQUEUE, &target), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(target, &serial), S_OK);
    check_fifo(serial, "serial over a private multithreaded queue", SCALED(300));
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFUnlockWorkQueue(target), S_OK);

    /* A chain: items of the inner and the outer queue all pass through the
     * inner one, so none of them overlap. */
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &inner), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(inner, &outer), S_OK);
    check_fifo(outer, "serial chain", SCALED(300));
    CHECK_HR(MFUnlockWorkQueue(inner), S_OK);
    CHECK_HR(MFUnlockWorkQueue(outer), S_OK);

    /* Several serial queues over MULTITHREADED: each one is FIFO, and they
     * do run side by side (a serial queue does not serialize its target). */
    {
        enum { QUEUES = 4 };
        DWORD queues[QUEUES];
        fifo_probe probes[QUEUES];
        tcb *cbs[QUEUES];
        int n = SCALED(200);
        for (int q = 0; q < QUEUES; q++) {
            CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &queues[q]), S_OK);
            atomic_init(&probes[q].running, 0);
            atomic_init(&probes[q].overlaps, 0);
            atomic_init(&probes[q].expected, 0);
            atomic_init(&probes[q].out_of_order, 0);
            cbs[q] = tcb_create();
            cbs[q]->ctx = &probes[q];
            cbs[q]->hook = fifo_hook;
        }
        for (int i = 0; i < n; i++)
            for (int q = 0; q < QUEUES; q++) {
                tunk *state = tunk_create(i);
                CHECK_HR(MFPutWorkItem(queues[q], &cbs[q]->iface, &state->iface), S_OK);
                IUnknown_Release(&state->iface);
            }
        for (int q = 0; q < QUEUES; q++) {
            CHECK(tcb_wait(cbs[q], n));
            CHECK_EQ(atomic_load(&probes[q].overlaps), 0);
            CHECK_EQ(atomic_load(&probes[q].out_of_order), 0);
            WAIT_REFS(tcb_refs(cbs[q]), 1, 1000);
            CHECK_EQ(tcb_release(cbs[q]), 0);
            CHECK_HR(MFUnlockWorkQueue(queues[q]), S_OK);
        }
    }
}

/* docs/behaviour.md#w50: several threads putting at once: still one at a time, and each
 * producer's items in its own order. */
enum { PRODUCERS = 4 };

typedef struct producers_probe {
    atomic_int running;
    atomic_int overlaps;
    atomic_int disorder;
    atomic_long last[PRODUCERS];
} producers_probe;

static producers_probe producers;

static void producer_hook(tcb *cb, IMFAsyncResult *result)
{
    IUnknown *state = IMFAsyncResult_GetStateNoAddRef(result);
    long value = state != NULL ? tunk_from(state)->value : -1;
    int producer = (int)(value / 100000);
    long index = value % 100000;
    (void)cb;
    if (atomic_fetch_add(&producers.running, 1) != 0)
        atomic_fetch_add(&producers.overlaps, 1);
    if (producer < 0 || producer >= PRODUCERS || atomic_load(&producers.last[producer]) != index - 1)
        atomic_fetch_add(&producers.disorder, 1);
    else
        atomic_store(&producers.last[producer], index);
    atomic_fetch_sub(&producers.running, 1);
}

typedef struct producer_arg {
    DWORD queue;
    tcb *cb;
    long id;
    int n;
} producer_arg;

static void *produce(void *arg)
{
    producer_arg *p = arg;
    for (int i = 0; i < p->n; i++) {
        tunk *state = tunk_create(p->id * 100000 + i);
        CHECK_HR(MFPutWorkItem(p->queue, &p->cb->iface, &state->iface), S_OK);
        IUnknown_Release(&state->iface);
    }
    return NULL;
}

static void test_concurrent_producers(void)
{
    DWORD serial = 0;
    tcb *cb = tcb_create();
    producer_arg args[PRODUCERS];
    pthread_t threads[PRODUCERS];
    int n = SCALED(1000);

    cb->hook = producer_hook;
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    for (int p = 0; p < PRODUCERS; p++) {
        atomic_store(&producers.last[p], -1);
        args[p].queue = serial;
        args[p].cb = cb;
        args[p].id = p;
        args[p].n = n;
        threads[p] = start_thread(produce, &args[p]);
    }
    for (int p = 0; p < PRODUCERS; p++)
        join_thread(threads[p]);
    CHECK_MSG(tcb_wait(cb, PRODUCERS * n), "%d of %d items from %d producers ran", tcb_invokes(cb), PRODUCERS * n,
              PRODUCERS);
    CHECK_MSG(atomic_load(&producers.overlaps) == 0, "50: items from concurrent producers overlapped %d times",
              atomic_load(&producers.overlaps));
    CHECK_MSG(atomic_load(&producers.disorder) == 0, "50: %d items ran out of their producer's order",
              atomic_load(&producers.disorder));
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* Items already on a serial queue still run after its last unlock (as 27). */
static void test_backlog_runs_after_unlock(void)
{
    DWORD serial = 0;
    fifo_probe probe;
    tcb *cb = tcb_create();
    int n = SCALED(100);

    atomic_init(&probe.running, 0);
    atomic_init(&probe.overlaps, 0);
    atomic_init(&probe.expected, 0);
    atomic_init(&probe.out_of_order, 0);
    cb->ctx = &probe;
    cb->hook = fifo_hook;
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    for (int i = 0; i < n; i++) {
        tunk *state = tunk_create(i);
        CHECK_HR(MFPutWorkItem(serial, &cb->iface, &state->iface), S_OK);
        IUnknown_Release(&state->iface);
    }
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_MSG(tcb_wait(cb, n), "%d of %d items ran after the serial queue's unlock", tcb_invokes(cb), n);
    CHECK_EQ(atomic_load(&probe.out_of_order), 0);
    CHECK_EQ(atomic_load(&probe.overlaps), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* ---- docs/behaviour.md#w50 / #d10: reply mode --------------------------- */

static void *reply_from_thread(void *arg)
{
    IMFAsyncResult *reply = arg;
    sleep_ms(50);
    CHECK_HR(MFInvokeCallback(reply), S_OK);
    return NULL;
}

static void check_reply_mode(DWORD target, const char *name)
{
    DWORD serial = 0;
    tcb *first = tcb_create_params(MFASYNC_REPLY_CALLBACK, MFASYNC_CALLBACK_QUEUE_STANDARD);
    tcb *second = tcb_create_params(MFASYNC_REPLY_CALLBACK, MFASYNC_CALLBACK_QUEUE_STANDARD);
    tcb *third = tcb_create();
    IMFAsyncResult *reply;
    pthread_t thread;

    first->keep = 1;
    second->keep = 1;
    CHECK_HR(MFAllocateSerialWorkQueue(target, &serial), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &first->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &second->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &third->iface, NULL), S_OK);

    /* The first runs; the second does not, though Invoke has returned. */
    CHECK(tcb_wait(first, 1));
    sleep_ms(200);
    CHECK_MSG(tcb_invokes(second) == 0, "D10 %s: the second item ran before the first one's reply", name);
    CHECK_EQ(tcb_invokes(third), 0);

    /* The reply: MFInvokeCallback on the result Invoke received. */
    reply = tcb_take_kept(first);
    CHECK(reply != NULL);
    if (reply == NULL)
        return;
    CHECK_HR(MFInvokeCallback(reply), S_OK);
    IMFAsyncResult_Release(reply);
    CHECK_MSG(tcb_wait(second, 1), "D10 %s: the second item did not run after the reply", name);

    /* The second waits for its reply too; this one comes from another
     * thread, later. */
    sleep_ms(150);
    CHECK_MSG(tcb_invokes(third) == 0, "D10 %s: the third item ran before the second one's reply", name);
    reply = tcb_take_kept(second);
    CHECK(reply != NULL);
    if (reply == NULL)
        return;
    thread = start_thread(reply_from_thread, reply);
    CHECK_MSG(tcb_wait(third, 1), "D10 %s: the third item did not run after a reply from another thread", name);
    join_thread(thread);
    IMFAsyncResult_Release(reply);

    /* A normal item after it runs without any reply. */
    CHECK(runs_on(serial));

    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    WAIT_REFS(tcb_refs(first), 1, 1000);
    WAIT_REFS(tcb_refs(second), 1, 1000);
    WAIT_REFS(tcb_refs(third), 1, 1000);
    CHECK_EQ(tcb_release(first), 0);
    CHECK_EQ(tcb_release(second), 0);
    CHECK_EQ(tcb_release(third), 0);
}

/* Reply mode through MFPutWorkItemEx with the caller's own result. */
static void check_reply_mode_own_result(void)
{
    DWORD serial = 0;
    tcb *first = tcb_create_params(MFASYNC_REPLY_CALLBACK, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    tcb *second = tcb_create();
    IMFAsyncResult *own = NULL, *reply;
    tunk *state = tunk_create(11);

    first->keep = 1;
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &first->iface, &state->iface, &own), S_OK);
    CHECK_HR(MFPutWorkItemEx(serial, own), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &second->iface, NULL), S_OK);
    CHECK(tcb_wait(first, 1));
    sleep_ms(150);
    CHECK_MSG(tcb_invokes(second) == 0, "D10: the item after a reply-mode result ran before the reply");
    reply = tcb_take_kept(first);
    if (reply != NULL) {
        CHECK_HR(MFInvokeCallback(reply), S_OK);
        IMFAsyncResult_Release(reply);
    }
    CHECK(tcb_wait(second, 1));
    CHECK_EQ(release_when_idle(own), 0);
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    WAIT_REFS(tcb_refs(first), 1, 1000);
    WAIT_REFS(tcb_refs(second), 1, 1000);
    CHECK_EQ(tcb_release(first), 0);
    CHECK_EQ(tcb_release(second), 0);
    WAIT_FOR(tunk_refs(state) == 1, 1000);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* docs/behaviour.md#d10: the reply may come from inside the callee's own Invoke (a
 * synchronous completion): the queue must not stall. */
static void reply_inside_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    CHECK_HR(MFInvokeCallback(result), S_OK);
}

static void check_reply_inside_invoke(void)
{
    DWORD serial = 0;
    tcb *replying = tcb_create_params(MFASYNC_REPLY_CALLBACK, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    tcb *plain = tcb_create();
    int n = SCALED(50);

    replying->hook = reply_inside_hook;
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    for (int i = 0; i < n; i++) {
        CHECK_HR(MFPutWorkItem(serial, &replying->iface, NULL), S_OK);
        CHECK_HR(MFPutWorkItem(serial, &plain->iface, NULL), S_OK);
    }
    CHECK_MSG(tcb_wait(replying, n) && tcb_wait(plain, n),
              "D10: replies made inside Invoke: %d + %d of %d + %d items ran", tcb_invokes(replying),
              tcb_invokes(plain), n, n);
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    WAIT_REFS(tcb_refs(replying), 1, 1000);
    WAIT_REFS(tcb_refs(plain), 1, 1000);
    CHECK_EQ(tcb_release(replying), 0);
    CHECK_EQ(tcb_release(plain), 0);
}

static void test_reply_mode(void)
{
    DWORD chain = 0;
    check_reply_mode(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, "over MULTITHREADED");
    check_reply_mode(MFASYNC_CALLBACK_QUEUE_STANDARD, "over STANDARD");
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &chain), S_OK);
    check_reply_mode(chain, "over another serial queue");
    CHECK_HR(MFUnlockWorkQueue(chain), S_OK);
    check_reply_mode_own_result();
    check_reply_inside_invoke();
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_targets();
    test_chains();
    test_fifo_one_at_a_time();
    test_concurrent_producers();
    test_backlog_runs_after_unlock();
    test_reply_mode();

    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("serial");
}
