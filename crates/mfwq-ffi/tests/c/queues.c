/*
 * queues.c - queue ids, allocation, lock and unlock, queue types, and which
 * queues run one item at a time.
 *
 * docs/behaviour.md#queue-ids and #allocate: #w24 to #w29, #w55, #d3, #d7,
 * #d11, #d13.
 */
#include "mfwq_test.h"

static int is_private(DWORD queue) { return (queue & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0; }

/* Puts one item on `queue` and waits for it to run. */
static int runs_on(DWORD queue)
{
    tcb *cb = tcb_create();
    int ran = 0;
    HRESULT hr = MFPutWorkItem(queue, &cb->iface, NULL);
    CHECK_MSG(hr == S_OK, "MFPutWorkItem(0x%08x) returned 0x%08x", (unsigned)queue, (unsigned)hr);
    if (hr == S_OK)
        ran = tcb_wait(cb, 1);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    return ran;
}

/* docs/behaviour.md#w24, #w25: allocation, private bits, reference counting, stale ids. */
static void test_allocate_and_unlock(void)
{
    DWORD queue = 0, next = 0, again = 0;
    tcb *cb = tcb_create();

    /* docs/behaviour.md#w24 */
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_MSG(is_private(queue), "24: queue id 0x%08x has no private bits", (unsigned)queue);
    CHECK(runs_on(queue));

    /* docs/behaviour.md#w25: a fresh queue holds one lock; MFLockWorkQueue adds one. */
    CHECK_HR(MFLockWorkQueue(queue), S_OK);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK(runs_on(queue)); /* one lock left: still alive */
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK); /* destroyed */
    /* A second unlock of the same id fails (docs/behaviour.md#d13: MF_E_INVALID_WORKQUEUE). */
    CHECK_HR(MFUnlockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
    /* docs/behaviour.md#d7: a private id unlocked to zero is not live. */
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFLockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
    CHECK_EQ(tcb_refs(cb), 1);

    /* docs/behaviour.md#w25: the next queue gets a usable, valid id again ... */
    CHECK_HR(MFAllocateWorkQueue(&next), S_OK);
    CHECK(is_private(next));
    CHECK(runs_on(next));
    /* ... and docs/behaviour.md#d7: an id of an earlier generation of a reused slot never
     * becomes valid again. */
    CHECK_MSG(next != queue, "D7: the id 0x%08x was handed out again", (unsigned)queue);
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFUnlockWorkQueue(next), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&again), S_OK);
    CHECK(again != next && again != queue);
    CHECK_HR(MFPutWorkItem(next, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFUnlockWorkQueue(again), S_OK);

    /* docs/behaviour.md#d7: a private id that was never allocated. */
    CHECK_HR(MFPutWorkItem(0x10000u, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItem(0x7FFF0001u, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFUnlockWorkQueue(0x7FFF0001u), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFLockWorkQueue(0xFFFF0001u), MF_E_INVALID_WORKQUEUE);
    /* 0xFFFF0000 itself is an undefined private id: accepted (queue_ids.c). */
    CHECK_HR(MFLockWorkQueue(0xFFFF0000u), S_OK);
    CHECK_HR(MFUnlockWorkQueue(0xFFFF0000u), S_OK);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(tcb_release(cb), 0);
}

/* docs/behaviour.md#w26: lock and unlock of ids without private bits are S_OK no-ops. */
static void test_platform_ids_lock_unlock(void)
{
    static const DWORD ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 0x20, 0x4000, 0xFFFF};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        HRESULT hr = MFUnlockWorkQueue(ids[i]);
        CHECK_MSG(hr == S_OK, "26: MFUnlockWorkQueue(0x%x) returned 0x%08x", (unsigned)ids[i], (unsigned)hr);
        hr = MFLockWorkQueue(ids[i]);
        CHECK_MSG(hr == S_OK, "26: MFLockWorkQueue(0x%x) returned 0x%08x", (unsigned)ids[i], (unsigned)hr);
        hr = RtwqUnlockWorkQueue(ids[i]);
        CHECK_MSG(hr == S_OK, "26: RtwqUnlockWorkQueue(0x%x) returned 0x%08x", (unsigned)ids[i], (unsigned)hr);
    }
    /* Unlocking STANDARD many times does not break it. */
    for (int i = 0; i < 5; i++)
        CHECK_HR(MFUnlockWorkQueue(MFASYNC_CALLBACK_QUEUE_STANDARD), S_OK);
    CHECK(runs_on(MFASYNC_CALLBACK_QUEUE_STANDARD));
}

static void slow_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    (void)result;
    sleep_ms(50);
}

/* docs/behaviour.md#w27 / #w55: work already put on a private queue still runs after the queue
 * is unlocked; the results are then released. */
static void test_work_runs_after_unlock(void)
{
    DWORD queue = 0;
    tcb *first_cb = tcb_create(), *second_cb = tcb_create();
    IMFAsyncResult *first = NULL, *second = NULL;

    first_cb->hook = slow_hook; /* the unlock surely happens while both are queued */
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &first_cb->iface, NULL, &first), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, &second_cb->iface, NULL, &second), S_OK);
    CHECK_HR(MFPutWorkItemEx(queue, first), S_OK);
    CHECK_HR(RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)second), S_OK);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK(tcb_wait(first_cb, 1));
    CHECK(tcb_wait(second_cb, 1));
    CHECK_PTR(atomic_load(&first_cb->last_result), first);
    CHECK_PTR(atomic_load(&second_cb->last_result), second);
    /* The platform let go of both results (the second may lag a little). */
    CHECK_EQ(release_when_idle(first), 0);
    CHECK_EQ(release_when_idle(second), 0);
    CHECK_EQ(tcb_release(first_cb), 0);
    CHECK_EQ(tcb_release(second_cb), 0);
    /* The queue is gone. */
    CHECK_HR(MFUnlockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
}

/* docs/behaviour.md#w29: MFAllocateWorkQueueEx types, and RtwqAllocateWorkQueue. */
static void test_allocate_ex(void)
{
    static const MFASYNC_WORKQUEUE_TYPE types[] = {
        MF_STANDARD_WORKQUEUE, MF_WINDOW_WORKQUEUE, MF_MULTITHREADED_WORKQUEUE};
    DWORD queue = 0;

    for (size_t i = 0; i < 3; i++) {
        CHECK_HR(MFAllocateWorkQueueEx(types[i], &queue), S_OK);
        CHECK(is_private(queue));
        CHECK(runs_on(queue));
        CHECK_HR(MFUnlockWorkQueue(queue), S_OK);

        CHECK_HR(RtwqAllocateWorkQueue((RTWQ_WORKQUEUE_TYPE)types[i], &queue), S_OK);
        CHECK(is_private(queue));
        CHECK(runs_on(queue));
        CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);
    }
    /* An unknown type is E_INVALIDARG (docs/behaviour.md#allocate). */
    queue = 0x1234;
    CHECK_HR(MFAllocateWorkQueueEx((MFASYNC_WORKQUEUE_TYPE)3, &queue), E_INVALIDARG);
    CHECK_HR(MFAllocateWorkQueueEx((MFASYNC_WORKQUEUE_TYPE)-1, &queue), E_INVALIDARG);
    CHECK_HR(RtwqAllocateWorkQueue((RTWQ_WORKQUEUE_TYPE)7, &queue), E_INVALIDARG);
    CHECK_U(queue, 0x1234);
}

static int compare_ids(const void *a, const void *b)
{
    DWORD x = *(const DWORD *)a, y = *(const DWORD *)b;
    return x < y ? -1 : x > y;
}

/* docs/behaviour.md#d11: at least 4,096 private queues; beyond the limit E_FAIL. */
static void test_queue_limit(void)
{
    enum { WANTED = 4096, CAP = 1 << 17 };
    DWORD *ids = calloc(CAP, sizeof(DWORD));
    int count = 0, distinct = 1;
    HRESULT hr = S_OK;

    for (; count < WANTED; count++) {
        hr = MFAllocateWorkQueue(&ids[count]);
        if (hr != S_OK)
            break;
    }
    CHECK_MSG(count == WANTED, "D11: allocation %d of %d failed with 0x%08x", count + 1, WANTED,
              (unsigned)hr);
    /* All distinct: compare neighbours in a sorted copy. */
    {
        DWORD *sorted = malloc((size_t)count * sizeof(DWORD) + 1);
        memcpy(sorted, ids, (size_t)count * sizeof(DWORD));
        qsort(sorted, (size_t)count, sizeof(DWORD), compare_ids);
        for (int i = 1; i < count; i++)
            if (sorted[i] == sorted[i - 1])
                distinct = 0;
        free(sorted);
    }
    CHECK_MSG(distinct, "D11: two live queues share an id");
    /* Keep going until the limit. */
    for (; count < CAP; count++) {
        hr = MFAllocateWorkQueue(&ids[count]);
        if (hr != S_OK)
            break;
    }
    CHECK_MSG(count < CAP, "D11: %d queues allocated without reaching a limit", count);
    CHECK_HR(hr, E_FAIL);
    for (int i = 0; i < count; i++)
        if (MFUnlockWorkQueue(ids[i]) != S_OK) {
            CHECK_MSG(0, "D11: unlocking queue %d (0x%08x) failed", i, (unsigned)ids[i]);
            break;
        }
    /* Room again. */
    CHECK_HR(MFAllocateWorkQueue(&ids[0]), S_OK);
    CHECK_HR(MFUnlockWorkQueue(ids[0]), S_OK);
    free(ids);
}

/* ---- docs/behaviour.md#d3: which queues run one item at a time ---------- */

typedef struct serial_probe {
    atomic_int running;
    atomic_int overlaps;
    atomic_long expected;   /* FIFO: the state value the next item must carry */
    atomic_int out_of_order;
} serial_probe;

static void serial_hook(tcb *cb, IMFAsyncResult *result)
{
    serial_probe *probe = cb->ctx;
    IUnknown *state = IMFAsyncResult_GetStateNoAddRef(result);
    long value = state != NULL ? tunk_from(state)->value : -1;
    if (atomic_fetch_add(&probe->running, 1) != 0)
        atomic_fetch_add(&probe->overlaps, 1);
    if (atomic_fetch_add(&probe->expected, 1) != value)
        atomic_fetch_add(&probe->out_of_order, 1);
    sleep_ms(0.2);
    atomic_fetch_sub(&probe->running, 1);
}

/* docs/behaviour.md#d3: STANDARD, RT, TIMER, private standard and window queues run one item
 * at a time, in FIFO order (one priority). */
static void check_one_at_a_time(DWORD queue, const char *name)
{
    serial_probe probe;
    tcb *cb = tcb_create();
    int n = SCALED(200);

    atomic_init(&probe.running, 0);
    atomic_init(&probe.overlaps, 0);
    atomic_init(&probe.expected, 0);
    atomic_init(&probe.out_of_order, 0);
    cb->ctx = &probe;
    cb->hook = serial_hook;
    for (int i = 0; i < n; i++) {
        tunk *state = tunk_create(i);
        CHECK_HR(MFPutWorkItem(queue, &cb->iface, &state->iface), S_OK);
        IUnknown_Release(&state->iface);
    }
    CHECK_MSG(tcb_wait(cb, n), "D3 %s: %d of %d items ran", name, tcb_invokes(cb), n);
    CHECK_MSG(atomic_load(&probe.overlaps) == 0, "D3 %s: %d items overlapped", name,
              atomic_load(&probe.overlaps));
    CHECK_MSG(atomic_load(&probe.out_of_order) == 0, "D3 %s: %d items out of FIFO order", name,
              atomic_load(&probe.out_of_order));
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

typedef struct rendezvous {
    atomic_int arrived;
    atomic_int met;
} rendezvous;

static void rendezvous_hook(tcb *cb, IMFAsyncResult *result)
{
    rendezvous *meeting = cb->ctx;
    (void)result;
    atomic_fetch_add(&meeting->arrived, 1);
    WAIT_FOR(atomic_load(&meeting->arrived) >= 2, 3000);
    if (atomic_load(&meeting->arrived) >= 2)
        atomic_fetch_add(&meeting->met, 1);
}

/* docs/behaviour.md#d3: MULTITHREADED, IO, LONG_FUNCTION and private multithreaded queues run
 * items concurrently: two items that wait for each other both finish. */
static void check_concurrent(DWORD queue, const char *name)
{
    rendezvous meeting;
    tcb *cb = tcb_create();

    atomic_init(&meeting.arrived, 0);
    atomic_init(&meeting.met, 0);
    cb->ctx = &meeting;
    cb->hook = rendezvous_hook;
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_MSG(atomic_load(&meeting.met) == 2, "D3 %s: the two items did not run at the same time",
              name);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

static void test_queue_concurrency(void)
{
    DWORD standard = 0, window = 0, multithreaded = 0;

    check_one_at_a_time(MFASYNC_CALLBACK_QUEUE_STANDARD, "STANDARD");
    check_one_at_a_time(MFASYNC_CALLBACK_QUEUE_RT, "RT");
    check_one_at_a_time(MFASYNC_CALLBACK_QUEUE_TIMER, "TIMER");
    CHECK_HR(MFAllocateWorkQueueEx(MF_STANDARD_WORKQUEUE, &standard), S_OK);
    check_one_at_a_time(standard, "private standard");
    CHECK_HR(MFAllocateWorkQueueEx(MF_WINDOW_WORKQUEUE, &window), S_OK);
    check_one_at_a_time(window, "private window");

    check_concurrent(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, "MULTITHREADED");
    check_concurrent(MFASYNC_CALLBACK_QUEUE_IO, "IO");
    check_concurrent(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, "LONG_FUNCTION");
    CHECK_HR(MFAllocateWorkQueueEx(MF_MULTITHREADED_WORKQUEUE, &multithreaded), S_OK);
    check_concurrent(multithreaded, "private multithreaded");

    CHECK_HR(MFUnlockWorkQueue(standard), S_OK);
    CHECK_HR(MFUnlockWorkQueue(window), S_OK);
    CHECK_HR(MFUnlockWorkQueue(multithreaded), S_OK);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_allocate_and_unlock();
    test_platform_ids_lock_unlock();
    test_work_runs_after_unlock();
    test_allocate_ex();
    test_queue_limit();
    test_queue_concurrency();

    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("queues");
}
