/*
 * events.c - the Win32 event subset libmfplat exports (docs/behaviour.md#d17):
 * CreateEventA/W, CreateEventExA/W, SetEvent, ResetEvent,
 * WaitForSingleObject, CloseHandle, GetHandleInformation, GetLastError,
 * Sleep. Manual- and auto-reset, initial state, timeouts, INFINITE, waiters
 * on other threads. Bad handles are in bad_input.c. No platform startup is
 * needed for events; the last part checks that they also work while the
 * platform runs and after it shut down.
 */
#include "mfwq_test.h"

static void check_manual(HANDLE event, int initially_set, const char *how)
{
    DWORD info = 0xFFFF;
    CHECK_MSG(event != NULL, "%s returned NULL", how);
    CHECK_MSG(GetHandleInformation(event, &info), "%s: GetHandleInformation failed", how);
    CHECK_U(WaitForSingleObject(event, 0), initially_set ? WAIT_OBJECT_0 : WAIT_TIMEOUT);
    CHECK(SetEvent(event));
    /* A manual-reset event stays set through any number of waits. */
    CHECK_U(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    CHECK_U(WaitForSingleObject(event, 10), WAIT_OBJECT_0);
    CHECK_U(WaitForSingleObject(event, INFINITE), WAIT_OBJECT_0);
    CHECK(SetEvent(event)); /* setting a set event is fine */
    CHECK(ResetEvent(event));
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    CHECK(ResetEvent(event)); /* resetting a reset event is fine */
    CHECK_MSG(CloseHandle(event), "%s: CloseHandle failed", how);
}

static void check_auto(HANDLE event, int initially_set, const char *how)
{
    CHECK_MSG(event != NULL, "%s returned NULL", how);
    /* An auto-reset event is consumed by the wait that sees it set. */
    CHECK_U(WaitForSingleObject(event, 0), initially_set ? WAIT_OBJECT_0 : WAIT_TIMEOUT);
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    CHECK(SetEvent(event));
    CHECK(SetEvent(event)); /* no count: still one wake-up */
    CHECK_U(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    CHECK(SetEvent(event));
    CHECK(ResetEvent(event));
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    CHECK_MSG(CloseHandle(event), "%s: CloseHandle failed", how);
}

static void test_creation_variants(void)
{
    static const WCHAR wide_name[] = {'m', 'f', 'w', 'q', 0};

    check_manual(CreateEventA(NULL, TRUE, FALSE, NULL), 0, "CreateEventA(manual, unset)");
    check_manual(CreateEventA(NULL, TRUE, TRUE, NULL), 1, "CreateEventA(manual, set)");
    check_auto(CreateEventA(NULL, FALSE, FALSE, NULL), 0, "CreateEventA(auto, unset)");
    check_auto(CreateEventA(NULL, FALSE, TRUE, NULL), 1, "CreateEventA(auto, set)");
    check_manual(CreateEventW(NULL, TRUE, FALSE, NULL), 0, "CreateEventW(manual, unset)");
    check_auto(CreateEventW(NULL, FALSE, TRUE, NULL), 1, "CreateEventW(auto, set)");
    /* Names are accepted. */
    check_auto(CreateEventA(NULL, FALSE, FALSE, "mfwq-event"), 0, "CreateEventA(named)");
    check_manual(CreateEventW(NULL, TRUE, FALSE, wide_name), 0, "CreateEventW(named)");
    /* BOOL is any non-zero value. */
    check_manual(CreateEventA(NULL, 7, -1, NULL), 1, "CreateEventA(7, -1)");

    check_auto(CreateEventExA(NULL, NULL, 0, EVENT_ALL_ACCESS), 0, "CreateEventExA(0)");
    check_manual(CreateEventExA(NULL, NULL, CREATE_EVENT_MANUAL_RESET, EVENT_ALL_ACCESS), 0,
                 "CreateEventExA(MANUAL_RESET)");
    check_auto(CreateEventExA(NULL, NULL, CREATE_EVENT_INITIAL_SET, SYNCHRONIZE | EVENT_MODIFY_STATE), 1,
               "CreateEventExA(INITIAL_SET)");
    check_manual(CreateEventExW(NULL, NULL, CREATE_EVENT_MANUAL_RESET | CREATE_EVENT_INITIAL_SET, EVENT_ALL_ACCESS),
                 1, "CreateEventExW(MANUAL_RESET | INITIAL_SET)");
    check_auto(CreateEventExW(NULL, wide_name, 0, EVENT_ALL_ACCESS), 0, "CreateEventExW(named)");

    /* Distinct events are distinct. */
    {
        HANDLE a = CreateEventA(NULL, TRUE, FALSE, NULL), b = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(a != b);
        CHECK(SetEvent(a));
        CHECK_U(WaitForSingleObject(b, 0), WAIT_TIMEOUT);
        CHECK(CloseHandle(a));
        CHECK(CloseHandle(b));
        /* A closed handle is closed for good. */
        CHECK(!CloseHandle(a));
        CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
    }
}

/* WaitForSingleObject times out after (at least) its timeout. */
static void test_timeouts(void)
{
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    double started = now_ms();
    CHECK_U(WaitForSingleObject(event, 60), WAIT_TIMEOUT);
    CHECK_MSG(now_ms() - started >= 55, "a 60 ms wait timed out after %.1f ms", now_ms() - started);
    started = now_ms();
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    CHECK_MSG(now_ms() - started < T(1000), "a 0 ms wait took %.1f ms", now_ms() - started);
    /* Sleep sleeps (at least) that long. */
    started = now_ms();
    Sleep(30);
    CHECK_MSG(now_ms() - started >= 28, "Sleep(30) returned after %.1f ms", now_ms() - started);
    Sleep(0);
    CHECK(CloseHandle(event));
}

/* ---- waiters on other threads -------------------------------------------- */

typedef struct waiter {
    HANDLE event;
    DWORD timeout;
    DWORD result;
    atomic_int done;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->result = WaitForSingleObject(w->event, w->timeout);
    atomic_store(&w->done, 1);
    return NULL;
}

static int count_done(waiter *waiters, int n)
{
    int done = 0;
    for (int i = 0; i < n; i++)
        done += atomic_load(&waiters[i].done);
    return done;
}

static void *set_later(void *arg)
{
    sleep_ms(80);
    CHECK(SetEvent((HANDLE)arg));
    return NULL;
}

static void test_threads(void)
{
    enum { WAITERS = 3 };
    waiter waiters[WAITERS];
    pthread_t threads[WAITERS];
    HANDLE event;
    pthread_t setter;
    double started;
    int done;

    /* INFINITE returns when another thread sets the event. */
    event = CreateEventA(NULL, FALSE, FALSE, NULL);
    setter = start_thread(set_later, event);
    started = now_ms();
    CHECK_U(WaitForSingleObject(event, INFINITE), WAIT_OBJECT_0);
    CHECK_MSG(now_ms() - started >= 60, "INFINITE wait returned after %.1f ms", now_ms() - started);
    join_thread(setter);
    /* The auto-reset event was consumed by that wait. */
    CHECK_U(WaitForSingleObject(event, 0), WAIT_TIMEOUT);

    /* Auto-reset: one SetEvent wakes exactly one of several waiters. */
    for (int i = 0; i < WAITERS; i++) {
        waiters[i].event = event;
        waiters[i].timeout = T(LONG_WAIT);
        waiters[i].result = 0xDEAD;
        atomic_init(&waiters[i].done, 0);
        threads[i] = start_thread(wait_thread, &waiters[i]);
    }
    sleep_ms(50);
    for (int round = 1; round <= WAITERS; round++) {
        CHECK(SetEvent(event));
        WAIT_FOR(count_done(waiters, WAITERS) >= round, LONG_WAIT);
        sleep_ms(50);
        done = count_done(waiters, WAITERS);
        CHECK_MSG(done == round, "auto-reset: after %d SetEvent calls %d waiters woke", round, done);
    }
    for (int i = 0; i < WAITERS; i++) {
        join_thread(threads[i]);
        CHECK_U(waiters[i].result, WAIT_OBJECT_0);
    }
    CHECK(CloseHandle(event));

    /* Manual-reset: one SetEvent wakes every waiter. */
    event = CreateEventW(NULL, TRUE, FALSE, NULL);
    for (int i = 0; i < WAITERS; i++) {
        waiters[i].event = event;
        waiters[i].timeout = i == 0 ? INFINITE : T(LONG_WAIT);
        waiters[i].result = 0xDEAD;
        atomic_init(&waiters[i].done, 0);
        threads[i] = start_thread(wait_thread, &waiters[i]);
    }
    sleep_ms(50);
    CHECK(SetEvent(event));
    for (int i = 0; i < WAITERS; i++) {
        join_thread(threads[i]);
        CHECK_U(waiters[i].result, WAIT_OBJECT_0);
    }
    CHECK_U(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    CHECK(CloseHandle(event));

    /* A waiter with a timeout gets WAIT_TIMEOUT when nobody sets the event. */
    event = CreateEventA(NULL, TRUE, FALSE, NULL);
    waiters[0].event = event;
    waiters[0].timeout = 50;
    waiters[0].result = 0xDEAD;
    atomic_init(&waiters[0].done, 0);
    threads[0] = start_thread(wait_thread, &waiters[0]);
    join_thread(threads[0]);
    CHECK_U(waiters[0].result, WAIT_TIMEOUT);
    CHECK(CloseHandle(event));
}

/* Many events: create, use, close. */
static void test_many(void)
{
    int n = SCALED(2000);
    HANDLE *events = calloc((size_t)n, sizeof(HANDLE));
    for (int i = 0; i < n; i++) {
        events[i] = CreateEventA(NULL, i & 1, FALSE, NULL);
        CHECK(events[i] != NULL);
    }
    for (int i = 0; i < n; i += 3)
        CHECK(SetEvent(events[i]));
    for (int i = 0; i < n; i++)
        CHECK_U(WaitForSingleObject(events[i], 0), i % 3 == 0 ? WAIT_OBJECT_0 : WAIT_TIMEOUT);
    for (int i = 0; i < n; i++)
        CHECK(CloseHandle(events[i]));
    free(events);
}

/* Events outlive platform startups and shutdowns. */
static void test_with_platform(void)
{
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK(SetEvent(event));
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_U(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    CHECK(ResetEvent(event));
    CHECK(CloseHandle(event));
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    test_creation_variants();
    test_timeouts();
    test_threads();
    test_many();
    test_with_platform();
    return test_finish("events");
}
