/*
 * rtwq.c - the RTWorkQ twins through their own C interfaces
 * (IRtwqAsyncCallback, IRtwqAsyncResult, IRtwqPlatformEvents):
 * RtwqStartup/Shutdown, platform events, RtwqPutWorkItem,
 * RtwqInvokeCallback, RtwqScheduleWorkItem, RtwqPutWaitingWorkItem,
 * RtwqCancelWorkItem, RtwqAddPeriodicCallback, RtwqAllocateWorkQueue,
 * RtwqAllocateSerialWorkQueue, RtwqLockSharedWorkQueue, locks, deadlines,
 * the long-running hint and join.
 *
 * docs/behaviour.md#w6 (MF and Rtwq share one platform), #w30, #w37 to #w40;
 * #d12 (one core and id space), #d22 to #d25; the interfaces of
 * docs/behaviour.md#layout.
 */
#include "mfwq_test.h"

/* The RTWQ_E_* codes equal the MF_E_* codes. */
_Static_assert(RTWQ_E_SHUTDOWN == MF_E_SHUTDOWN, "RTWQ_E_SHUTDOWN");
_Static_assert(RTWQ_E_NOT_FOUND == MF_E_NOT_FOUND, "RTWQ_E_NOT_FOUND");
_Static_assert(RTWQ_E_INVALID_WORKQUEUE == MF_E_INVALID_WORKQUEUE, "RTWQ_E_INVALID_WORKQUEUE");
_Static_assert(RTWQ_E_OPERATION_CANCELLED == MF_E_OPERATION_CANCELLED, "RTWQ_E_OPERATION_CANCELLED");

/* ---- an IRtwqAsyncCallback ---------------------------------------------- */

typedef struct rcb {
    IRtwqAsyncCallback iface;
    atomic_long refs;
    HRESULT params_hr;
    DWORD queue;
    atomic_int invokes;
    _Atomic(IRtwqAsyncResult *) last;
    atomic_int last_status;
    _Atomic(IUnknown *) last_state;
} rcb;

static rcb *rcb_from(IRtwqAsyncCallback *iface) { return (rcb *)iface; }

static HRESULT MFWQ_STDCALL rcb_QueryInterface(IRtwqAsyncCallback *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IRtwqAsyncCallback)) {
        *out = iface;
        IRtwqAsyncCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
static ULONG MFWQ_STDCALL rcb_AddRef(IRtwqAsyncCallback *iface)
{
    return (ULONG)(atomic_fetch_add(&rcb_from(iface)->refs, 1) + 1);
}
static ULONG MFWQ_STDCALL rcb_Release(IRtwqAsyncCallback *iface)
{
    long refs = atomic_fetch_sub(&rcb_from(iface)->refs, 1) - 1;
    if (refs == 0) {
        free(rcb_from(iface));
        t_live_dec();
    }
    CHECK(refs >= 0);
    return (ULONG)refs;
}
static HRESULT MFWQ_STDCALL rcb_GetParameters(IRtwqAsyncCallback *iface, DWORD *flags, DWORD *queue)
{
    rcb *cb = rcb_from(iface);
    CHECK(flags != NULL && queue != NULL); /* docs/behaviour.md#w31 */
    if (cb->params_hr == S_OK && flags != NULL && queue != NULL) {
        *flags = 0;
        *queue = cb->queue;
    }
    return cb->params_hr;
}
static HRESULT MFWQ_STDCALL rcb_Invoke(IRtwqAsyncCallback *iface, IRtwqAsyncResult *result)
{
    rcb *cb = rcb_from(iface);
    atomic_store(&cb->last, result);
    atomic_store(&cb->last_status, IRtwqAsyncResult_GetStatus(result));
    atomic_store(&cb->last_state, IRtwqAsyncResult_GetStateNoAddRef(result));
    atomic_fetch_add(&cb->invokes, 1);
    return S_OK;
}
static const IRtwqAsyncCallbackVtbl rcb_vtbl = {
    rcb_QueryInterface, rcb_AddRef, rcb_Release, rcb_GetParameters, rcb_Invoke,
};

static rcb *rcb_create(DWORD queue)
{
    rcb *cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        abort();
    cb->iface.lpVtbl = &rcb_vtbl;
    atomic_init(&cb->refs, 1);
    cb->params_hr = queue ? S_OK : E_NOTIMPL;
    cb->queue = queue;
    t_live_inc();
    return cb;
}

static int rcb_wait(rcb *cb, int n)
{
    WAIT_FOR(atomic_load(&cb->invokes) >= n, LONG_WAIT);
    return atomic_load(&cb->invokes) >= n;
}

static ULONG rresult_refs(IRtwqAsyncResult *result)
{
    ULONG refs = IRtwqAsyncResult_AddRef(result);
    IRtwqAsyncResult_Release(result);
    return refs - 1;
}

static ULONG rrelease_when_idle(IRtwqAsyncResult *result)
{
    WAIT_FOR(rresult_refs(result) == 1, 1000);
    return IRtwqAsyncResult_Release(result);
}

/* ---- an IRtwqPlatformEvents ---------------------------------------------- */

typedef struct pevents {
    IRtwqPlatformEvents iface;
    atomic_long refs;
    atomic_int init, start, complete;
    atomic_int sequence;
    int init_at, start_at, complete_at;
    pthread_t init_thread, start_thread, complete_thread;
    int usable_in_init, usable_in_complete;
} pevents;

static pevents *pe_from(IRtwqPlatformEvents *iface) { return (pevents *)iface; }

static HRESULT MFWQ_STDCALL pe_QueryInterface(IRtwqPlatformEvents *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IRtwqPlatformEvents)) {
        *out = iface;
        IRtwqPlatformEvents_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
static ULONG MFWQ_STDCALL pe_AddRef(IRtwqPlatformEvents *iface)
{
    return (ULONG)(atomic_fetch_add(&pe_from(iface)->refs, 1) + 1);
}
static ULONG MFWQ_STDCALL pe_Release(IRtwqPlatformEvents *iface)
{
    long refs = atomic_fetch_sub(&pe_from(iface)->refs, 1) - 1;
    if (refs == 0) {
        free(pe_from(iface));
        t_live_dec();
    }
    return (ULONG)refs;
}
static HRESULT MFWQ_STDCALL pe_InitializationComplete(IRtwqPlatformEvents *iface)
{
    pevents *e = pe_from(iface);
    e->init_at = atomic_fetch_add(&e->sequence, 1);
    e->init_thread = pthread_self();
    /* "called after the platform has been initialized" */
    e->usable_in_init = platform_usable();
    atomic_fetch_add(&e->init, 1);
    return S_OK;
}
static HRESULT MFWQ_STDCALL pe_ShutdownStart(IRtwqPlatformEvents *iface)
{
    pevents *e = pe_from(iface);
    e->start_at = atomic_fetch_add(&e->sequence, 1);
    e->start_thread = pthread_self();
    atomic_fetch_add(&e->start, 1);
    return S_OK;
}
static HRESULT MFWQ_STDCALL pe_ShutdownComplete(IRtwqPlatformEvents *iface)
{
    pevents *e = pe_from(iface);
    e->complete_at = atomic_fetch_add(&e->sequence, 1);
    e->complete_thread = pthread_self();
    /* "called after the platform has shut down" */
    e->usable_in_complete = platform_usable();
    atomic_fetch_add(&e->complete, 1);
    return E_FAIL; /* return values are ignored (docs/behaviour.md#d25) */
}
static const IRtwqPlatformEventsVtbl pe_vtbl = {
    pe_QueryInterface, pe_AddRef, pe_Release, pe_InitializationComplete, pe_ShutdownStart, pe_ShutdownComplete,
};

static pevents *pe_create(void)
{
    pevents *e = calloc(1, sizeof(*e));
    if (e == NULL)
        abort();
    e->iface.lpVtbl = &pe_vtbl;
    atomic_init(&e->refs, 1);
    e->usable_in_init = -1;
    e->usable_in_complete = -1;
    t_live_inc();
    return e;
}

/* docs/behaviour.md#d25: InitializationComplete / ShutdownStart / ShutdownComplete once each
 * around the first startup / last shutdown, on the calling thread. */
static void test_platform_events(void)
{
    pevents *events = pe_create(), *second = pe_create();
    pthread_t self = pthread_self();

    CHECK_HR(RtwqRegisterPlatformEvents(&events->iface), S_OK);
    CHECK_HR(RtwqRegisterPlatformEvents(&second->iface), S_OK);
    CHECK(atomic_load(&events->refs) >= 2); /* held while registered */

    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_EQ(atomic_load(&events->init), 1);
    CHECK_EQ(atomic_load(&events->start), 0);
    CHECK_EQ(atomic_load(&events->complete), 0);
    CHECK(pthread_equal(events->init_thread, self));
    CHECK_EQ(events->usable_in_init, 1);
    CHECK_EQ(atomic_load(&second->init), 1);

    /* Nested startups and shutdowns (MF and Rtwq share the count): nothing. */
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_EQ(atomic_load(&events->init), 1);
    CHECK_EQ(atomic_load(&events->start), 0);
    CHECK_EQ(atomic_load(&events->complete), 0);

    /* The last shutdown: start, then complete. */
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_EQ(atomic_load(&events->start), 1);
    CHECK_EQ(atomic_load(&events->complete), 1);
    CHECK(events->init_at < events->start_at && events->start_at < events->complete_at);
    CHECK(pthread_equal(events->start_thread, self));
    CHECK(pthread_equal(events->complete_thread, self));
    CHECK_EQ(events->usable_in_complete, 0);
    CHECK_EQ(atomic_load(&second->start), 1);
    CHECK_EQ(atomic_load(&second->complete), 1);

    /* MFStartup is the same platform: the same events. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_EQ(atomic_load(&events->init), 2);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(atomic_load(&events->start), 2);
    CHECK_EQ(atomic_load(&events->complete), 2);
    /* An extra shutdown notifies nobody. */
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_EQ(atomic_load(&events->start), 2);

    /* Unregister with the same pointer: no more calls, reference released. */
    CHECK_HR(RtwqUnregisterPlatformEvents(&events->iface), S_OK);
    WAIT_FOR(atomic_load(&events->refs) == 1, 500);
    CHECK_EQ(atomic_load(&events->refs), 1);
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_EQ(atomic_load(&events->init), 2);
    CHECK_EQ(atomic_load(&events->complete), 2);
    CHECK_EQ(atomic_load(&second->init), 3);
    CHECK_EQ(atomic_load(&second->complete), 3);
    CHECK_HR(RtwqUnregisterPlatformEvents(&second->iface), S_OK);
    WAIT_FOR(atomic_load(&second->refs) == 1, 500);
    CHECK_EQ(IRtwqPlatformEvents_Release(&events->iface), 0);
    CHECK_EQ(IRtwqPlatformEvents_Release(&second->iface), 0);
}

/* ---- work items ----------------------------------------------------------- */

static void test_put_and_invoke(void)
{
    rcb *cb = rcb_create(0);
    tunk *state = tunk_create(3);
    IRtwqAsyncResult *result = NULL;
    static const DWORD queues[] = {0, MFASYNC_CALLBACK_QUEUE_STANDARD, MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 0x4000,
                                   0xFFFF};
    int n = 0;

    CHECK_HR(RtwqCreateAsyncResult(NULL, &cb->iface, &state->iface, &result), S_OK);
    CHECK_PTR(((RTWQASYNCRESULT *)result)->pCallback, &cb->iface);
    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        CHECK_HR(RtwqPutWorkItem(queues[i], (LONG)i % 3 - 1, result), S_OK);
        CHECK(rcb_wait(cb, ++n));
        /* docs/behaviour.md#w30: the very result put. */
        CHECK_PTR(atomic_load(&cb->last), result);
        CHECK_PTR(atomic_load(&cb->last_state), &state->iface);
    }
    CHECK_HR(RtwqPutWorkItem(0x10000u, 0, result), RTWQ_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqInvokeCallback(result), S_OK);
    CHECK(rcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last), result);
    /* Status round trip through the Rtwq interface. */
    CHECK_HR(IRtwqAsyncResult_SetStatus(result, E_ABORT), S_OK);
    CHECK_HR(RtwqInvokeCallback(result), S_OK);
    CHECK(rcb_wait(cb, ++n));
    CHECK_HR(atomic_load(&cb->last_status), E_ABORT);
    CHECK_EQ(rrelease_when_idle(result), 0);

    /* The families mix: an Rtwq callback through MFPutWorkItem ... */
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, (IMFAsyncCallback *)&cb->iface, &state->iface), S_OK);
    CHECK(rcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last_state), &state->iface);
    /* ... and an MF callback in an Rtwq result. */
    {
        tcb *mf = tcb_create();
        CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&mf->iface, NULL, &result), S_OK);
        CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 0, result), S_OK);
        CHECK(tcb_wait(mf, 1));
        CHECK_PTR(atomic_load(&mf->last_result), result);
        CHECK_EQ(rrelease_when_idle(result), 0);
        WAIT_REFS(tcb_refs(mf), 1, 1000);
        CHECK_EQ(tcb_release(mf), 0);
    }

    WAIT_REFS(atomic_load(&cb->refs), 1, 1000);
    CHECK_EQ(IRtwqAsyncCallback_Release(&cb->iface), 0);
    WAIT_FOR(tunk_refs(state) == 1, 1000);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

static void test_schedule_wait_cancel(void)
{
    rcb *cb = rcb_create(0);
    IRtwqAsyncResult *result = NULL;
    RTWQWORKITEM_KEY key = 0, second = 0;
    HANDLE event = CreateEventW(NULL, FALSE, FALSE, NULL);
    int n = 0;

    CHECK_HR(RtwqCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);

    /* Scheduled: fires; 37/38: cancel gives everything back at once. */
    CHECK_HR(RtwqScheduleWorkItem(result, -20, &key), S_OK);
    CHECK(rcb_wait(cb, ++n));
    CHECK_PTR(atomic_load(&cb->last), result);
    CHECK_HR(RtwqCancelWorkItem(key), RTWQ_E_NOT_FOUND);
    WAIT_FOR(rresult_refs(result) == 1, 1000);
    CHECK_HR(RtwqScheduleWorkItem(result, -5000, &key), S_OK);
    CHECK_EQ(rresult_refs(result), 2);
    CHECK_HR(RtwqCancelWorkItem(key), S_OK);
    CHECK_EQ(rresult_refs(result), 1);
    CHECK_HR(RtwqCancelWorkItem(key), RTWQ_E_NOT_FOUND);

    /* Waiting: fires on SetEvent; 39/40: cancelled ones get
     * RTWQ_E_OPERATION_CANCELLED. */
    CHECK_HR(RtwqPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK(SetEvent(event));
    CHECK(rcb_wait(cb, ++n));
    CHECK_HR(atomic_load(&cb->last_status), S_OK);
    CHECK_HR(RtwqPutWaitingWorkItem(event, 0, result, &key), S_OK);
    CHECK_HR(RtwqPutWaitingWorkItem(NULL, 0, result, &second), S_OK);
    CHECK_HR(RtwqCancelWorkItem(key), S_OK);
    CHECK_HR(MFCancelWorkItem(second), S_OK); /* keys are shared with MF */
    n += 2;
    CHECK(rcb_wait(cb, n));
    CHECK_HR(atomic_load(&cb->last_status), RTWQ_E_OPERATION_CANCELLED);
    sleep_ms(30);
    CHECK_EQ(atomic_load(&cb->invokes), n);

    CHECK_EQ(rrelease_when_idle(result), 0);
    WAIT_REFS(atomic_load(&cb->refs), 1, 1000);
    CHECK_EQ(IRtwqAsyncCallback_Release(&cb->iface), 0);
    CHECK(CloseHandle(event));
}

static atomic_int ticks;
static void MFWQ_STDCALL tick(IUnknown *context)
{
    (void)context;
    atomic_fetch_add(&ticks, 1);
}

static void test_periodic(void)
{
    DWORD key = 0;
    CHECK_HR(RtwqAddPeriodicCallback(tick, NULL, &key), S_OK);
    CHECK(key != 0);
    WAIT_FOR(atomic_load(&ticks) >= 3, 2000);
    CHECK(atomic_load(&ticks) >= 3);
    CHECK_HR(RtwqRemovePeriodicCallback(key), S_OK);
    CHECK_HR(RtwqRemovePeriodicCallback(key), RTWQ_E_NOT_FOUND);
}

/* ---- queues --------------------------------------------------------------- */

static int rtwq_runs_on(DWORD queue)
{
    rcb *cb = rcb_create(0);
    IRtwqAsyncResult *result = NULL;
    int ran;
    CHECK_HR(RtwqCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_HR(RtwqPutWorkItem(queue, 0, result), S_OK);
    ran = rcb_wait(cb, 1);
    CHECK_EQ(rrelease_when_idle(result), 0);
    WAIT_REFS(atomic_load(&cb->refs), 1, 1000);
    CHECK_EQ(IRtwqAsyncCallback_Release(&cb->iface), 0);
    return ran;
}

static void test_queues(void)
{
    static const RTWQ_WORKQUEUE_TYPE types[] = {RTWQ_STANDARD_WORKQUEUE, RTWQ_WINDOW_WORKQUEUE,
                                                RTWQ_MULTITHREADED_WORKQUEUE};
    DWORD queue = 0, serial = 0, shared = 0, task = 0x77;
    HANDLE request = NULL, cookie = NULL;
    HRESULT hr;

    for (int i = 0; i < 3; i++) {
        CHECK_HR(RtwqAllocateWorkQueue(types[i], &queue), S_OK);
        CHECK((queue & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0);
        CHECK(rtwq_runs_on(queue));
        CHECK_HR(RtwqLockWorkQueue(queue), S_OK);
        CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);
        CHECK(rtwq_runs_on(queue));
        /* docs/behaviour.md#d24: the long-running hint. */
        CHECK_HR(RtwqSetLongRunning(queue, TRUE), S_OK);
        CHECK(rtwq_runs_on(queue));
        CHECK_HR(RtwqSetLongRunning(queue, FALSE), S_OK);
        /* docs/behaviour.md#d22: a deadline is accepted and can be cancelled once. */
        CHECK_HR(RtwqSetDeadline(queue, 100000, &request), S_OK);
        CHECK(request != NULL);
        CHECK_HR(RtwqCancelDeadline(request), S_OK);
        CHECK_HR(RtwqCancelDeadline(request), MF_E_NOT_FOUND);
        CHECK_HR(RtwqSetDeadline2(queue, 100000, 50000, &request), S_OK);
        CHECK(rtwq_runs_on(queue));
        CHECK_HR(RtwqCancelDeadline(request), S_OK);
        /* docs/behaviour.md#d23: join may be E_NOTIMPL. */
        hr = RtwqJoinWorkQueue(queue, (HANDLE)(uintptr_t)3, &cookie);
        CHECK_MSG(hr == S_OK || hr == E_NOTIMPL, "RtwqJoinWorkQueue: 0x%08x", (unsigned)hr);
        if (hr == S_OK)
            CHECK_HR(RtwqUnjoinWorkQueue(queue, cookie), S_OK);
        CHECK_HR(RtwqUnlockWorkQueue(queue), S_OK);
        CHECK_HR(RtwqUnlockWorkQueue(queue), RTWQ_E_INVALID_WORKQUEUE);
    }

    CHECK_HR(RtwqAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    CHECK(rtwq_runs_on(serial));
    CHECK_HR(RtwqUnlockWorkQueue(serial), S_OK);

    /* docs/behaviour.md#w52: "" takes no task id; with NULL it is the regular shared queue. */
    CHECK_HR(RtwqLockSharedWorkQueue((const WCHAR *)u"", 0, &task, &shared), E_INVALIDARG);
    CHECK_HR(RtwqLockSharedWorkQueue((const WCHAR *)u"", 0, NULL, &shared), S_OK);
    CHECK(rtwq_runs_on(shared));
    CHECK_HR(RtwqUnlockWorkQueue(shared), S_OK);
}

/* docs/behaviour.md#w6, #w9, #w10: the lock count, measured with Rtwq calls only. */
static int rtwq_lock_count(void)
{
    int count = 0;
    DWORD queue;
    while (RtwqAllocateWorkQueue(RTWQ_STANDARD_WORKQUEUE, &queue) == S_OK && count < 1000) {
        RtwqUnlockWorkQueue(queue);
        RtwqUnlockPlatform();
        count++;
    }
    for (int i = 0; i < count; i++)
        RtwqLockPlatform();
    return count;
}

static void test_locks(void)
{
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_EQ(rtwq_lock_count(), 1);
    CHECK_HR(RtwqLockPlatform(), S_OK);
    CHECK_EQ(rtwq_lock_count(), 2);
    CHECK_HR(RtwqUnlockPlatform(), S_OK);
    CHECK_HR(RtwqUnlockPlatform(), S_OK);
    CHECK_EQ(rtwq_lock_count(), 0);
    CHECK_HR(RtwqLockPlatform(), S_OK);
    CHECK_EQ(rtwq_lock_count(), 1);
    CHECK_HR(RtwqShutdown(), S_OK);
    {
        DWORD queue;
        CHECK_HR(RtwqAllocateWorkQueue(RTWQ_STANDARD_WORKQUEUE, &queue), RTWQ_E_SHUTDOWN);
    }
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);

    test_platform_events();
    test_locks();

    CHECK_HR(RtwqStartup(), S_OK);
    test_put_and_invoke();
    test_schedule_wait_cancel();
    test_periodic();
    test_queues();
    CHECK_HR(RtwqShutdown(), S_OK);

    return test_finish("rtwq");
}
