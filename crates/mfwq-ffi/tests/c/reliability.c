/*
 * reliability.c - the reliability rules seen from C: every completion the
 * platform accepted reaches its callback exactly once, across unlock and
 * shutdown, and MFShutdown is bounded even when a callback does not return.
 * Each test is a fault an adversarial probe found (and that failed before
 * its fix). Class names kept as exact UTF-16 are tested in shared.c.
 */
#include "mfwq_test.h"

#include <stdint.h>
#include <unistd.h>

/* An MMCSS Begin that returned S_OK, then MFShutdown at once: the callback is
 * invoked exactly once every round, with the status the registration got
 * (S_OK if it ran before the platform stopped, MF_E_SHUTDOWN if not). */
static void test_mmcss_begin_then_shutdown(void)
{
    static const WCHAR audio[] = {'A', 'u', 'd', 'i', 'o', 0};
    int rounds = SCALED(20);

    for (int round = 0; round < rounds; round++) {
        tcb *cb = tcb_create();
        HRESULT status;
        CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
        CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, &cb->iface, NULL), S_OK);
        CHECK_HR(MFShutdown(), S_OK);
        CHECK_MSG(tcb_wait(cb, 1), "round %d: the completion never came", round);
        sleep_ms(5);
        CHECK_EQ(tcb_invokes(cb), 1);
        status = atomic_load(&cb->last_status);
        CHECK_MSG(status == S_OK || status == MF_E_SHUTDOWN, "round %d: status 0x%08x", round, (unsigned)status);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* A reply-mode serial queue over MULTITHREADED whose callback never replies:
 * put twice (the first runs and holds the queue), unlock the serial queue,
 * shut down. The second item still runs, and every reference comes back (the
 * leak checks of ci/c-abi.sh cover this program). */
static void test_unlocked_reply_mode_queue_at_shutdown(void)
{
    DWORD serial = 0;
    tcb *cb;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    cb = tcb_create_params(MFASYNC_REPLY_CALLBACK, serial);
    CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 1));
    sleep_ms(20);
    CHECK_EQ(tcb_invokes(cb), 1); /* waits for the reply */
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(tcb_invokes(cb), 2);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_refs(cb), 1);
    /* And after a restart nothing is left over. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tcb_release(cb), 0);
}

static atomic_int release_blocker;
static atomic_int blocker_returned;

static void blocking_hook(tcb *cb, IMFAsyncResult *result)
{
    double start = now_ms();
    (void)cb;
    (void)result;
    while (!atomic_load(&release_blocker) && now_ms() - start < 30000)
        sleep_ms(1);
    atomic_store(&blocker_returned, 1);
}

/* A STANDARD callback that blocks far past the shutdown timeout (100 ms):
 * MFShutdown returns within the timeout plus the grace (100 ms) plus slack;
 * the item queued behind the blocked one is invoked with MF_E_SHUTDOWN; a new
 * MFStartup works while the old thread still blocks. */
static void test_shutdown_bounded_by_a_blocked_callback(void)
{
    tcb *blocker = tcb_create();
    tcb *behind = tcb_create();
    tcb *later = tcb_create();
    double start, took;
    int saved_stderr;
    FILE *report;
    char text[4096], address[64];
    size_t length;

    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "100", 1);
    blocker->hook = blocking_hook;
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &blocker->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &behind->iface, NULL), S_OK);
    sleep_ms(20); /* the blocker is running */
    /* The report of the stuck thread goes to stderr (a C program has no
     * `tracing` subscriber): capture it in a file. */
    fflush(stderr);
    saved_stderr = dup(2);
    CHECK(saved_stderr >= 0);
    report = tmpfile();
    CHECK(report != NULL);
    CHECK(dup2(fileno(report), 2) == 2);
    start = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    took = now_ms() - start;
    fflush(stderr);
    CHECK(dup2(saved_stderr, 2) == 2);
    close(saved_stderr);
    CHECK_MSG(took < T(700), "MFShutdown took %.0f ms with a 100 ms timeout", took);
    rewind(report);
    length = fread(text, 1, sizeof text - 1, report);
    text[length] = 0;
    fclose(report);
    snprintf(address, sizeof address, "callback %#lx", (unsigned long)(uintptr_t)&blocker->iface);
    CHECK_MSG(strstr(text, "has not returned") != NULL, "no report on stderr: '%s'", text);
    CHECK_MSG(strstr(text, "thread mfwq-standard") != NULL, "report without the thread: '%s'", text);
    CHECK_MSG(strstr(text, address) != NULL, "report without '%s': '%s'", address, text);
    CHECK(tcb_wait(behind, 1));
    CHECK_HR(atomic_load(&behind->last_status), MF_E_SHUTDOWN);
    CHECK_EQ(atomic_load(&blocker_returned), 0);

    /* A new platform works while the old thread still blocks. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &later->iface, NULL), S_OK);
    CHECK(tcb_wait(later, 1));
    CHECK_HR(MFShutdown(), S_OK);

    atomic_store(&release_blocker, 1);
    WAIT_FOR(atomic_load(&blocker_returned) && tcb_invokes(blocker) == 1, LONG_WAIT);
    CHECK_EQ(tcb_invokes(blocker), 1);
    WAIT_REFS(tcb_refs(blocker), 1, LONG_WAIT);
    WAIT_REFS(tcb_refs(behind), 1, LONG_WAIT);
    WAIT_REFS(tcb_refs(later), 1, LONG_WAIT);
    CHECK_EQ(tcb_release(blocker), 0);
    CHECK_EQ(tcb_release(behind), 0);
    CHECK_EQ(tcb_release(later), 0);
    /* The detached thread exits by itself once its callback returned. */
    sleep_ms(50);
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    test_mmcss_begin_then_shutdown();
    test_unlocked_reply_mode_queue_at_shutdown();
    test_shutdown_bounded_by_a_blocked_callback();
    return test_finish("reliability");
}
