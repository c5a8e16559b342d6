/*
 * lifecycle.c - startup, shutdown, version check, startup nesting, MF/Rtwq
 * sharing, the platform lock and its accounting, and the shutdown wait.
 *
 * docs/behaviour.md#startup: #w1 to #w6, #w8 to #w14, #d1 and #d2.
 * #w7 (RtwqStartup joins the COM implicit MTA) is in apartments.c, with the
 * rest of the COM apartment bookkeeping. #w15 (the lock leaked by a timer
 * pending at shutdown) is in shutdown_timer_leak.c, the one program whose
 * leaks are exempt from the leak checkers.
 *
 * "Lock count N" is measured with the probe of docs/behaviour.md#lock-count:
 * N unlocks are possible before MFAllocateWorkQueue fails with
 * MF_E_SHUTDOWN (mfwq_test.h, LOCK_COUNT).
 */
#include "mfwq_test.h"

static void set_shutdown_timeout_ms(int ms)
{
    char text[32];
    snprintf(text, sizeof(text), "%d", ms);
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", text, 1);
}

static void check_not_started(const char *what)
{
    DWORD queue = 0;
    HRESULT hr = MFAllocateWorkQueue(&queue);
    CHECK_MSG(hr == MF_E_SHUTDOWN, "%s: MFAllocateWorkQueue returned 0x%08x, expected MF_E_SHUTDOWN",
              what, (unsigned)hr);
    if (hr == S_OK)
        MFUnlockWorkQueue(queue);
}

/* Everything here runs before the first startup of the process. */
static void test_before_any_startup(void)
{
    IMFAsyncResult *result = NULL;
    IRtwqAsyncResult *rtwq_result = NULL;

    /* docs/behaviour.md#w4: MFShutdown when never started is S_OK and does nothing. */
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_HR(RtwqShutdown(), S_OK);
    check_not_started("4: after a shutdown that was never started");

    /* docs/behaviour.md#w8: MFLockPlatform alone does not start the platform. */
    CHECK_HR(MFLockPlatform(), S_OK);
    check_not_started("8: locked, never started");
    CHECK_HR(MFUnlockPlatform(), S_OK);

    /* docs/behaviour.md#w13 (and docs/behaviour.md#results on RtwqCreateAsyncResult): results can be
     * created before startup; released before startup they leave no lock
     * (checked below: the count after the first startup is 1). */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_HR(RtwqCreateAsyncResult(NULL, NULL, NULL, &rtwq_result), S_OK);
    if (result != NULL)
        CHECK_EQ(IMFAsyncResult_Release(result), 0);
    if (rtwq_result != NULL)
        CHECK_EQ(IRtwqAsyncResult_Release(rtwq_result), 0);

    /* docs/behaviour.md#w1: a bad version (garbage high word) is MF_E_BAD_STARTUP_VERSION and
     * does not start the platform. */
    CHECK_HR(MFStartup((ULONG)MAKELONG(MF_API_VERSION, 0xdead), MFSTARTUP_FULL),
             MF_E_BAD_STARTUP_VERSION);
    check_not_started("1: after a refused startup");
    /* A refused startup needs no shutdown; one is harmless (4). */
    CHECK_HR(MFShutdown(), S_OK);

    /* docs/behaviour.md#d2: low word 0x0070 with high word 1 or 2 only. */
    {
        static const ULONG bad[] = {
            0x00000070u, 0x00030070u, 0x00020071u, 0x00020000u, 0x00010000u,
            0x00000000u, 0xFFFFFFFFu, 0x00700002u,
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            HRESULT hr = MFStartup(bad[i], MFSTARTUP_FULL);
            CHECK_MSG(hr == MF_E_BAD_STARTUP_VERSION,
                      "D2: MFStartup(0x%08x) returned 0x%08x, expected MF_E_BAD_STARTUP_VERSION",
                      (unsigned)bad[i], (unsigned)hr);
            if (hr == S_OK)
                MFShutdown();
        }
        check_not_started("D2: after refused versions");
    }
}

/* docs/behaviour.md#w2, #w3, #w4, #w5, and the versions #d2 accepts. */
static void test_startup_counting(void)
{
    DWORD queue;

    /* docs/behaviour.md#w2: MFStartup(MF_VERSION, MFSTARTUP_FULL) is S_OK; right after a fresh
     * startup the lock count is exactly 1 (the results made before startup
     * left nothing, 13). */
    CHECK_U(MF_VERSION, 0x00020070u);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);

    /* docs/behaviour.md#w5: startups nest; the second adds no platform lock. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_LITE), S_OK);
    CHECK_LOCK_COUNT(1);
    /* Only the shutdown matching the first startup shuts down. */
    CHECK_HR(MFShutdown(), S_OK);
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);
    CHECK_HR(MFShutdown(), S_OK);

    /* docs/behaviour.md#w3: after MFShutdown, MFAllocateWorkQueue is MF_E_SHUTDOWN. */
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);

    /* docs/behaviour.md#w4: an extra MFShutdown is S_OK and does nothing. */
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);

    /* docs/behaviour.md#d2: the Vista version 0x00010070 and MFSTARTUP_NOSOCKET are accepted. */
    CHECK_HR(MFStartup(0x00010070u, MFSTARTUP_NOSOCKET), S_OK);
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);
    CHECK_HR(MFShutdown(), S_OK);
    check_not_started("D2: after the 0x00010070 startup's shutdown");
}

/* docs/behaviour.md#w6: MF and Rtwq share one startup counter and one lock counter. */
static void test_mf_rtwq_share_one_platform(void)
{
    DWORD queue;

    /* MFStartup, RtwqStartup, RtwqShutdown: still up, lock count 1. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_LOCK_COUNT(1);
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);
    /* A second RtwqShutdown, matching the MFStartup, shuts down. */
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqAllocateWorkQueue(RTWQ_STANDARD_WORKQUEUE, &queue), MF_E_SHUTDOWN);
    /* Then an extra MFShutdown is S_OK. */
    CHECK_HR(MFShutdown(), S_OK);

    /* RtwqStartup alone makes the MF functions usable, lock count 1. */
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);
    /* The lock counter is shared: an Rtwq unlock is seen by MF ... */
    CHECK_HR(RtwqUnlockPlatform(), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    /* ... and an MF lock by Rtwq. */
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK_HR(RtwqAllocateWorkQueue(RTWQ_STANDARD_WORKQUEUE, &queue), S_OK);
    CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);
    /* An MF startup nests inside the Rtwq one; MFShutdown undoes only it. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK(platform_usable());
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
}

/* docs/behaviour.md#w9 and #w10: the platform counts as shut down when the lock count is <= 0. */
static void test_platform_lock(void)
{
    DWORD queue;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);

    /* docs/behaviour.md#w9: one unlock after a startup counts as shutdown; a lock revives it. */
    CHECK_HR(MFUnlockPlatform(), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);

    /* docs/behaviour.md#w10: the count may go negative; lock and unlock always return S_OK. */
    CHECK_HR(MFUnlockPlatform(), S_OK); /* 0 */
    CHECK_HR(MFUnlockPlatform(), S_OK); /* -1 */
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqAllocateWorkQueue(RTWQ_MULTITHREADED_WORKQUEUE, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFLockPlatform(), S_OK);   /* 0: still shut down */
    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    CHECK_HR(MFLockPlatform(), S_OK);   /* 1 */
    CHECK(platform_usable());
    CHECK_LOCK_COUNT(1);

    CHECK_HR(MFShutdown(), S_OK);
}

/* docs/behaviour.md#w13: result objects lock the platform as a high-water mark. */
static void test_result_locks(void)
{
    IMFAsyncResult *first = NULL, *second = NULL, *third = NULL;
    tcb *cb;
    double started;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);

    /* Creating one result gives 2; a second gives 3. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &first), S_OK);
    CHECK_LOCK_COUNT(2);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &second), S_OK);
    CHECK_LOCK_COUNT(3);
    /* Releasing both leaves 3: the count does not drop while started. */
    CHECK_EQ(IMFAsyncResult_Release(first), 0);
    CHECK_EQ(IMFAsyncResult_Release(second), 0);
    CHECK_LOCK_COUNT(3);
    /* Another one reuses a cached object: still 3. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &third), S_OK);
    CHECK_LOCK_COUNT(3);
    CHECK_EQ(IMFAsyncResult_Release(third), 0);
    CHECK_LOCK_COUNT(3);

    /* Put with an internally created result reuses an object: still 3. */
    cb = tcb_create();
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 1));
    /* The internal result let go of the callback: the item is done. The
     * result returns to the cache just after it releases its callback (as
     * in Wine's order); a new result made in that instant would find the
     * cache empty, so give the worker a moment (33: "promptly"). */
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    sleep_ms(T(20));
    CHECK_LOCK_COUNT(3);
    CHECK_EQ(tcb_release(cb), 0);

    /* The final shutdown drops the cached results' locks and the startup
     * lock: the next startup counts 1. */
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);

    /* A result alive at shutdown keeps its lock; released while shut down,
     * the lock goes at once: after a new startup the count is 1. A live
     * result does not make shutdown wait (docs/behaviour.md#d1). */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &first), S_OK);
    CHECK_LOCK_COUNT(2);
    set_shutdown_timeout_ms(20000);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_MSG(now_ms() - started < 5000,
              "D1: a live result made MFShutdown wait %.0f ms", now_ms() - started);
    set_shutdown_timeout_ms(200);
    CHECK_EQ(IMFAsyncResult_Release(first), 0);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);

    /* Created, shutdown, startup: 2. Released after the restart it returns
     * to the cache: still 2. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &first), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(2);
    CHECK_EQ(IMFAsyncResult_Release(first), 0);
    CHECK_LOCK_COUNT(2);
    CHECK_HR(MFShutdown(), S_OK);
}

/* docs/behaviour.md#w14: scheduled items' internal results follow the same rule; #w37 on the way. */
static void test_scheduled_item_locks(void)
{
    MFWORKITEM_KEY key1 = 0, key2 = 0, key3 = 0;
    tcb *cb = tcb_create();

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -5000, &key1), S_OK);
    CHECK_LOCK_COUNT(2);
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -5000, &key2), S_OK);
    CHECK_LOCK_COUNT(3);
    CHECK_EQ(tcb_refs(cb), 3);
    /* Cancelling both does not lower the count (37: the callback is
     * released before MFCancelWorkItem returns). */
    CHECK_HR(MFCancelWorkItem(key1), S_OK);
    CHECK_HR(MFCancelWorkItem(key2), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_LOCK_COUNT(3);
    /* A third schedule reuses an object: still 3. */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -5000, &key3), S_OK);
    CHECK_LOCK_COUNT(3);
    CHECK_HR(MFCancelWorkItem(key3), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_LOCK_COUNT(3);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(tcb_release(cb), 0);
}

/* docs/behaviour.md#w12: interleaving MF and Rtwq calls; creating a result is a platform lock. */
static void test_interleaved_locks(void)
{
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);
    CHECK_HR(RtwqUnlockPlatform(), S_OK);
    CHECK_LOCK_COUNT(0);
    /* Creation still works at count 0 and raises it to 1. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_LOCK_COUNT(1);
    CHECK_HR(RtwqLockPlatform(), S_OK);
    CHECK_LOCK_COUNT(2);
    if (result != NULL)
        CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_LOCK_COUNT(2);
    CHECK_HR(MFShutdown(), S_OK);
}

/* docs/behaviour.md#w11: explicit locks survive shutdown and restart. */
static void test_explicit_locks_survive_shutdown(void)
{
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK_LOCK_COUNT(3);
    /* Held explicit locks make this shutdown wait (docs/behaviour.md#d1), 200 ms here. */
    CHECK_HR(MFShutdown(), S_OK);
    /* Unlocking after shutdown is S_OK. */
    CHECK_HR(MFUnlockPlatform(), S_OK);
    /* After restart: startup + the explicit lock still held. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(2);
    CHECK_HR(MFUnlockPlatform(), S_OK);
    CHECK_LOCK_COUNT(1);
    CHECK_HR(MFShutdown(), S_OK);
}

typedef struct delayed_unlock {
    int queue_lock;
    DWORD queue;
    double delay_ms;
} delayed_unlock;

static void *unlock_later(void *arg)
{
    delayed_unlock *job = arg;
    sleep_ms(job->delay_ms);
    if (job->queue_lock)
        CHECK_HR(MFUnlockWorkQueue(job->queue), S_OK);
    else
        CHECK_HR(MFUnlockPlatform(), S_OK);
    return NULL;
}

/* docs/behaviour.md#d1: the last MFShutdown waits, up to a timeout, while explicit platform
 * locks or MFLockWorkQueue locks are held. */
static void test_shutdown_waits_for_locks(void)
{
    double started, elapsed;
    DWORD queue = 0;
    delayed_unlock job;
    pthread_t thread;

    /* An explicit lock held through the whole timeout (200 ms). */
    set_shutdown_timeout_ms(200);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFLockPlatform(), S_OK);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    elapsed = now_ms() - started;
    CHECK_MSG(elapsed >= 150, "D1: shutdown with a platform lock held returned after %.0f ms, "
              "expected it to wait for the 200 ms timeout", elapsed);
    CHECK_MSG(elapsed < T(5000), "D1: shutdown waited %.0f ms with a 200 ms timeout", elapsed);
    check_not_started("D1: after the timed-out shutdown");
    CHECK_HR(MFUnlockPlatform(), S_OK);

    /* A queue lock (MFLockWorkQueue) held through the timeout. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFLockWorkQueue(queue), S_OK);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    elapsed = now_ms() - started;
    CHECK_MSG(elapsed >= 150, "D1: shutdown with a queue lock held returned after %.0f ms, "
              "expected it to wait for the 200 ms timeout", elapsed);
    check_not_started("D1: after the timed-out shutdown (queue lock)");

    /* With a long timeout, the wait ends when the lock is released. */
    set_shutdown_timeout_ms(20000);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFLockPlatform(), S_OK);
    job.queue_lock = 0;
    job.queue = 0;
    job.delay_ms = 300;
    thread = start_thread(unlock_later, &job);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    elapsed = now_ms() - started;
    join_thread(thread);
    CHECK_MSG(elapsed >= 200, "D1: shutdown returned after %.0f ms while a lock was held for 300 ms",
              elapsed);
    CHECK_MSG(elapsed < 10000, "D1: shutdown waited %.0f ms after the platform lock was released",
              elapsed);

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFLockWorkQueue(queue), S_OK);
    job.queue_lock = 1;
    job.queue = queue;
    job.delay_ms = 300;
    thread = start_thread(unlock_later, &job);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    elapsed = now_ms() - started;
    join_thread(thread);
    CHECK_MSG(elapsed >= 200, "D1: shutdown returned after %.0f ms while a queue lock was held for 300 ms",
              elapsed);
    CHECK_MSG(elapsed < 10000, "D1: shutdown waited %.0f ms after the queue lock was released",
              elapsed);

    /* Nothing held: no wait at all (well under the 20 s timeout). */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    elapsed = now_ms() - started;
    CHECK_MSG(elapsed < 5000, "D1: shutdown with no lock held took %.0f ms", elapsed);

    set_shutdown_timeout_ms(200);
}

int main(void)
{
    /* docs/behaviour.md#d1: shutdowns that wait for explicit locks wait 200 ms, not 5 s. */
    set_shutdown_timeout_ms(200);

    test_before_any_startup();
    test_startup_counting();
    test_mf_rtwq_share_one_platform();
    test_platform_lock();
    test_result_locks();
    test_scheduled_item_locks();
    test_interleaved_locks();
    test_explicit_locks_survive_shutdown();
    test_shutdown_waits_for_locks();

    check_not_started("end of program");
    return test_finish("lifecycle");
}
