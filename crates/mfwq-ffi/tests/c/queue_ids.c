/*
 * queue_ids.c - undefined private ids. MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK
 * itself (0xFFFF0000) and 0xFFFE0000 (the private mask with a low word of
 * MFASYNC_CALLBACK_QUEUE_UNDEFINED) are accepted wherever a queue id goes, as
 * on Windows, and mean STANDARD like MFASYNC_CALLBACK_QUEUE_UNDEFINED
 * (docs/behaviour.md#undefined-private-ids): puts, callbacks naming them
 * (invoke, schedule and waiting items, MF and Rtwq), lock and unlock, serial
 * targets, the MMCSS getters, MMCSS registration (which registers STANDARD),
 * deadlines and the long-running hint. A private id that was never allocated
 * (0x10000, 0xFFFF0001) or is stale keeps failing with MF_E_INVALID_WORKQUEUE
 * at every one of those entries that takes the id itself. See docs/porting.md.
 */
#include "mfwq_test.h"
#include <rtworkq.h>

static const DWORD undefined_private[] = {MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK, 0xFFFE0000u, 0x80000000u};
#define N_UNDEFINED (sizeof(undefined_private) / sizeof(undefined_private[0]))

/* An MMCSS class that maps to a nice value, not a real-time policy: the
 * registrations below move STANDARD's thread, which the rest of the
 * program keeps using. */
static const WCHAR games[] = {'G', 'a', 'm', 'e', 's', 0};

/* The thread that runs STANDARD's items. */
static pthread_t standard_thread(void)
{
    tcb *probe = tcb_create();
    pthread_t thread;
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &probe->iface, NULL), S_OK);
    CHECK(tcb_wait(probe, 1));
    thread = probe->invoke_thread;
    WAIT_REFS(tcb_refs(probe), 1, 1000);
    CHECK_EQ(tcb_release(probe), 0);
    return thread;
}

/* Waits for the n-th invocation of cb and checks it ran on STANDARD's thread. */
static void check_ran_on_standard(tcb *cb, int n, pthread_t standard, const char *what, DWORD queue)
{
    CHECK_MSG(tcb_wait(cb, n), "%s on 0x%08x: not invoked", what, (unsigned)queue);
    CHECK_MSG(pthread_equal(cb->invoke_thread, standard), "%s on 0x%08x: not on STANDARD's thread", what,
              (unsigned)queue);
}

static void test_puts(pthread_t standard)
{
    for (size_t i = 0; i < N_UNDEFINED; i++) {
        DWORD queue = undefined_private[i];
        tcb *cb = tcb_create();
        IMFAsyncResult *result = NULL;
        IRtwqAsyncResult *rtwq = NULL;

        CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
        check_ran_on_standard(cb, 1, standard, "MFPutWorkItem", queue);
        CHECK_HR(MFPutWorkItem2(queue, 1, &cb->iface, NULL), S_OK);
        check_ran_on_standard(cb, 2, standard, "MFPutWorkItem2", queue);
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        CHECK_HR(MFPutWorkItemEx(queue, result), S_OK);
        check_ran_on_standard(cb, 3, standard, "MFPutWorkItemEx", queue);
        CHECK_HR(MFPutWorkItemEx2(queue, -1, result), S_OK);
        check_ran_on_standard(cb, 4, standard, "MFPutWorkItemEx2", queue);
        CHECK_EQ(release_when_idle(result), 0);
        /* RTWQ: the same callback object serves as an IRtwqAsyncCallback. */
        CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, &rtwq), S_OK);
        CHECK_HR(RtwqPutWorkItem(queue, 0, rtwq), S_OK);
        check_ran_on_standard(cb, 5, standard, "RtwqPutWorkItem", queue);
        CHECK_EQ(release_when_idle((IMFAsyncResult *)rtwq), 0);
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

static void test_callbacks_naming_them(pthread_t standard)
{
    for (size_t i = 0; i < N_UNDEFINED; i++) {
        DWORD queue = undefined_private[i];
        /* GetParameters names the undefined private id. */
        tcb *cb = tcb_create_params(0, queue);
        IMFAsyncResult *result = NULL;
        MFWORKITEM_KEY key = 0;
        HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);

        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        CHECK_HR(MFInvokeCallback(result), S_OK);
        check_ran_on_standard(cb, 1, standard, "MFInvokeCallback", queue);
        CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -1, &key), S_OK);
        check_ran_on_standard(cb, 2, standard, "MFScheduleWorkItem", queue);
        CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), S_OK);
        CHECK(SetEvent(event));
        check_ran_on_standard(cb, 3, standard, "MFPutWaitingWorkItem", queue);
        CHECK_EQ(release_when_idle(result), 0);
        /* The Rtwq twins, with a result the caller made. */
        {
            IRtwqAsyncResult *rtwq = NULL;
            RTWQWORKITEM_KEY rtwq_key = 0;
            CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, &rtwq), S_OK);
            CHECK_HR(RtwqInvokeCallback(rtwq), S_OK);
            check_ran_on_standard(cb, 4, standard, "RtwqInvokeCallback", queue);
            CHECK_HR(RtwqScheduleWorkItem(rtwq, -1, &rtwq_key), S_OK);
            check_ran_on_standard(cb, 5, standard, "RtwqScheduleWorkItem", queue);
            CHECK_HR(RtwqPutWaitingWorkItem(event, 0, rtwq, &rtwq_key), S_OK);
            CHECK(SetEvent(event));
            check_ran_on_standard(cb, 6, standard, "RtwqPutWaitingWorkItem", queue);
            CHECK_EQ(release_when_idle((IMFAsyncResult *)rtwq), 0);
        }
        CHECK(CloseHandle(event));
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

static void test_serial_lock_and_getters(pthread_t standard)
{
    for (size_t i = 0; i < N_UNDEFINED; i++) {
        DWORD queue = undefined_private[i];
        DWORD serial = 0, task = 99, standard_task = 98, length = 64, standard_length = 64;
        LONG priority = 99, standard_priority = 98;
        WCHAR class_name[64], standard_class[64];
        HANDLE request = NULL, request2 = NULL;
        tcb *cb = tcb_create();

        /* Lock and unlock: accepted with no effect, as for any id that is not private. */
        CHECK_HR(MFLockWorkQueue(queue), S_OK);
        CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
        CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
        CHECK_HR(RtwqLockWorkQueue(queue), S_OK);
        CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);
        CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);

        /* A serial queue over it runs on STANDARD's thread. */
        CHECK_HR(MFAllocateSerialWorkQueue(queue, &serial), S_OK);
        CHECK(serial & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK);
        CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
        check_ran_on_standard(cb, 1, standard, "a serial queue over", queue);
        CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
        serial = 0;
        CHECK_HR(RtwqAllocateSerialWorkQueue(queue, &serial), S_OK);
        CHECK(serial & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK);
        CHECK_HR(MFPutWorkItem(serial, &cb->iface, NULL), S_OK);
        check_ran_on_standard(cb, 2, standard, "an Rtwq serial queue over", queue);
        CHECK_HR(RtwqUnlockWorkQueue(serial), S_OK);

        /* The MMCSS getters answer what they answer for STANDARD. */
        CHECK_HR(MFGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
        CHECK_HR(MFGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, &standard_task), S_OK);
        CHECK_U(task, standard_task);
        CHECK_HR(MFGetWorkQueueMMCSSClass(queue, class_name, &length), S_OK);
        CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, standard_class, &standard_length),
                 S_OK);
        CHECK_U(length, standard_length);
        CHECK(memcmp(class_name, standard_class, standard_length * sizeof(WCHAR)) == 0);
        CHECK_HR(MFGetWorkQueueMMCSSPriority(queue, &priority), S_OK);
        CHECK_HR(MFGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, &standard_priority), S_OK);
        CHECK_EQ(priority, standard_priority);
        task = 99;
        CHECK_HR(RtwqGetWorkQueueMMCSSTaskId(queue, &task), S_OK);
        CHECK_U(task, standard_task);
        length = 64;
        CHECK_HR(RtwqGetWorkQueueMMCSSClass(queue, class_name, &length), S_OK);
        CHECK_U(length, standard_length);
        CHECK(memcmp(class_name, standard_class, standard_length * sizeof(WCHAR)) == 0);
        priority = 99;
        CHECK_HR(RtwqGetWorkQueueMMCSSPriority(queue, &priority), S_OK);
        CHECK_EQ(priority, standard_priority);

        /* Deadlines and the long-running hint: taken, for STANDARD (where the
         * hint is only recorded: STANDARD runs one item at a time). */
        CHECK_HR(RtwqSetDeadline(queue, 100000, &request), S_OK);
        CHECK(request != NULL);
        CHECK_HR(RtwqSetDeadline2(queue, 100000, 50000, &request2), S_OK);
        CHECK(request2 != NULL && request2 != request);
        CHECK_HR(RtwqCancelDeadline(request2), S_OK);
        CHECK_HR(RtwqCancelDeadline(request), S_OK);
        CHECK_HR(RtwqSetLongRunning(queue, TRUE), S_OK);
        CHECK_HR(RtwqSetLongRunning(queue, FALSE), S_OK);

        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
}

/* The register/unregister done callback: Ends the operation it was given. */
typedef struct end_call {
    int unregister;
    atomic_int hr;
} end_call;

static void end_hook(tcb *cb, IMFAsyncResult *result)
{
    end_call *call = cb->ctx;
    DWORD task = 0;
    atomic_store(&call->hr, call->unregister ? MFEndUnregisterWorkQueueWithMMCSS(result)
                                             : MFEndRegisterWorkQueueWithMMCSS(result, &task));
}

/* STANDARD's MMCSS class, as a short narrow string ("" if none). */
static void standard_class(char *out, size_t size)
{
    WCHAR wide[32];
    DWORD length = 32;
    size_t i = 0;
    CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, wide, &length), S_OK);
    for (; i + 1 < size && i < 31 && wide[i] != 0; i++)
        out[i] = (char)wide[i];
    out[i] = 0;
}

enum register_call { MF_REGISTER, MF_REGISTER_EX, RTWQ_REGISTER };

/* Registering an undefined private id registers STANDARD (its meaning), and
 * unregistering it unregisters STANDARD; each through MF, MF's Ex form and
 * Rtwq. */
static void test_mmcss_registration(void)
{
    for (size_t i = 0; i < N_UNDEFINED; i++) {
        for (int how = MF_REGISTER; how <= RTWQ_REGISTER; how++) {
            DWORD queue = undefined_private[i];
            end_call call;
            tcb *cb = tcb_create();
            char name[32];
            LONG priority = 99;
            HRESULT hr = E_FAIL;

            cb->ctx = &call;
            cb->hook = end_hook;
            call.unregister = 0;
            atomic_init(&call.hr, E_UNEXPECTED);
            switch (how) {
            case MF_REGISTER:
                hr = MFBeginRegisterWorkQueueWithMMCSS(queue, games, 0, &cb->iface, NULL);
                break;
            case MF_REGISTER_EX:
                hr = MFBeginRegisterWorkQueueWithMMCSSEx(queue, games, 0, AVRT_PRIORITY_HIGH, &cb->iface, NULL);
                break;
            default:
                hr = RtwqBeginRegisterWorkQueueWithMMCSS(queue, games, 0, AVRT_PRIORITY_LOW,
                                                         (IRtwqAsyncCallback *)&cb->iface, NULL);
                break;
            }
            CHECK_MSG(hr == S_OK, "register 0x%08x (call %d): 0x%08x", (unsigned)queue, how, (unsigned)hr);
            CHECK(tcb_wait(cb, 1));
            CHECK_HR(atomic_load(&call.hr), S_OK);
            standard_class(name, sizeof(name));
            CHECK_MSG(strcmp(name, "Games") == 0, "register 0x%08x (call %d): STANDARD's class is \"%s\"",
                      (unsigned)queue, how, name);
            CHECK_HR(MFGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, &priority), S_OK);
            CHECK_EQ(priority, how == MF_REGISTER_EX ? AVRT_PRIORITY_HIGH
                               : how == RTWQ_REGISTER ? AVRT_PRIORITY_LOW
                                                      : AVRT_PRIORITY_NORMAL);

            call.unregister = 1;
            atomic_store(&call.hr, E_UNEXPECTED);
            if (how == RTWQ_REGISTER)
                hr = RtwqBeginUnregisterWorkQueueWithMMCSS(queue, (IRtwqAsyncCallback *)&cb->iface, NULL);
            else
                hr = MFBeginUnregisterWorkQueueWithMMCSS(queue, &cb->iface, NULL);
            CHECK_MSG(hr == S_OK, "unregister 0x%08x (call %d): 0x%08x", (unsigned)queue, how, (unsigned)hr);
            CHECK(tcb_wait(cb, 2));
            CHECK_HR(atomic_load(&call.hr), S_OK);
            standard_class(name, sizeof(name));
            CHECK_MSG(name[0] == 0, "unregister 0x%08x (call %d): STANDARD's class is \"%s\"", (unsigned)queue,
                      how, name);

            WAIT_REFS(tcb_refs(cb), 1, 1000);
            CHECK_EQ(tcb_release(cb), 0);
        }
    }
}

static void test_invalid_private_ids_still_fail(void)
{
    DWORD stale = 0, serial = 0, task = 0, length = 0;
    LONG priority = 0;
    HANDLE request = NULL;
    DWORD ids[3] = {0x10000u, 0xFFFF0001u, 0};

    CHECK_HR(MFAllocateWorkQueue(&stale), S_OK);
    CHECK_HR(MFUnlockWorkQueue(stale), S_OK);
    ids[2] = stale;
    for (size_t i = 0; i < 3; i++) {
        DWORD queue = ids[i];
        tcb *cb = tcb_create();
        tcb *naming = tcb_create_params(0, queue);
        IMFAsyncResult *result = NULL;
        IMFAsyncResult *naming_result = NULL;

        CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFPutWorkItem2(queue, 0, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
        CHECK_HR(MFPutWorkItemEx(queue, result), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqPutWorkItem(queue, 0, (IRtwqAsyncResult *)result), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFLockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFUnlockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFAllocateSerialWorkQueue(queue, &serial), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqLockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqUnlockWorkQueue(queue), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqAllocateSerialWorkQueue(queue, &serial), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFGetWorkQueueMMCSSTaskId(queue, &task), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFGetWorkQueueMMCSSClass(queue, NULL, &length), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFGetWorkQueueMMCSSPriority(queue, &priority), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqGetWorkQueueMMCSSTaskId(queue, &task), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqGetWorkQueueMMCSSClass(queue, NULL, &length), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqGetWorkQueueMMCSSPriority(queue, &priority), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(queue, games, 0, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFBeginRegisterWorkQueueWithMMCSSEx(queue, games, 0, 0, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqBeginRegisterWorkQueueWithMMCSS(queue, games, 0, 0, (IRtwqAsyncCallback *)&cb->iface, NULL),
                 MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFBeginUnregisterWorkQueueWithMMCSS(queue, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqBeginUnregisterWorkQueueWithMMCSS(queue, (IRtwqAsyncCallback *)&cb->iface, NULL),
                 MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqSetDeadline(queue, 100000, &request), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqSetDeadline2(queue, 100000, 50000, &request), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(RtwqSetLongRunning(queue, TRUE), MF_E_INVALID_WORKQUEUE);
        CHECK_HR(MFCreateAsyncResult(NULL, &naming->iface, NULL, &naming_result), S_OK);
        CHECK_HR(MFInvokeCallback(naming_result), MF_E_INVALID_WORKQUEUE);
        sleep_ms(20);
        CHECK_EQ(tcb_invokes(cb), 0);
        CHECK_EQ(tcb_invokes(naming), 0);
        CHECK_EQ(IMFAsyncResult_Release(result), 0);
        CHECK_EQ(IMFAsyncResult_Release(naming_result), 0);
        CHECK_EQ(tcb_release(cb), 0);
        CHECK_EQ(tcb_release(naming), 0);
    }
}

int main(void)
{
    pthread_t standard;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    standard = standard_thread();
    test_puts(standard);
    test_callbacks_naming_them(standard);
    test_serial_lock_and_getters(standard);
    test_mmcss_registration();
    test_invalid_private_ids_still_fail();
    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("queue_ids");
}
