/*
 * shutdown_drain.c - what happens to queued work at shutdown, and shutdown
 * from a queue thread.
 *
 * docs/behaviour.md#shutdown-under-load: #w54 (#w55 = #w27, in queues.c),
 * #d1 (queued work still runs), #d7 (private ids die with the platform),
 * #d34 (after shutdown: MF_E_SHUTDOWN), #d36 (MFShutdown on a queue thread
 * must not deadlock). Timers pending at shutdown (#w56) are in
 * shutdown_timer_leak.c.
 */
#include "mfwq_test.h"

static void sleep_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    (void)result;
    sleep_ms(10);
}

/* docs/behaviour.md#w54: two items on STANDARD, each sleeping 10 ms, shutdown at once: both
 * still run and both results end at refcount 0. */
static void check_pending_items_run(DWORD queue, int rtwq_shutdown, const char *name)
{
    tcb *cb = tcb_create_params(0, queue);
    IMFAsyncResult *first = NULL, *second = NULL;

    cb->hook = sleep_hook;
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, (IRtwqAsyncResult **)&first), S_OK);
    CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, (IRtwqAsyncResult **)&second), S_OK);
    CHECK_HR(RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)first), S_OK);
    CHECK_HR(RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)second), S_OK);
    /* And two with internal results. */
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    if (rtwq_shutdown)
        CHECK_HR(RtwqShutdown(), S_OK);
    else
        CHECK_HR(MFShutdown(), S_OK);
    CHECK_MSG(tcb_wait(cb, 4), "54 %s: %d of 4 items queued at shutdown ran", name, tcb_invokes(cb));
    CHECK_EQ(release_when_idle(first), 0);
    CHECK_EQ(release_when_idle(second), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

/* Private and serial queues that were never unlocked drain at shutdown too,
 * and (docs/behaviour.md#d7) their ids are dead afterwards, also after a restart. */
static void test_private_queues_at_shutdown(void)
{
    DWORD private_queue = 0, serial = 0;
    tcb *cb = tcb_create();
    int n = SCALED(50);

    cb->hook = sleep_hook;
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    for (int i = 0; i < n; i++) {
        CHECK_HR(MFPutWorkItem(private_queue, &cb->iface, NULL), S_OK);
        CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
    }
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_MSG(tcb_wait(cb, 2 * n), "%d of %d items on private and serial queues ran after shutdown",
              tcb_invokes(cb), 2 * n);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);

    /* docs/behaviour.md#d34: after shutdown every put is MF_E_SHUTDOWN. */
    CHECK_HR(MFPutWorkItem(private_queue, &cb->iface, NULL), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), MF_E_SHUTDOWN);
    CHECK_EQ(tcb_refs(cb), 1);

    /* docs/behaviour.md#d7: after a restart the old private ids are not live. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFPutWorkItem(private_queue, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(tcb_release(cb), 0);
}

/* ---- docs/behaviour.md#d36: MFShutdown from a queue thread -------------- */

typedef struct in_callback {
    atomic_int hr;
    atomic_int usable_after;
} in_callback;

static void shutdown_hook(tcb *cb, IMFAsyncResult *result)
{
    in_callback *state = cb->ctx;
    (void)result;
    atomic_store(&state->hr, MFShutdown());
    atomic_store(&state->usable_after, platform_usable());
}

static void test_shutdown_from_queue_thread(void)
{
    static const DWORD queues[] = {MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 0};
    DWORD private_queue = 0;

    /* Lock-free: the last shutdown called inside Invoke returns. A platform
     * lock is held meanwhile, which a shutdown on a queue thread does not
     * wait for (docs/behaviour.md#d1). */
    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        in_callback state;
        tcb *cb = tcb_create();
        DWORD queue = queues[i];

        atomic_init(&state.hr, -1);
        atomic_init(&state.usable_after, -1);
        cb->ctx = &state;
        cb->hook = shutdown_hook;
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        if (queue == 0) {
            CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
            queue = private_queue;
        }
        CHECK_HR(MFLockPlatform(), S_OK);
        CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
        CHECK_MSG(tcb_wait(cb, 1), "D36: MFShutdown inside Invoke on queue 0x%08x did not return",
                  (unsigned)queue);
        CHECK_HR(atomic_load(&state.hr), S_OK);
        CHECK_EQ(atomic_load(&state.usable_after), 0);
        CHECK(!platform_usable());
        CHECK_HR(MFUnlockPlatform(), S_OK);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }

    /* Nested: a shutdown in Invoke that is not the last leaves the platform up. */
    {
        in_callback state;
        tcb *cb = tcb_create();
        atomic_init(&state.hr, -1);
        atomic_init(&state.usable_after, -1);
        cb->ctx = &state;
        cb->hook = shutdown_hook;
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
        CHECK(tcb_wait(cb, 1));
        CHECK_HR(atomic_load(&state.hr), S_OK);
        CHECK_EQ(atomic_load(&state.usable_after), 1);
        CHECK(platform_usable());
        CHECK_HR(MFShutdown(), S_OK);
        CHECK(!platform_usable());
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }

    /* The platform starts again afterwards and works. */
    {
        tcb *cb = tcb_create();
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), S_OK);
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
        CHECK(tcb_wait(cb, 2));
        CHECK_HR(MFShutdown(), S_OK);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* Startup/shutdown cycles with work in flight. */
static void test_cycles(void)
{
    int cycles = SCALED(30);
    tcb *cb = tcb_create();
    int expected = 0;

    for (int i = 0; i < cycles; i++) {
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        for (int j = 0; j < 5; j++) {
            CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
            CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), S_OK);
            expected += 2;
        }
        CHECK_HR(MFShutdown(), S_OK);
    }
    CHECK_MSG(tcb_wait(cb, expected), "%d of %d items ran across startup/shutdown cycles", tcb_invokes(cb),
              expected);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);

    check_pending_items_run(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, "STANDARD, MFShutdown");
    check_pending_items_run(MFASYNC_CALLBACK_QUEUE_STANDARD, 1, "STANDARD, RtwqShutdown");
    check_pending_items_run(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 0, "MULTITHREADED");
    check_pending_items_run(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, 1, "LONG_FUNCTION");
    test_private_queues_at_shutdown();
    test_shutdown_from_queue_thread();
    test_cycles();

    CHECK(!platform_usable());
    return test_finish("shutdown_drain");
}
