/*
 * synch.c - the synchronisation and time surface of mfwq_synch.h: the
 * Interlocked family (inline in the header), critical sections, thread and
 * process ids, tick counts, the performance counter, and
 * WaitForMultipleObjects over libmfplat's events (wait-any, wait-all,
 * timeouts, bad input, which signals a wait consumes), including events set
 * from work-queue callbacks.
 */
#include "mfwq_test.h"

#include <unistd.h> /* getpid */

/* ---- Interlocked --------------------------------------------------------- */

static void test_interlocked_values(void)
{
    LONG volatile v = 5;
    LONG64 volatile w = 5;
    int a = 0, b = 0;
    PVOID volatile p = &a;

    CHECK_EQ(InterlockedIncrement(&v), 6);
    CHECK_EQ(InterlockedDecrement(&v), 5);
    CHECK_EQ(InterlockedExchange(&v, 42), 5);
    CHECK_EQ(v, 42);
    CHECK_EQ(InterlockedExchangeAdd(&v, 8), 42);
    CHECK_EQ(v, 50);
    CHECK_EQ(InterlockedExchangeAdd(&v, -60), 50);
    CHECK_EQ(v, -10);
    /* CompareExchange returns the initial value; it stores only on a match. */
    CHECK_EQ(InterlockedCompareExchange(&v, 7, 3), -10);
    CHECK_EQ(v, -10);
    CHECK_EQ(InterlockedCompareExchange(&v, 7, -10), -10);
    CHECK_EQ(v, 7);
    /* LONG is 32 bits: wraps as a 32-bit value. */
    v = 0x7FFFFFFF;
    CHECK_EQ(InterlockedIncrement(&v), (LONG)INT32_MIN);
    v = 0;
    CHECK_EQ(InterlockedDecrement(&v), -1);

    CHECK_PTR(InterlockedExchangePointer(&p, &b), &a);
    CHECK_PTR(p, &b);
    CHECK_PTR(InterlockedCompareExchangePointer(&p, NULL, &a), &b);
    CHECK_PTR(p, &b);
    CHECK_PTR(InterlockedCompareExchangePointer(&p, NULL, &b), &b);
    CHECK_PTR(p, NULL);

    CHECK_EQ(InterlockedIncrement64(&w), 6);
    CHECK_EQ(InterlockedDecrement64(&w), 5);
    CHECK_EQ(InterlockedExchange64(&w, 0x100000000LL), 5);
    CHECK_EQ(InterlockedExchangeAdd64(&w, 1), 0x100000000LL);
    CHECK_EQ(w, 0x100000001LL);
    CHECK_EQ(InterlockedCompareExchange64(&w, 9, 1), 0x100000001LL);
    CHECK_EQ(InterlockedCompareExchange64(&w, 9, 0x100000001LL), 0x100000001LL);
    CHECK_EQ(w, 9);
    MemoryBarrier();
}

/* A `long` counter, as Microsoft's samples declare reference counts: C11
 * _Generic sends the call to the `long` form (64 bits here), with the same
 * return values as the LONG form. A LONG counter still takes the LONG one. */
static void test_interlocked_long(void)
{
    long count = 0;
    long volatile shared = 0x7FFFFFFFL;
    LONG narrow = 0x7FFFFFFF;

    _Static_assert(_Generic(InterlockedIncrement(&count), long: 1, default: 0), "a long counter gives a long");
    _Static_assert(_Generic(InterlockedIncrement(&narrow), LONG: 1, default: 0), "a LONG counter gives a LONG");
    _Static_assert(_Generic(&InterlockedIncrement, LONG (*)(LONG volatile *): 1, default: 0),
                   "&InterlockedIncrement still names the LONG function");
    CHECK_EQ(InterlockedIncrement(&count), 1);
    CHECK_EQ(InterlockedDecrement(&count), 0);
    CHECK_EQ(InterlockedDecrement(&count), -1);
    CHECK_EQ(InterlockedExchange(&count, 42), -1);
    CHECK_EQ(InterlockedExchangeAdd(&count, 8), 42);
    CHECK_EQ(count, 50);
    CHECK_EQ(InterlockedCompareExchange(&count, 7, 3), 50);
    CHECK_EQ(InterlockedCompareExchange(&count, 7, 50), 50);
    CHECK_EQ(count, 7);
    /* 64 bits: no wrap at 2^31, where the LONG form wraps. */
    CHECK_EQ(InterlockedIncrement(&shared), 0x80000000L);
    CHECK_EQ(InterlockedIncrement(&narrow), (LONG)INT32_MIN);
    CHECK_EQ(InterlockedExchangeAdd(&shared, 0x100000000L), 0x80000000L);
    CHECK_EQ(shared, 0x180000000L);
}

enum { COUNTER_THREADS = 4 };
static LONG volatile shared_counter;
static LONG64 volatile shared_counter64;
static long volatile shared_long_counter;

static void *increment_many(void *arg)
{
    int n = *(int *)arg;
    for (int i = 0; i < n; i++) {
        InterlockedIncrement(&shared_counter);
        InterlockedExchangeAdd64(&shared_counter64, 2);
        InterlockedIncrement(&shared_long_counter);
    }
    return NULL;
}

static void test_interlocked_threads(void)
{
    int n = SCALED(200000);
    pthread_t threads[COUNTER_THREADS];
    shared_counter = 0;
    shared_counter64 = 0;
    shared_long_counter = 0;
    for (int i = 0; i < COUNTER_THREADS; i++)
        threads[i] = start_thread(increment_many, &n);
    for (int i = 0; i < COUNTER_THREADS; i++)
        join_thread(threads[i]);
    CHECK_EQ(shared_counter, (LONG)n * COUNTER_THREADS);
    CHECK_EQ(shared_counter64, (LONG64)n * COUNTER_THREADS * 2);
    CHECK_EQ(shared_long_counter, (long)n * COUNTER_THREADS);
}

/* ---- critical sections --------------------------------------------------- */

static void *try_enter_once(void *arg)
{
    LPCRITICAL_SECTION cs = arg;
    BOOL entered = TryEnterCriticalSection(cs);
    if (entered)
        LeaveCriticalSection(cs);
    return (void *)(intptr_t)entered;
}

static BOOL try_enter_from_other_thread(LPCRITICAL_SECTION cs)
{
    void *entered = NULL;
    pthread_t thread = start_thread(try_enter_once, cs);
    pthread_join(thread, &entered);
    return (BOOL)(intptr_t)entered;
}

static void test_critical_section_basics(void)
{
    CRITICAL_SECTION cs;

    InitializeCriticalSection(&cs);
    CHECK(cs.OwningThread == NULL);
    CHECK_EQ(cs.RecursionCount, 0);

    /* Recursive: the owner enters again and leaves as often. */
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);
    CHECK(TryEnterCriticalSection(&cs));
    CHECK_EQ(cs.RecursionCount, 3);
    CHECK(cs.OwningThread == (HANDLE)(ULONG_PTR)GetCurrentThreadId());
    CHECK_MSG(!try_enter_from_other_thread(&cs), "TryEnter from another thread succeeded while owned");
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    CHECK_EQ(cs.RecursionCount, 1);
    CHECK_MSG(!try_enter_from_other_thread(&cs), "TryEnter succeeded before the last Leave");
    LeaveCriticalSection(&cs);
    CHECK(cs.OwningThread == NULL);
    CHECK_MSG(try_enter_from_other_thread(&cs), "TryEnter from another thread failed once free");
    /* Delete has nothing to free; the section stays usable as documented. */
    DeleteCriticalSection(&cs);

    /* The other initialisers. */
    CHECK(InitializeCriticalSectionAndSpinCount(&cs, 4000));
    CHECK_U(cs.SpinCount, 4000);
    CHECK_U(SetCriticalSectionSpinCount(&cs, 100), 4000);
    EnterCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    DeleteCriticalSection(&cs);
    CHECK(InitializeCriticalSectionEx(&cs, 0, CRITICAL_SECTION_NO_DEBUG_INFO));
    CHECK(TryEnterCriticalSection(&cs));
    LeaveCriticalSection(&cs);
    DeleteCriticalSection(&cs);
    CHECK(!InitializeCriticalSectionEx(&cs, 0, 0x1));
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);

    /* NULL never crashes (Windows would). */
    CHECK(!InitializeCriticalSectionAndSpinCount(NULL, 0));
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!InitializeCriticalSectionEx(NULL, 0, 0));
    CHECK(!TryEnterCriticalSection(NULL));
    InitializeCriticalSection(NULL);
    EnterCriticalSection(NULL);
    LeaveCriticalSection(NULL);
    DeleteCriticalSection(NULL);
}

/* A Leave by a thread that does not own the section changes nothing. */
static void *leave_without_owning(void *arg)
{
    LeaveCriticalSection(arg);
    return NULL;
}

static void test_critical_section_misuse(void)
{
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    EnterCriticalSection(&cs);
    join_thread(start_thread(leave_without_owning, &cs));
    CHECK_EQ(cs.RecursionCount, 1);
    CHECK(!try_enter_from_other_thread(&cs));
    LeaveCriticalSection(&cs);
    /* A second Leave by the former owner changes nothing either. */
    LeaveCriticalSection(&cs);
    CHECK_EQ(cs.RecursionCount, 0);
    CHECK(try_enter_from_other_thread(&cs));
    DeleteCriticalSection(&cs);
}

typedef struct contended {
    CRITICAL_SECTION cs;
    int iterations;
    long counter;       /* plain: protected by cs */
    int inside;         /* plain: threads inside cs (must stay <= 1) */
    atomic_int overlaps;
} contended;

static void *contend(void *arg)
{
    contended *c = arg;
    for (int i = 0; i < c->iterations; i++) {
        EnterCriticalSection(&c->cs);
        if (++c->inside != 1)
            atomic_fetch_add(&c->overlaps, 1);
        EnterCriticalSection(&c->cs); /* recursion under contention */
        c->counter++;
        LeaveCriticalSection(&c->cs);
        c->inside--;
        LeaveCriticalSection(&c->cs);
    }
    return NULL;
}

static void test_critical_section_contention(void)
{
    enum { THREADS = 4 };
    contended c;
    pthread_t threads[THREADS];
    memset(&c, 0, sizeof c);
    InitializeCriticalSection(&c.cs);
    c.iterations = SCALED(50000);
    atomic_init(&c.overlaps, 0);
    for (int i = 0; i < THREADS; i++)
        threads[i] = start_thread(contend, &c);
    for (int i = 0; i < THREADS; i++)
        join_thread(threads[i]);
    CHECK_EQ(c.counter, (long)c.iterations * THREADS);
    CHECK_EQ(atomic_load(&c.overlaps), 0);
    CHECK(c.cs.OwningThread == NULL);
    DeleteCriticalSection(&c.cs);
}

/* ---- ids and clocks ------------------------------------------------------ */

static void *thread_id_of_thread(void *arg)
{
    *(DWORD *)arg = GetCurrentThreadId();
    return NULL;
}

static void test_ids_and_time(void)
{
    DWORD other = 0;
    LARGE_INTEGER frequency, before, after;
    ULONGLONG tick64_before, tick64_after;
    DWORD tick_before, tick_after;
    double elapsed_ms;

    CHECK(GetCurrentThreadId() != 0);
    CHECK_U(GetCurrentThreadId(), GetCurrentThreadId());
    /* The main thread's Linux tid is the process id. */
    CHECK_U(GetCurrentThreadId(), GetCurrentProcessId());
    CHECK_U(GetCurrentProcessId(), (DWORD)getpid());
    join_thread(start_thread(thread_id_of_thread, &other));
    CHECK(other != 0 && other != GetCurrentThreadId());

    CHECK(QueryPerformanceFrequency(&frequency));
    CHECK_EQ(frequency.QuadPart, 10000000);
    CHECK(frequency.u.LowPart == frequency.LowPart && frequency.HighPart == 0);

    tick64_before = GetTickCount64();
    tick_before = GetTickCount();
    CHECK_MSG((DWORD)tick64_before - tick_before <= 1 || tick_before - (DWORD)tick64_before <= 1,
              "GetTickCount %u is not the low part of GetTickCount64 %llu", tick_before,
              (unsigned long long)tick64_before);
    CHECK(QueryPerformanceCounter(&before));
    Sleep(50);
    CHECK(QueryPerformanceCounter(&after));
    tick_after = GetTickCount();
    tick64_after = GetTickCount64();

    elapsed_ms = (double)(after.QuadPart - before.QuadPart) * 1000.0 / (double)frequency.QuadPart;
    CHECK_MSG(elapsed_ms >= 49.9 && elapsed_ms < T(5000), "QPC measured Sleep(50) as %.3f ms", elapsed_ms);
    CHECK_MSG(tick64_after - tick64_before >= 49 && tick64_after - tick64_before < T(5000),
              "GetTickCount64 measured Sleep(50) as %llu ms",
              (unsigned long long)(tick64_after - tick64_before));
    CHECK_MSG((DWORD)(tick_after - tick_before) >= 49, "GetTickCount measured Sleep(50) as %u ms",
              (unsigned)(tick_after - tick_before));
    /* Monotonic. */
    for (int i = 0; i < 1000; i++) {
        LARGE_INTEGER next;
        ULONGLONG tick = GetTickCount64();
        QueryPerformanceCounter(&next);
        CHECK(next.QuadPart >= after.QuadPart);
        CHECK(tick >= tick64_after);
        after = next;
        tick64_after = tick;
    }
    CHECK(!QueryPerformanceCounter(NULL));
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!QueryPerformanceFrequency(NULL));
}

/* ---- WaitForMultipleObjects ---------------------------------------------- */

static HANDLE auto_event(BOOL set) { return CreateEventA(NULL, FALSE, set, NULL); }
static HANDLE manual_event(BOOL set) { return CreateEventA(NULL, TRUE, set, NULL); }

static int is_set_consume(HANDLE event) { return WaitForSingleObject(event, 0) == WAIT_OBJECT_0; }

static void test_wait_any(void)
{
    HANDLE e[3];
    double started;

    e[0] = auto_event(FALSE);
    e[1] = auto_event(TRUE);
    e[2] = auto_event(TRUE);
    /* The lowest signalled index, and only that event consumed. */
    CHECK_U(WaitForMultipleObjects(3, e, FALSE, 0), WAIT_OBJECT_0 + 1);
    CHECK_U(WaitForMultipleObjects(3, e, FALSE, INFINITE), WAIT_OBJECT_0 + 2);
    CHECK_U(WaitForMultipleObjects(3, e, FALSE, 0), WAIT_TIMEOUT);
    CHECK(SetEvent(e[0]));
    CHECK(SetEvent(e[2]));
    CHECK_U(WaitForMultipleObjects(3, e, FALSE, 0), WAIT_OBJECT_0);
    CHECK(!is_set_consume(e[0]));
    CHECK(is_set_consume(e[2]));

    /* Timeout. */
    started = now_ms();
    CHECK_U(WaitForMultipleObjects(3, e, FALSE, 60), WAIT_TIMEOUT);
    CHECK_MSG(now_ms() - started >= 55, "a 60 ms wait-any timed out after %.1f ms", now_ms() - started);
    /* The Ex form, alertable or not, is the same wait. */
    CHECK(SetEvent(e[1]));
    CHECK_U(WaitForMultipleObjectsEx(3, e, FALSE, 0, TRUE), WAIT_OBJECT_0 + 1);

    /* A manual-reset event stays set: it wins every time. */
    {
        HANDLE m[2];
        m[0] = manual_event(TRUE);
        m[1] = auto_event(TRUE);
        CHECK_U(WaitForMultipleObjects(2, m, FALSE, 0), WAIT_OBJECT_0);
        CHECK_U(WaitForMultipleObjects(2, m, FALSE, 0), WAIT_OBJECT_0);
        CHECK(is_set_consume(m[1]));
        CHECK(CloseHandle(m[0]));
        CHECK(CloseHandle(m[1]));
    }
    /* A handle twice is allowed in a wait-any. */
    {
        HANDLE d[2];
        d[0] = d[1] = e[2];
        CHECK(SetEvent(e[2]));
        CHECK_U(WaitForMultipleObjects(2, d, FALSE, 0), WAIT_OBJECT_0);
        CHECK_U(WaitForMultipleObjects(2, d, FALSE, 0), WAIT_TIMEOUT);
    }
    for (int i = 0; i < 3; i++)
        CHECK(CloseHandle(e[i]));
}

static void test_wait_all(void)
{
    HANDLE e[3];
    double started;

    e[0] = auto_event(TRUE);
    e[1] = auto_event(FALSE);
    e[2] = manual_event(TRUE);
    /* Not all set: nothing is consumed, not even the set auto-reset one. */
    CHECK_U(WaitForMultipleObjects(3, e, TRUE, 0), WAIT_TIMEOUT);
    started = now_ms();
    CHECK_U(WaitForMultipleObjects(3, e, TRUE, 60), WAIT_TIMEOUT);
    CHECK_MSG(now_ms() - started >= 55, "a 60 ms wait-all timed out after %.1f ms", now_ms() - started);
    CHECK_MSG(is_set_consume(e[0]), "a wait-all that timed out consumed a subset");
    CHECK(SetEvent(e[0]));
    /* All set: every auto-reset one consumed, the manual one stays set. */
    CHECK(SetEvent(e[1]));
    CHECK_U(WaitForMultipleObjects(3, e, TRUE, INFINITE), WAIT_OBJECT_0);
    CHECK(!is_set_consume(e[0]));
    CHECK(!is_set_consume(e[1]));
    CHECK(is_set_consume(e[2]));
    CHECK_U(WaitForMultipleObjects(3, e, TRUE, 0), WAIT_TIMEOUT);
    for (int i = 0; i < 3; i++)
        CHECK(CloseHandle(e[i]));
}

typedef struct multi_waiter {
    HANDLE *handles;
    DWORD count;
    BOOL all;
    DWORD timeout;
    DWORD result;
    atomic_int done;
} multi_waiter;

static void *multi_wait_thread(void *arg)
{
    multi_waiter *w = arg;
    w->result = WaitForMultipleObjects(w->count, w->handles, w->all, w->timeout);
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_waits_across_threads(void)
{
    HANDLE e[2];
    multi_waiter w;
    pthread_t thread;

    /* Wait-all, INFINITE: returns only once the last event is set. */
    e[0] = auto_event(FALSE);
    e[1] = auto_event(FALSE);
    memset(&w, 0, sizeof w);
    w.handles = e;
    w.count = 2;
    w.all = TRUE;
    w.timeout = INFINITE;
    atomic_init(&w.done, 0);
    thread = start_thread(multi_wait_thread, &w);
    sleep_ms(30);
    CHECK(SetEvent(e[1]));
    sleep_ms(50);
    CHECK_MSG(!atomic_load(&w.done), "wait-all returned with one of two events set");
    CHECK(SetEvent(e[0]));
    join_thread(thread);
    CHECK_U(w.result, WAIT_OBJECT_0);
    CHECK(!is_set_consume(e[0]));
    CHECK(!is_set_consume(e[1]));

    /* Wait-any, INFINITE, set from another thread: the index that was set. */
    memset(&w, 0, sizeof w);
    w.handles = e;
    w.count = 2;
    w.all = FALSE;
    w.timeout = INFINITE;
    atomic_init(&w.done, 0);
    thread = start_thread(multi_wait_thread, &w);
    sleep_ms(30);
    CHECK(SetEvent(e[1]));
    join_thread(thread);
    CHECK_U(w.result, WAIT_OBJECT_0 + 1);
    CHECK(!is_set_consume(e[1]));

    /* One auto-reset SetEvent, a wait-any and a WaitForSingleObject blocked
     * on it: exactly one of them gets it. */
    {
        multi_waiter single;
        HANDLE one[1];
        pthread_t t1, t2;
        one[0] = e[0];
        memset(&w, 0, sizeof w);
        w.handles = one;
        w.count = 1;
        w.timeout = 300;
        atomic_init(&w.done, 0);
        memset(&single, 0, sizeof single);
        single.handles = one;
        single.count = 1;
        single.timeout = 300;
        atomic_init(&single.done, 0);
        t1 = start_thread(multi_wait_thread, &w);
        t2 = start_thread(multi_wait_thread, &single);
        sleep_ms(50);
        CHECK(SetEvent(e[0]));
        join_thread(t1);
        join_thread(t2);
        CHECK_MSG((w.result == WAIT_OBJECT_0) + (single.result == WAIT_OBJECT_0) == 1,
                  "one SetEvent released %d waits", (w.result == WAIT_OBJECT_0) + (single.result == WAIT_OBJECT_0));
        CHECK(!is_set_consume(e[0]));
    }
    CHECK(CloseHandle(e[0]));
    CHECK(CloseHandle(e[1]));
}

static void test_wait_limits(void)
{
    HANDLE e[MAXIMUM_WAIT_OBJECTS + 1];
    CHECK_EQ(MAXIMUM_WAIT_OBJECTS, 64);
    for (int i = 0; i <= MAXIMUM_WAIT_OBJECTS; i++)
        e[i] = manual_event(FALSE);
    CHECK(SetEvent(e[MAXIMUM_WAIT_OBJECTS - 1]));
    CHECK_U(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, FALSE, 0), WAIT_OBJECT_0 + MAXIMUM_WAIT_OBJECTS - 1);
    CHECK_U(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, TRUE, 0), WAIT_TIMEOUT);
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        CHECK(SetEvent(e[i]));
    CHECK_U(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, TRUE, 0), WAIT_OBJECT_0);
    /* 65 handles: refused even though they are all valid. */
    CHECK(SetEvent(e[MAXIMUM_WAIT_OBJECTS]));
    CHECK_U(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS + 1, e, FALSE, 0), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    for (int i = 0; i <= MAXIMUM_WAIT_OBJECTS; i++)
        CHECK(CloseHandle(e[i]));
}

static void test_wait_bad_input(void)
{
    HANDLE e[3], closed;
    e[0] = auto_event(TRUE);
    e[1] = auto_event(TRUE);

    CHECK_U(WaitForMultipleObjects(0, e, FALSE, 0), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK_U(WaitForMultipleObjects(0, NULL, TRUE, INFINITE), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK_U(WaitForMultipleObjects(2, NULL, FALSE, INFINITE), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    /* The same event twice in a wait-all. */
    e[2] = e[0];
    CHECK_U(WaitForMultipleObjects(3, e, TRUE, INFINITE), WAIT_FAILED);
    CHECK_U(GetLastError(), ERROR_INVALID_PARAMETER);
    /* Bad handles: NULL, closed, made up, INVALID_HANDLE_VALUE. */
    closed = auto_event(TRUE);
    CHECK(CloseHandle(closed));
    {
        HANDLE bad[4];
        bad[0] = NULL;
        bad[1] = closed;
        bad[2] = (HANDLE)(ULONG_PTR)0x7654320;
        bad[3] = INVALID_HANDLE_VALUE;
        for (int i = 0; i < 4; i++) {
            e[2] = bad[i];
            CHECK_U(WaitForMultipleObjects(3, e, FALSE, INFINITE), WAIT_FAILED);
            CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
            CHECK_U(WaitForMultipleObjects(3, e, TRUE, INFINITE), WAIT_FAILED);
            CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);
        }
    }
    /* A failed call waited for nothing and consumed nothing. */
    CHECK(is_set_consume(e[0]));
    CHECK(is_set_consume(e[1]));
    CHECK(CloseHandle(e[0]));
    CHECK(CloseHandle(e[1]));
}

/* ---- events set from work-queue callbacks -------------------------------- */

static void set_event_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)result;
    CHECK(SetEvent((HANDLE)cb->ctx));
}

static void test_events_from_work_items(void)
{
    HANDLE e[2];
    tcb *cb[2];

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    e[0] = auto_event(FALSE);
    e[1] = manual_event(FALSE);
    for (int i = 0; i < 2; i++) {
        cb[i] = tcb_create();
        cb[i]->hook = set_event_hook;
        cb[i]->ctx = e[i];
    }
    /* Wait-all: both callbacks must have run. */
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb[0]->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_STANDARD, &cb[1]->iface, NULL), S_OK);
    CHECK_U(WaitForMultipleObjects(2, e, TRUE, T(LONG_WAIT)), WAIT_OBJECT_0);
    CHECK(!is_set_consume(e[0]));
    CHECK(ResetEvent(e[1]));
    /* Wait-any, many rounds: each callback's event wakes the waiter. */
    for (int round = 0; round < SCALED(200); round++) {
        int which = round & 1;
        DWORD got;
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb[which]->iface, NULL), S_OK);
        got = WaitForMultipleObjects(2, e, FALSE, T(LONG_WAIT));
        CHECK_U(got, WAIT_OBJECT_0 + (DWORD)which);
        if (which == 1)
            CHECK(ResetEvent(e[1]));
    }
    CHECK(tcb_wait(cb[0], 1 + SCALED(200) / 2));
    CHECK(tcb_wait(cb[1], 1 + SCALED(200) / 2));
    for (int i = 0; i < 2; i++) {
        WAIT_REFS(tcb_refs(cb[i]), 1, 1000);
        CHECK_EQ(tcb_release(cb[i]), 0);
        CHECK(CloseHandle(e[i]));
    }
    CHECK_HR(MFShutdown(), S_OK);
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    test_interlocked_values();
    test_interlocked_long();
    test_interlocked_threads();
    test_critical_section_basics();
    test_critical_section_misuse();
    test_critical_section_contention();
    test_ids_and_time();
    test_wait_any();
    test_wait_all();
    test_waits_across_threads();
    test_wait_limits();
    test_wait_bad_input();
    test_events_from_work_items();
    return test_finish("synch");
}
