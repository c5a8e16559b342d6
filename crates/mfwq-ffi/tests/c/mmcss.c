/*
 * mmcss.c - MMCSS registration through the C ABI: Begin/End register and
 * unregister, the getters, platform registration, the Rtwq twins.
 *
 * docs/behaviour.md#d19 (registration succeeds even without real-time rights; the
 * getters round-trip class, task id and priority; an unregistered queue has
 * class "", task id 0, priority 0) and docs/behaviour.md#d21 (a NULL or short buffer:
 * MF_E_BUFFERTOOSMALL with the needed size, NUL included). NULL pointers
 * and the not-started case are in bad_input.c.
 */
#include "mfwq_test.h"

static const WCHAR audio[] = {'A', 'u', 'd', 'i', 'o', 0};
static const WCHAR playback[] = {'P', 'l', 'a', 'y', 'b', 'a', 'c', 'k', 0};

static int wide_equal(const WCHAR *a, const WCHAR *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void check_class(DWORD queue, const WCHAR *expected, DWORD expected_len, const char *what)
{
    WCHAR buffer[32];
    DWORD length;

    /* docs/behaviour.md#d21: size query with a NULL buffer. */
    length = 0;
    CHECK_HR(MFGetWorkQueueMMCSSClass(queue, NULL, &length), MF_E_BUFFERTOOSMALL);
    CHECK_MSG(length == expected_len, "%s: needed length %u, expected %u", what, (unsigned)length,
              (unsigned)expected_len);
    /* A short buffer. */
    if (expected_len > 1) {
        length = expected_len - 1;
        CHECK_HR(MFGetWorkQueueMMCSSClass(queue, buffer, &length), MF_E_BUFFERTOOSMALL);
        CHECK_U(length, expected_len);
    }
    /* A big enough one. */
    memset(buffer, 0xAB, sizeof(buffer));
    length = 32;
    CHECK_HR(MFGetWorkQueueMMCSSClass(queue, buffer, &length), S_OK);
    CHECK_MSG(wide_equal(buffer, expected), "%s: the class read back differs", what);
    CHECK_U(length, expected_len);
    length = 32;
    CHECK_HR(RtwqGetWorkQueueMMCSSClass(queue, buffer, &length), S_OK);
    CHECK(wide_equal(buffer, expected));
}

typedef struct end_call {
    int unregister;
    atomic_int hr;
    atomic_uint task;
} end_call;

static void end_hook(tcb *cb, IMFAsyncResult *result)
{
    end_call *call = cb->ctx;
    DWORD task = 0xFFFFFFFF;
    if (call->unregister) {
        atomic_store(&call->hr, MFEndUnregisterWorkQueueWithMMCSS(result));
    } else {
        atomic_store(&call->hr, MFEndRegisterWorkQueueWithMMCSS(result, &task));
        atomic_store(&call->task, task);
    }
}

static void test_queue_registration(void)
{
    DWORD queue = 0, task = 0xFFFF;
    LONG priority = 99;
    end_call call;
    tcb *cb = tcb_create();
    tunk *state = tunk_create(8);

    cb->ctx = &call;
    cb->hook = end_hook;
    CHECK_HR(MFAllocateWorkQueueEx(MF_MULTITHREADED_WORKQUEUE, &queue), S_OK);

    /* docs/behaviour.md#d19: never registered. */
    check_class(queue, (const WCHAR *)u"", 1, "unregistered");
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
    CHECK_U(task, 0);
    CHECK_HR(MFGetWorkQueueMMCSSPriority(queue, &priority), S_OK);
    CHECK_EQ(priority, 0);

    /* Register: the done callback runs and End gives the task id. */
    call.unregister = 0;
    atomic_init(&call.hr, E_UNEXPECTED);
    atomic_init(&call.task, 0);
    cb->keep = 1;
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSSEx(queue, audio, 0, AVRT_PRIORITY_HIGH, &cb->iface, &state->iface),
             S_OK);
    CHECK(tcb_wait(cb, 1));
    CHECK_HR(atomic_load(&call.hr), S_OK);
    {
        IMFAsyncResult *kept = tcb_take_kept(cb);
        if (kept != NULL) {
            CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(kept), &state->iface);
            CHECK_EQ(release_when_idle(kept), 0);
        }
    }
    cb->keep = 0;
    /* docs/behaviour.md#d19: the getters round-trip. */
    check_class(queue, audio, 6, "registered Audio");
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
    CHECK_U(task, atomic_load(&call.task));
    CHECK_HR(RtwqGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
    CHECK_U(task, atomic_load(&call.task));
    CHECK_HR(MFGetWorkQueueMMCSSPriority(queue, &priority), S_OK);
    CHECK_EQ(priority, AVRT_PRIORITY_HIGH);
    /* The queue still works. */
    {
        tcb *work = tcb_create();
        CHECK_HR(MFPutWorkItem(queue, &work->iface, NULL), S_OK);
        CHECK(tcb_wait(work, 1));
        WAIT_REFS(tcb_refs(work), 1, 1000);
        CHECK_EQ(tcb_release(work), 0);
    }

    /* Unregister. */
    call.unregister = 1;
    atomic_store(&call.hr, E_UNEXPECTED);
    CHECK_HR(MFBeginUnregisterWorkQueueWithMMCSS(queue, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_HR(atomic_load(&call.hr), S_OK);
    check_class(queue, (const WCHAR *)u"", 1, "unregistered again");
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
    CHECK_U(task, 0);

    /* The Rtwq twins, and the Ex-less MF form (priority 0). */
    call.unregister = 0;
    atomic_store(&call.hr, E_UNEXPECTED);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(queue, playback, 0, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 3));
    CHECK_HR(atomic_load(&call.hr), S_OK);
    check_class(queue, playback, 9, "registered Playback");
    CHECK_HR(RtwqGetWorkQueueMMCSSPriority(queue, &priority), S_OK);
    CHECK_EQ(priority, 0);
    call.unregister = 1;
    atomic_store(&call.hr, E_UNEXPECTED);
    CHECK_HR(RtwqBeginUnregisterWorkQueueWithMMCSS(queue, (IRtwqAsyncCallback *)&cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 4));
    CHECK_HR(atomic_load(&call.hr), S_OK);

    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    WAIT_FOR(tunk_refs(state) == 1, 1000);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

static void test_platform_registration(void)
{
    DWORD task = 0, standard_task = 0xFFFF;

    CHECK_HR(MFRegisterPlatformWithMMCSS(audio, &task, AVRT_PRIORITY_NORMAL), S_OK);
    check_class(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 6, "STANDARD after MFRegisterPlatformWithMMCSS");
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, &standard_task), S_OK);
    CHECK_U(standard_task, task);
    {
        tcb *work = tcb_create();
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &work->iface, NULL), S_OK);
        CHECK(tcb_wait(work, 1));
        WAIT_REFS(tcb_refs(work), 1, 1000);
        CHECK_EQ(tcb_release(work), 0);
    }
    CHECK_HR(MFUnregisterPlatformFromMMCSS(), S_OK);
    check_class(MFASYNC_CALLBACK_QUEUE_STANDARD, (const WCHAR *)u"", 1, "STANDARD after unregistering");

    task = 0;
    CHECK_HR(RtwqRegisterPlatformWithMMCSS(playback, &task, AVRT_PRIORITY_LOW), S_OK);
    CHECK_HR(RtwqUnregisterPlatformFromMMCSS(), S_OK);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    test_queue_registration();
    test_platform_registration();
    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("mmcss");
}
