/*
 * bad_input.c - every exported function with bad input: before startup,
 * after shutdown, NULL pointers, unknown ids and keys, stale and garbage
 * event handles. Nothing may crash; each call returns the documented code
 * and keeps no reference.
 *
 * docs/behaviour.md#d34 (not started: MF_E_SHUTDOWN) and docs/behaviour.md#d35 (NULL out-pointer:
 * E_POINTER; NULL required input: E_INVALIDARG), docs/behaviour.md#w17 and #w51 (which
 * say E_POINTER for the NULL result out-pointer and the NULL shared-queue
 * class), docs/behaviour.md#d17 (event handles: FALSE / WAIT_FAILED with ERROR_INVALID_HANDLE;
 * MFPutWaitingWorkItem with a handle that is not an open event: E_HANDLE),
 * docs/behaviour.md#d23 (join may be E_NOTIMPL).
 */
#include "mfwq_test.h"

static const WCHAR audio[] = {'A', 'u', 'd', 'i', 'o', 0};
static const WCHAR empty[] = {0};

static atomic_int periodic_calls;
static void periodic_fn(IUnknown *context)
{
    (void)context;
    atomic_fetch_add(&periodic_calls, 1);
}
static void MFWQ_STDCALL rtwq_periodic_fn(IUnknown *context)
{
    (void)context;
    atomic_fetch_add(&periodic_calls, 1);
}

/* A do-nothing IRtwqPlatformEvents for the NULL checks. */
static HRESULT MFWQ_STDCALL events_QueryInterface(IRtwqPlatformEvents *This, REFIID riid, void **out)
{
    (void)riid;
    if (out == NULL)
        return E_POINTER;
    *out = This;
    return S_OK;
}
static ULONG MFWQ_STDCALL events_AddRef(IRtwqPlatformEvents *This) { (void)This; return 2; }
static ULONG MFWQ_STDCALL events_Release(IRtwqPlatformEvents *This) { (void)This; return 1; }
static HRESULT MFWQ_STDCALL events_Nothing(IRtwqPlatformEvents *This) { (void)This; return S_OK; }
static const IRtwqPlatformEventsVtbl events_vtbl = {
    events_QueryInterface, events_AddRef, events_Release, events_Nothing, events_Nothing, events_Nothing,
};

/* Every call that needs a started platform: MF_E_SHUTDOWN, nothing kept,
 * nothing invoked (docs/behaviour.md#d34). */
static void check_all_refuse_not_started(const char *phase)
{
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD queue = 0x1234, task = 0, length = 16, period = 0;
    LONG priority = 0;
    WCHAR buffer[16];
    MFWORKITEM_KEY key = 0x55;
    HANDLE request = NULL;
    HRESULT hr;

    printf("not started: %s\n", phase);
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK); /* works when stopped (13) */

    CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
    CHECK_HR(MFAllocateWorkQueueEx(MF_STANDARD_WORKQUEUE, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFAllocateWorkQueueEx(MF_MULTITHREADED_WORKQUEUE, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFLockSharedWorkQueue(empty, 0, NULL, &queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqAllocateWorkQueue(RTWQ_STANDARD_WORKQUEUE, &queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqLockSharedWorkQueue(audio, 0, &task, &queue), MF_E_SHUTDOWN);
    CHECK_U(queue, 0x1234);

    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWorkItem2(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 1, &cb->iface, NULL), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, result), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWorkItemEx2(MFASYNC_CALLBACK_QUEUE_STANDARD, -1, result), MF_E_SHUTDOWN);
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, (IRtwqAsyncResult *)result), MF_E_SHUTDOWN);
    CHECK_HR(MFInvokeCallback(result), MF_E_SHUTDOWN);
    CHECK_HR(RtwqInvokeCallback((IRtwqAsyncResult *)result), MF_E_SHUTDOWN);
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -10, &key), MF_E_SHUTDOWN);
    CHECK_HR(MFScheduleWorkItemEx(result, -10, &key), MF_E_SHUTDOWN);
    CHECK_HR(RtwqScheduleWorkItem((IRtwqAsyncResult *)result, -10, &key), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, &key), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWaitingWorkItem(NULL, 0, result, &key), MF_E_SHUTDOWN);
    CHECK_HR(RtwqPutWaitingWorkItem(event, 0, (IRtwqAsyncResult *)result, &key), MF_E_SHUTDOWN);
    CHECK_U(key, 0x55);
    CHECK_HR(MFCancelWorkItem(1), MF_E_SHUTDOWN);
    CHECK_HR(RtwqCancelWorkItem(1), MF_E_SHUTDOWN);
    CHECK_HR(MFAddPeriodicCallback(periodic_fn, NULL, &task), MF_E_SHUTDOWN);
    CHECK_HR(RtwqAddPeriodicCallback(rtwq_periodic_fn, NULL, &task), MF_E_SHUTDOWN);
    CHECK_HR(MFRemovePeriodicCallback(1), MF_E_SHUTDOWN);
    CHECK_HR(RtwqRemovePeriodicCallback(1), MF_E_SHUTDOWN);

    /* MMCSS, deadlines, the long-running hint. */
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, &cb->iface, NULL),
             MF_E_SHUTDOWN);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSSEx(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, 1, &cb->iface, NULL),
             MF_E_SHUTDOWN);
    CHECK_HR(RtwqBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, 0,
                                                 (IRtwqAsyncCallback *)&cb->iface, NULL),
             MF_E_SHUTDOWN);
    CHECK_HR(MFBeginUnregisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb->iface, NULL), MF_E_SHUTDOWN);
    CHECK_HR(RtwqBeginUnregisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, (IRtwqAsyncCallback *)&cb->iface,
                                                   NULL),
             MF_E_SHUTDOWN);
    CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, buffer, &length), MF_E_SHUTDOWN);
    CHECK_U(length, 16);
    CHECK_HR(RtwqGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, buffer, &length), MF_E_SHUTDOWN);
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, &task), MF_E_SHUTDOWN);
    CHECK_HR(RtwqGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, &task), MF_E_SHUTDOWN);
    CHECK_HR(MFGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, &priority), MF_E_SHUTDOWN);
    CHECK_HR(RtwqGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, &priority), MF_E_SHUTDOWN);
    task = 0;
    CHECK_HR(MFRegisterPlatformWithMMCSS(audio, &task, 0), MF_E_SHUTDOWN);
    CHECK_HR(RtwqRegisterPlatformWithMMCSS(audio, &task, 0), MF_E_SHUTDOWN);
    CHECK_HR(MFUnregisterPlatformFromMMCSS(), MF_E_SHUTDOWN);
    CHECK_HR(RtwqUnregisterPlatformFromMMCSS(), MF_E_SHUTDOWN);
    CHECK_HR(RtwqSetDeadline(MFASYNC_CALLBACK_QUEUE_STANDARD, 10000, &request), MF_E_SHUTDOWN);
    CHECK_HR(RtwqSetDeadline2(MFASYNC_CALLBACK_QUEUE_STANDARD, 10000, 5000, &request), MF_E_SHUTDOWN);
    CHECK_PTR(request, NULL);
    CHECK_HR(RtwqSetLongRunning(MFASYNC_CALLBACK_QUEUE_STANDARD, TRUE), MF_E_SHUTDOWN);

    /* Periodicity: a constant; either S_OK with 10 or MF_E_SHUTDOWN is fine. */
    hr = MFGetTimerPeriodicity(&period);
    CHECK_MSG(hr == MF_E_SHUTDOWN || (hr == S_OK && period == 10),
              "MFGetTimerPeriodicity when stopped: 0x%08x, %u", (unsigned)hr, (unsigned)period);

    /* docs/behaviour.md#d34: not running is reported before bad arguments are looked at. */
    CHECK_HR(MFAllocateWorkQueueEx((MFASYNC_WORKQUEUE_TYPE)99, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), MF_E_SHUTDOWN);
    CHECK_HR(MFPutWaitingWorkItem((HANDLE)(uintptr_t)0x7777770, 0, NULL, &key), MF_E_SHUTDOWN);
    CHECK_HR(MFLockSharedWorkQueue(empty, 0, &task, &queue), MF_E_SHUTDOWN);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, 0, NULL, NULL), MF_E_SHUTDOWN);
    CHECK_HR(MFRegisterPlatformWithMMCSS(NULL, &task, 0), MF_E_SHUTDOWN);
    CHECK_HR(RtwqSetDeadline(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, &request), MF_E_SHUTDOWN);
    CHECK_HR(RtwqCancelDeadline(NULL), MF_E_SHUTDOWN);

    /* Nothing was kept and nothing runs; the callback was not even asked for
     * its parameters (docs/behaviour.md#queue-selection step 1: fail before reading pCallback). */
    sleep_ms(30);
    CHECK_EQ(atomic_load(&cb->params_calls), 0);
    CHECK_EQ(tcb_invokes(cb), 0);
    CHECK_EQ(atomic_load(&periodic_calls), 0);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(tcb_refs(cb), 2);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(event));
}

/* docs/behaviour.md#d35 while started: NULL out-pointers E_POINTER, NULL required inputs
 * E_INVALIDARG; nothing kept. */
static void test_null_pointers(void)
{
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    HANDLE event = CreateEventA(NULL, FALSE, FALSE, NULL);
    IRtwqPlatformEvents events = {&events_vtbl};
    DWORD task = 0, length = 0;
    MFWORKITEM_KEY key = 0;
    WCHAR buffer[8];

    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);

    /* Results (docs/behaviour.md#w17, #d35). */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, NULL), E_POINTER);
    CHECK_HR(RtwqCreateAsyncResult(NULL, NULL, NULL, NULL), E_POINTER);

    /* Queue ids out. */
    CHECK_HR(MFAllocateWorkQueue(NULL), E_POINTER);
    CHECK_HR(MFAllocateWorkQueueEx(MF_WINDOW_WORKQUEUE, NULL), E_POINTER);
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, NULL), E_POINTER);
    CHECK_HR(RtwqAllocateWorkQueue(RTWQ_MULTITHREADED_WORKQUEUE, NULL), E_POINTER);
    CHECK_HR(RtwqAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_POINTER);
    CHECK_HR(MFLockSharedWorkQueue(empty, 0, NULL, NULL), E_POINTER);
    CHECK_HR(RtwqLockSharedWorkQueue(audio, 0, &task, NULL), E_POINTER);
    /* docs/behaviour.md#w51: the class. */
    CHECK_HR(MFLockSharedWorkQueue(NULL, 0, NULL, &task), E_POINTER);

    /* Required callbacks and results. */
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), E_INVALIDARG);
    CHECK_HR(MFPutWorkItem2(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, NULL, NULL), E_INVALIDARG);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_INVALIDARG);
    CHECK_HR(MFPutWorkItemEx2(MFASYNC_CALLBACK_QUEUE_STANDARD, 1, NULL), E_INVALIDARG);
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, 0, NULL), E_INVALIDARG);
    CHECK_HR(MFInvokeCallback(NULL), E_INVALIDARG);
    CHECK_HR(RtwqInvokeCallback(NULL), E_INVALIDARG);
    CHECK_HR(MFScheduleWorkItem(NULL, NULL, -10, &key), E_INVALIDARG);
    CHECK_HR(MFScheduleWorkItemEx(NULL, -10, &key), E_INVALIDARG);
    CHECK_HR(RtwqScheduleWorkItem(NULL, -10, &key), E_INVALIDARG);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, NULL, &key), E_INVALIDARG);
    CHECK_HR(RtwqPutWaitingWorkItem(event, 0, NULL, &key), E_INVALIDARG);
    CHECK_HR(MFAddPeriodicCallback(NULL, NULL, &task), E_INVALIDARG);
    CHECK_HR(RtwqAddPeriodicCallback(NULL, NULL, &task), E_INVALIDARG);
    CHECK_HR(MFGetTimerPeriodicity(NULL), E_POINTER);

    /* MMCSS: NULL class and NULL callback are required inputs
     * (E_INVALIDARG), NULL out-pointers E_POINTER. */
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, 0, &cb->iface, NULL),
             E_INVALIDARG);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSSEx(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, 0, 0, &cb->iface, NULL),
             E_INVALIDARG);
    CHECK_HR(RtwqBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, 0, 0,
                                                 (IRtwqAsyncCallback *)&cb->iface, NULL),
             E_INVALIDARG);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, NULL, NULL), E_INVALIDARG);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSSEx(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, 0, NULL, NULL),
             E_INVALIDARG);
    CHECK_HR(RtwqBeginRegisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, audio, 0, 0, NULL, NULL),
             E_INVALIDARG);
    CHECK_HR(MFBeginUnregisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), E_INVALIDARG);
    CHECK_HR(RtwqBeginUnregisterWorkQueueWithMMCSS(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), E_INVALIDARG);
    CHECK_HR(MFEndRegisterWorkQueueWithMMCSS(NULL, &task), E_INVALIDARG);
    CHECK_HR(RtwqEndRegisterWorkQueueWithMMCSS(NULL, &task), E_INVALIDARG);
    CHECK_HR(MFEndRegisterWorkQueueWithMMCSS(result, NULL), E_POINTER);
    CHECK_HR(MFEndUnregisterWorkQueueWithMMCSS(NULL), E_INVALIDARG);
    CHECK_HR(RtwqEndUnregisterWorkQueueWithMMCSS(NULL), E_INVALIDARG);
    CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, buffer, NULL), E_POINTER);
    CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), E_POINTER);
    CHECK_HR(RtwqGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL, NULL), E_POINTER);
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_POINTER);
    CHECK_HR(RtwqGetWorkQueueMMCSSTaskId(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_POINTER);
    CHECK_HR(MFGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_POINTER);
    CHECK_HR(RtwqGetWorkQueueMMCSSPriority(MFASYNC_CALLBACK_QUEUE_STANDARD, NULL), E_POINTER);
    CHECK_HR(MFRegisterPlatformWithMMCSS(NULL, &task, 0), E_INVALIDARG);
    CHECK_HR(RtwqRegisterPlatformWithMMCSS(NULL, &task, 0), E_INVALIDARG);
    CHECK_HR(MFRegisterPlatformWithMMCSS(audio, NULL, 0), E_POINTER);
    CHECK_HR(RtwqRegisterPlatformWithMMCSS(audio, NULL, 0), E_POINTER);
    (void)length;

    /* Deadlines and join: NULL out-pointers. */
    CHECK_HR(RtwqSetDeadline(MFASYNC_CALLBACK_QUEUE_STANDARD, 10000, NULL), E_POINTER);
    CHECK_HR(RtwqSetDeadline2(MFASYNC_CALLBACK_QUEUE_STANDARD, 10000, 5000, NULL), E_POINTER);
    {
        HRESULT hr = RtwqJoinWorkQueue(MFASYNC_CALLBACK_QUEUE_STANDARD, event, NULL);
        CHECK_MSG(hr == E_POINTER || hr == E_NOTIMPL, "RtwqJoinWorkQueue with a NULL cookie: 0x%08x", (unsigned)hr);
    }
    CHECK_HR(RtwqCancelDeadline(NULL), E_INVALIDARG);

    /* Platform events. */
    CHECK_HR(RtwqRegisterPlatformEvents(NULL), E_INVALIDARG);
    CHECK_HR(RtwqUnregisterPlatformEvents(NULL), E_INVALIDARG);
    (void)events;

    /* Optional pointers are fine (pKey, the state, the context). */
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, -1, NULL), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, result, NULL), S_OK);
    CHECK(SetEvent(event));
    CHECK(tcb_wait(cb, 2));

    sleep_ms(30);
    CHECK_EQ(tcb_invokes(cb), 2);
    CHECK_EQ(release_when_idle(result), 0);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK(CloseHandle(event));
}

/* Unknown ids, keys and values while started. */
static void test_unknown_values(void)
{
    tcb *cb = tcb_create();
    DWORD queue = 0x1234, task = 0;
    LONG priority = 0;
    HANDLE request = NULL;

    CHECK_HR(MFCancelWorkItem(0), MF_E_NOT_FOUND);
    CHECK_HR(RtwqCancelWorkItem(0x8000000000000001ull), MF_E_NOT_FOUND);
    CHECK_HR(MFRemovePeriodicCallback(0), MF_E_NOT_FOUND);
    CHECK_HR(MFUnlockWorkQueue(0xFFFF0001u), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFLockWorkQueue(0x12340000u), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFAllocateWorkQueueEx((MFASYNC_WORKQUEUE_TYPE)99, &queue), E_INVALIDARG);
    CHECK_HR(MFAllocateSerialWorkQueue(0x10000u, &queue), MF_E_INVALID_WORKQUEUE);
    CHECK_U(queue, 0x1234);
    CHECK_HR(MFPutWorkItem(0xABCD0001u, &cb->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFGetWorkQueueMMCSSTaskId(0x10000u, &task), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFGetWorkQueueMMCSSPriority(0x10000u, &priority), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqSetDeadline(0x10000u, 10000, &request), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqSetLongRunning(0x10000u, TRUE), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqCancelDeadline((HANDLE)(uintptr_t)0x7777), MF_E_NOT_FOUND);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tcb_release(cb), 0);
}

/* ---- docs/behaviour.md#d17: event handles ------------------------------- */

static void check_bad_handle(HANDLE handle, const char *name)
{
    DWORD info = 0;
    CHECK_MSG(!SetEvent(handle), "SetEvent(%s) succeeded", name);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_MSG(!ResetEvent(handle), "ResetEvent(%s) succeeded", name);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_U(WaitForSingleObject(handle, 0), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    /* Never a hang, even with INFINITE. */
    CHECK_U(WaitForSingleObject(handle, INFINITE), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_MSG(!GetHandleInformation(handle, &info), "GetHandleInformation(%s) succeeded", name);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_MSG(!CloseHandle(handle), "CloseHandle(%s) succeeded", name);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
}

static void *fresh_thread_last_error(void *arg)
{
    *(DWORD *)arg = GetLastError();
    return NULL;
}

static void test_bad_handles(void)
{
    HANDLE closed = CreateEventA(NULL, TRUE, TRUE, NULL);
    tcb *cb = tcb_create();
    IMFAsyncResult *result = NULL;
    MFWORKITEM_KEY key = 0x99;
    DWORD other_thread_error = 12345;
    pthread_t thread;

    CHECK(closed != NULL);
    CHECK(CloseHandle(closed));
    check_bad_handle(NULL, "NULL");
    check_bad_handle(INVALID_HANDLE_VALUE, "INVALID_HANDLE_VALUE");
    check_bad_handle(closed, "a closed handle");
    check_bad_handle((HANDLE)(uintptr_t)0x1234, "0x1234");
    check_bad_handle((HANDLE)(uintptr_t)0xFFFFFFFFFFFF0000ull, "0xFFFFFFFFFFFF0000");

    /* GetLastError is per thread: a new thread starts at 0. */
    thread = start_thread(fresh_thread_last_error, &other_thread_error);
    join_thread(thread);
    CHECK_U(other_thread_error, 0);
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);

    /* MFPutWaitingWorkItem with a handle that is not an open event: E_HANDLE,
     * nothing kept. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(MFPutWaitingWorkItem(closed, 0, result, &key), E_HANDLE);
    CHECK_HR(MFPutWaitingWorkItem(INVALID_HANDLE_VALUE, 0, result, &key), E_HANDLE);
    CHECK_HR(MFPutWaitingWorkItem((HANDLE)(uintptr_t)0x1234, 0, result, &key), E_HANDLE);
    CHECK_HR(RtwqPutWaitingWorkItem(closed, 0, (IRtwqAsyncResult *)result, &key), E_HANDLE);
    CHECK_U(key, 0x99);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(tcb_refs(cb), 2);
    sleep_ms(30);
    CHECK_EQ(tcb_invokes(cb), 0);

    /* A stored hEvent that was already closed: the final release of the
     * stock result does not crash (22 closes it only if open). */
    fields(result)->hEvent = closed;
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_release(cb), 0);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);

    check_all_refuse_not_started("before the first startup");

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    test_null_pointers();
    test_unknown_values();
    test_bad_handles();
    CHECK_HR(MFShutdown(), S_OK);

    check_all_refuse_not_started("after shutdown");

    /* Lock count at zero with a startup count > 0 (docs/behaviour.md#w9): allocation
     * is refused with MF_E_SHUTDOWN as well. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFUnlockPlatform(), S_OK);
    {
        DWORD queue = 0;
        CHECK_HR(MFAllocateWorkQueue(&queue), MF_E_SHUTDOWN);
        CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_STANDARD, &queue), MF_E_SHUTDOWN);
    }
    CHECK_HR(MFLockPlatform(), S_OK);
    CHECK_HR(MFShutdown(), S_OK);

    return test_finish("bad_input");
}
