/*
 * stress.c - many threads through the C ABI at once, then shutdown under load.
 *
 * The ABI's own concurrent paths (stock results made and released on
 * different threads, COM references taken by producers and dropped by
 * workers, event handles, cancel keys) under load, checked by counting:
 * every call that returned S_OK is invoked exactly once, a scheduled item
 * whose cancel returned S_OK never is (docs/behaviour.md#d15), a waiting item is invoked once
 * whether it was signalled or cancelled (#w40), and every reference comes back.
 * Then producers keep putting while MFShutdown runs: every put that returned
 * S_OK still runs (#w54, "nothing already queued is lost"), every later one is
 * MF_E_SHUTDOWN. Under the sanitizers (MFWQ_C_SLOW) the loops shrink.
 */
#include "mfwq_test.h"

#define THREADS 4

/* A check that is also a condition: true when `hr` is S_OK. */
#define OK(expr) ok_((expr), #expr, __FILE__, __LINE__)
static int ok_(HRESULT hr, const char *expr, const char *file, int line)
{
    return t_check_(hr == S_OK, file, line, "%s: got 0x%08x, expected S_OK", expr, (unsigned)hr);
}

typedef struct shared_state {
    DWORD private_queue;
    tcb *work;      /* MFPutWorkItem / MFPutWorkItemEx2 items */
    tcb *timer;     /* scheduled items, half of them cancelled */
    tcb *waiter;    /* waiting items, signalled or cancelled */
    tunk *state;    /* the state object some puts carry */
} shared_state;

typedef struct producer {
    shared_state *shared;
    int index;
    int iterations;
    HANDLE event;
    long work_accepted;
    long timers_scheduled;
    long timers_cancelled;
    long waits_put;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    shared_state *s = p->shared;
    for (int i = 0; i < p->iterations; i++) {
        switch ((i + p->index) % 5) {
        case 0:
            if (OK(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &s->work->iface,
                                       &s->state->iface)))
                p->work_accepted++;
            break;
        case 1:
            if (OK(MFPutWorkItem2(s->private_queue, (i % 3) - 1, &s->work->iface, NULL)))
                p->work_accepted++;
            break;
        case 2: {
            IMFAsyncResult *result = NULL;
            CHECK_HR(MFCreateAsyncResult(NULL, &s->work->iface, &s->state->iface, &result), S_OK);
            if (result != NULL) {
                if (OK(MFPutWorkItemEx2(MFASYNC_CALLBACK_QUEUE_STANDARD, 1 - (i % 3), result)))
                    p->work_accepted++;
                IMFAsyncResult_Release(result);
            }
            break;
        }
        case 3: {
            MFWORKITEM_KEY key = 0;
            if (OK(MFScheduleWorkItem(&s->timer->iface, NULL, -(INT64)(i % 2), &key))) {
                p->timers_scheduled++;
                HRESULT hr = MFCancelWorkItem(key);
                CHECK_MSG(hr == S_OK || hr == MF_E_NOT_FOUND, "cancel: 0x%08x", (unsigned)hr);
                if (hr == S_OK)
                    p->timers_cancelled++;
            }
            break;
        }
        case 4: {
            IMFAsyncResult *result = NULL;
            MFWORKITEM_KEY key = 0;
            CHECK_HR(MFCreateAsyncResult(NULL, &s->waiter->iface, NULL, &result), S_OK);
            if (result == NULL)
                break;
            if (OK(MFPutWaitingWorkItem(p->event, 0, result, &key))) {
                p->waits_put++;
                if (i % 2 == 0) {
                    CHECK(SetEvent(p->event));
                } else {
                    /* Cancelled (invoked with MF_E_OPERATION_CANCELLED), or
                     * already fired by a signal left over from an earlier
                     * SetEvent: invoked once either way. */
                    HRESULT hr = MFCancelWorkItem(key);
                    CHECK_MSG(hr == S_OK || hr == MF_E_NOT_FOUND, "wait cancel: 0x%08x", (unsigned)hr);
                }
            }
            IMFAsyncResult_Release(result);
            break;
        }
        }
    }
    return NULL;
}

static void test_mixed_load(void)
{
    shared_state s;
    producer producers[THREADS];
    pthread_t threads[THREADS];
    long work = 0, scheduled = 0, cancelled = 0, waits = 0;
    int iterations = SCALED(20000);

    CHECK_HR(MFAllocateWorkQueue(&s.private_queue), S_OK);
    s.work = tcb_create();
    s.timer = tcb_create();
    s.waiter = tcb_create_params(0, MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    s.state = tunk_create(1);
    for (int t = 0; t < THREADS; t++) {
        producers[t] = (producer){ .shared = &s, .index = t, .iterations = iterations };
        producers[t].event = CreateEventW(NULL, FALSE, FALSE, NULL);
        threads[t] = start_thread(produce, &producers[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        join_thread(threads[t]);
        work += producers[t].work_accepted;
        scheduled += producers[t].timers_scheduled;
        cancelled += producers[t].timers_cancelled;
        waits += producers[t].waits_put;
    }
    printf("stress: %ld work items, %ld timers (%ld cancelled), %ld waits, %d threads\n",
           work, scheduled, cancelled, waits, THREADS);

    /* Every accepted item runs exactly once: wait for the counts, then make
     * sure nothing more comes. */
    WAIT_FOR(tcb_invokes(s.work) >= work, LONG_WAIT * 3);
    WAIT_FOR(tcb_invokes(s.timer) >= scheduled - cancelled, LONG_WAIT);
    WAIT_FOR(tcb_invokes(s.waiter) >= waits, LONG_WAIT);
    sleep_ms(T(50));
    CHECK_EQ(tcb_invokes(s.work), work);
    CHECK_EQ(tcb_invokes(s.timer), scheduled - cancelled); /* docs/behaviour.md#d15: cancelled ones never */
    CHECK_EQ(tcb_invokes(s.waiter), waits);                /* docs/behaviour.md#w40: once, fired or cancelled */

    /* Every reference the platform took is back. */
    WAIT_REFS(tcb_refs(s.work), 1, 2000);
    WAIT_REFS(tcb_refs(s.timer), 1, 2000);
    WAIT_REFS(tcb_refs(s.waiter), 1, 2000);
    WAIT_REFS(tunk_refs(s.state), 1, 2000);
    CHECK_EQ(tcb_release(s.work), 0);
    CHECK_EQ(tcb_release(s.timer), 0);
    CHECK_EQ(tcb_release(s.waiter), 0);
    CHECK_EQ(IUnknown_Release(&s.state->iface), 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(CloseHandle(producers[t].event));
    CHECK_HR(MFUnlockWorkQueue(s.private_queue), S_OK);
}

typedef struct racer {
    tcb *cb;
    atomic_int *go;
    long limit;     /* a cap, so that a slow run (valgrind) stays short */
    long accepted;
    long refused;
} racer;

static void *put_until_shutdown(void *arg)
{
    racer *r = arg;
    while (!atomic_load(r->go))
        ;
    while (r->accepted < r->limit) {
        HRESULT hr = MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &r->cb->iface, NULL);
        if (hr == S_OK) {
            r->accepted++;
            continue;
        }
        CHECK_HR(hr, MF_E_SHUTDOWN);
        r->refused++;
        break;
    }
    /* Capped before the shutdown came: one more put sees the platform going
     * or gone, or still takes the item. */
    while (r->refused == 0) {
        HRESULT hr = MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &r->cb->iface, NULL);
        if (hr == S_OK) {
            r->accepted++;
            sleep_ms(1);
            continue;
        }
        CHECK_HR(hr, MF_E_SHUTDOWN);
        r->refused++;
    }
    return NULL;
}

/* docs/behaviour.md#w54, #d1: shutdown while producers are putting. */
static void test_shutdown_under_load(void)
{
    racer racers[2];
    pthread_t threads[2];
    atomic_int go;
    long accepted = 0;
    tcb *cb = tcb_create();

    atomic_init(&go, 0);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    for (int t = 0; t < 2; t++) {
        racers[t] = (racer){ .cb = cb, .go = &go, .limit = t_slow() ? 500 : 1000000 };
        threads[t] = start_thread(put_until_shutdown, &racers[t]);
    }
    atomic_store(&go, 1);
    sleep_ms(T(20));
    CHECK_HR(MFShutdown(), S_OK);
    for (int t = 0; t < 2; t++) {
        join_thread(threads[t]);
        accepted += racers[t].accepted;
        CHECK_EQ(racers[t].refused, 1);
    }
    /* Everything accepted ran, nothing twice, and the references are back. */
    WAIT_FOR(tcb_invokes(cb) >= accepted, LONG_WAIT);
    sleep_ms(T(20));
    CHECK_EQ(tcb_invokes(cb), accepted);
    WAIT_REFS(tcb_refs(cb), 1, 2000);
    CHECK_EQ(tcb_release(cb), 0);
    printf("stress: %ld items accepted before the shutdown, all ran\n", accepted);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    test_mixed_load();
    CHECK_HR(MFShutdown(), S_OK);
    for (int round = 0; round < 3; round++)
        test_shutdown_under_load();
    return test_finish("stress");
}
