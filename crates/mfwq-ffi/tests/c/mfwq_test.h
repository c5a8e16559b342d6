/*
 * mfwq_test.h - the small harness shared by the C conformance programs in
 * this directory (crates/mfwq-ffi/tests/c, the .c files). Not a program itself: the
 * Rust harness (tests/c_programs.rs) compiles only *.c and *.cpp files.
 *
 * What it gives:
 *   - checks that print file:line with the values and count failures
 *     (CHECK, CHECK_HR, CHECK_EQ, CHECK_U, CHECK_PTR); test_finish() returns
 *     the exit status (1 if any check failed);
 *   - time helpers; T(ms) scales a time limit by 10 when MFWQ_C_SLOW is set
 *     (the harness sets it under AddressSanitizer and valgrind), SCALED(n)
 *     shrinks an iteration count likewise;
 *   - WAIT_FOR(cond, ms): polls a condition for up to T(ms);
 *   - a hand-written C COM callback (tcb: IMFAsyncCallback), a plain COM
 *     object (tunk: IUnknown) with atomic reference counts; both free
 *     themselves when the count reaches 0, so a platform that releases once
 *     too often is caught by ASan/valgrind, and one that keeps a reference is
 *     caught by the live-object count (t_live) and the leak checkers;
 *   - the platform lock-count probe of docs/behaviour.md#lock-count.
 *
 * Every function here is static inline so that a program that does not use
 * one gets no unused-function warning under -Wall -Wextra -Werror.
 */
#ifndef MFWQ_TEST_H_
#define MFWQ_TEST_H_

#ifndef _GNU_SOURCE
#  define _GNU_SOURCE /* setenv, nanosleep, clock_gettime under -std=c11 */
#endif
#ifndef COBJMACROS
#  define COBJMACROS
#endif

#include <mfapi.h>
#include <rtworkq.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ======================================================================== */
/* Checks                                                                   */
/* ======================================================================== */

static atomic_int t_failures;
static atomic_int t_checks;
/* Objects made by this file that are still alive (tcb, tunk, and whatever a
 * program adds with t_live_inc/t_live_dec). */
static atomic_int t_live;

__attribute__((format(printf, 4, 5)))
static inline int t_check_(int ok, const char *file, int line, const char *fmt, ...)
{
    atomic_fetch_add(&t_checks, 1);
    if (!ok) {
        va_list args;
        atomic_fetch_add(&t_failures, 1);
        fprintf(stderr, "%s:%d: check failed: ", file, line);
        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);
        fputc('\n', stderr);
        fflush(stderr);
    }
    return ok;
}

/* CHECK(cond): a plain condition. */
#define CHECK(cond) t_check_((cond) ? 1 : 0, __FILE__, __LINE__, "%s", #cond)
/* CHECK_MSG(cond, fmt, ...): with a message. */
#define CHECK_MSG(cond, ...) t_check_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

/* CHECK_HR(expr, expected): an HRESULT, printed in hex. */
#define CHECK_HR(expr, expected)                                                     \
    do {                                                                             \
        HRESULT hr_actual_ = (expr);                                                 \
        HRESULT hr_expected_ = (expected);                                           \
        t_check_(hr_actual_ == hr_expected_, __FILE__, __LINE__,                     \
                 "%s: got 0x%08x, expected %s (0x%08x)", #expr,                      \
                 (unsigned)hr_actual_, #expected, (unsigned)hr_expected_);           \
    } while (0)

/* CHECK_EQ(actual, expected): signed integers. */
#define CHECK_EQ(actual, expected)                                                   \
    do {                                                                             \
        long long eq_actual_ = (long long)(actual);                                  \
        long long eq_expected_ = (long long)(expected);                              \
        t_check_(eq_actual_ == eq_expected_, __FILE__, __LINE__,                     \
                 "%s == %s: got %lld, expected %lld", #actual, #expected,            \
                 eq_actual_, eq_expected_);                                          \
    } while (0)

/* CHECK_U(actual, expected): unsigned integers (ids, keys, DWORDs), in hex. */
#define CHECK_U(actual, expected)                                                    \
    do {                                                                             \
        unsigned long long u_actual_ = (unsigned long long)(actual);                 \
        unsigned long long u_expected_ = (unsigned long long)(expected);             \
        t_check_(u_actual_ == u_expected_, __FILE__, __LINE__,                       \
                 "%s == %s: got 0x%llx, expected 0x%llx", #actual, #expected,        \
                 u_actual_, u_expected_);                                            \
    } while (0)

/* CHECK_PTR(actual, expected): pointers. */
#define CHECK_PTR(actual, expected)                                                  \
    do {                                                                             \
        const void *p_actual_ = (const void *)(actual);                              \
        const void *p_expected_ = (const void *)(expected);                          \
        t_check_(p_actual_ == p_expected_, __FILE__, __LINE__,                       \
                 "%s == %s: got %p, expected %p", #actual, #expected,                \
                 p_actual_, p_expected_);                                            \
    } while (0)

/* Call at the end of main: checks that every test object was released,
 * prints the summary and returns the exit status. */
static inline int test_finish(const char *program)
{
    int live = atomic_load(&t_live);
    t_check_(live == 0, __FILE__, __LINE__,
             "%d test object(s) still alive at exit (a reference was kept)", live);
    int failures = atomic_load(&t_failures);
    printf("%s: %d checks, %d failures\n", program, atomic_load(&t_checks), failures);
    fflush(stdout);
    return failures ? 1 : 0;
}

/* stdout unbuffered, so that it interleaves with the checks on stderr in the
 * harness's log. */
__attribute__((constructor)) static void t_unbuffer_stdout(void) { setvbuf(stdout, NULL, _IONBF, 0); }

static inline void t_live_inc(void) { atomic_fetch_add(&t_live, 1); }
static inline void t_live_dec(void) { atomic_fetch_sub(&t_live, 1); }

/* ======================================================================== */
/* Time                                                                     */
/* ======================================================================== */

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* MFWQ_C_SLOW: set by the harness under sanitizers and valgrind. */
static inline int t_slow(void)
{
    const char *slow = getenv("MFWQ_C_SLOW");
    return slow != NULL && *slow != '\0' && strcmp(slow, "0") != 0;
}

/* A time limit for something that should happen: generous, and ten times
 * more under a slow runner. Never used where the check is that something
 * does NOT happen within a delay. */
static inline DWORD T(DWORD ms) { return t_slow() ? ms * 10 : ms; }

/* An iteration count: a tenth (at least 1) under a slow runner. */
static inline int SCALED(int n) { return t_slow() ? (n / 10 > 0 ? n / 10 : 1) : n; }

/* The usual wait for something that must happen. */
#define LONG_WAIT 10000

/* Poll `cond` every millisecond for up to T(ms). */
#define WAIT_FOR(cond, ms)                                                           \
    do {                                                                             \
        double wait_deadline_ = now_ms() + (double)T(ms);                            \
        while (!(cond) && now_ms() < wait_deadline_)                                 \
            sleep_ms(1);                                                             \
    } while (0)

/* ======================================================================== */
/* Threads                                                                  */
/* ======================================================================== */

static inline pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, fn, arg);
    if (rc != 0) {
        fprintf(stderr, "pthread_create failed: %d\n", rc);
        abort();
    }
    return thread;
}

static inline void join_thread(pthread_t thread) { pthread_join(thread, NULL); }

/* ======================================================================== */
/* tunk: a plain IUnknown (states, objects, contexts)                       */
/* ======================================================================== */

typedef struct tunk {
    IUnknown iface;
    atomic_long refs;
    long value;
} tunk;

static inline tunk *tunk_from(IUnknown *iface) { return (tunk *)iface; }

static inline HRESULT MFWQ_STDCALL tunk_QueryInterface(IUnknown *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown)) {
        *out = iface;
        IUnknown_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static inline ULONG MFWQ_STDCALL tunk_AddRef(IUnknown *iface)
{
    return (ULONG)(atomic_fetch_add(&tunk_from(iface)->refs, 1) + 1);
}

static inline ULONG MFWQ_STDCALL tunk_Release(IUnknown *iface)
{
    tunk *object = tunk_from(iface);
    long refs = atomic_fetch_sub(&object->refs, 1) - 1;
    if (refs < 0) {
        t_check_(0, __FILE__, __LINE__, "tunk %p released below zero", (void *)object);
    } else if (refs == 0) {
        free(object);
        t_live_dec();
    }
    return (ULONG)refs;
}

static const IUnknownVtbl tunk_vtbl = {
    tunk_QueryInterface,
    tunk_AddRef,
    tunk_Release,
};

static inline tunk *tunk_create(long value)
{
    tunk *object = calloc(1, sizeof(*object));
    if (object == NULL)
        abort();
    object->iface.lpVtbl = &tunk_vtbl;
    atomic_init(&object->refs, 1);
    object->value = value;
    t_live_inc();
    return object;
}

static inline long tunk_refs(tunk *object) { return atomic_load(&object->refs); }

/* ======================================================================== */
/* tcb: a configurable IMFAsyncCallback                                     */
/* ======================================================================== */

typedef struct tcb tcb;
/* Called inside Invoke, before the invoke count goes up. */
typedef void (*tcb_hook)(tcb *cb, IMFAsyncResult *result);

struct tcb {
    IMFAsyncCallback iface;
    atomic_long refs;
    /* GetParameters: returns params_hr; writes flags/queue when it is S_OK. */
    HRESULT params_hr;
    DWORD flags;
    DWORD queue;
    atomic_int params_calls;
    atomic_int params_null;      /* calls with a NULL pointer (docs/behaviour.md#w31) */
    /* Invoke */
    HRESULT invoke_ret;          /* what Invoke returns (docs/behaviour.md#w32) */
    atomic_int invokes;          /* incremented last in Invoke */
    _Atomic(IMFAsyncResult *) last_result;
    atomic_int last_status;      /* GetStatus of the result Invoke received */
    int keep;                    /* AddRef and keep the first result received */
    _Atomic(IMFAsyncResult *) kept;
    tcb_hook hook;
    void *ctx;
    long id;
    pthread_t invoke_thread;     /* thread of the last Invoke */
};

static inline tcb *tcb_from(IMFAsyncCallback *iface) { return (tcb *)iface; }

static inline HRESULT MFWQ_STDCALL tcb_QueryInterface(IMFAsyncCallback *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *out = iface;
        IMFAsyncCallback_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static inline ULONG MFWQ_STDCALL tcb_AddRef(IMFAsyncCallback *iface)
{
    return (ULONG)(atomic_fetch_add(&tcb_from(iface)->refs, 1) + 1);
}

static inline ULONG MFWQ_STDCALL tcb_Release(IMFAsyncCallback *iface)
{
    tcb *cb = tcb_from(iface);
    long refs = atomic_fetch_sub(&cb->refs, 1) - 1;
    if (refs < 0) {
        t_check_(0, __FILE__, __LINE__, "callback %p released below zero", (void *)cb);
    } else if (refs == 0) {
        IMFAsyncResult *kept = atomic_exchange(&cb->kept, NULL);
        if (kept != NULL)
            IMFAsyncResult_Release(kept);
        free(cb);
        t_live_dec();
    }
    return (ULONG)refs;
}

static inline HRESULT MFWQ_STDCALL tcb_GetParameters(IMFAsyncCallback *iface, DWORD *flags, DWORD *queue)
{
    tcb *cb = tcb_from(iface);
    atomic_fetch_add(&cb->params_calls, 1);
    /* docs/behaviour.md#w31: GetParameters is always called with non-NULL pointers. */
    if (!t_check_(flags != NULL && queue != NULL, __FILE__, __LINE__,
                  "GetParameters called with flags=%p queue=%p (W31)",
                  (void *)flags, (void *)queue)) {
        atomic_fetch_add(&cb->params_null, 1);
        return E_POINTER;
    }
    if (cb->params_hr == S_OK) {
        *flags = cb->flags;
        *queue = cb->queue;
    }
    return cb->params_hr;
}

static inline HRESULT MFWQ_STDCALL tcb_Invoke(IMFAsyncCallback *iface, IMFAsyncResult *result)
{
    tcb *cb = tcb_from(iface);
    CHECK_MSG(result != NULL, "Invoke received a NULL result");
    cb->invoke_thread = pthread_self();
    atomic_store(&cb->last_result, result);
    if (result != NULL) {
        atomic_store(&cb->last_status, IMFAsyncResult_GetStatus(result));
        if (cb->keep) {
            IMFAsyncResult *expected = NULL;
            IMFAsyncResult_AddRef(result);
            if (!atomic_compare_exchange_strong(&cb->kept, &expected, result))
                IMFAsyncResult_Release(result);
        }
    }
    if (cb->hook != NULL)
        cb->hook(cb, result);
    atomic_fetch_add(&cb->invokes, 1);
    return cb->invoke_ret;
}

static const IMFAsyncCallbackVtbl tcb_vtbl = {
    tcb_QueryInterface,
    tcb_AddRef,
    tcb_Release,
    tcb_GetParameters,
    tcb_Invoke,
};

/* A callback whose GetParameters returns E_NOTIMPL (the defaults). */
static inline tcb *tcb_create(void)
{
    tcb *cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        abort();
    cb->iface.lpVtbl = &tcb_vtbl;
    atomic_init(&cb->refs, 1);
    cb->params_hr = E_NOTIMPL;
    cb->invoke_ret = S_OK;
    atomic_init(&cb->last_result, NULL);
    atomic_init(&cb->kept, NULL);
    t_live_inc();
    return cb;
}

/* A callback whose GetParameters names `queue` with `flags`. */
static inline tcb *tcb_create_params(DWORD flags, DWORD queue)
{
    tcb *cb = tcb_create();
    cb->params_hr = S_OK;
    cb->flags = flags;
    cb->queue = queue;
    return cb;
}

static inline long tcb_refs(tcb *cb) { return atomic_load(&cb->refs); }
static inline int tcb_invokes(tcb *cb) { return atomic_load(&cb->invokes); }
static inline ULONG tcb_release(tcb *cb) { return IMFAsyncCallback_Release(&cb->iface); }

/* Waits until the callback has been invoked at least n times. */
static inline int tcb_wait(tcb *cb, int n)
{
    WAIT_FOR(tcb_invokes(cb) >= n, LONG_WAIT);
    return tcb_invokes(cb) >= n;
}

/* Takes the result kept by Invoke (one reference, now the caller's). */
static inline IMFAsyncResult *tcb_take_kept(tcb *cb) { return atomic_exchange(&cb->kept, NULL); }

/* ======================================================================== */
/* Library objects                                                          */
/* ======================================================================== */

/* The reference count of a library result, without changing it. */
static inline ULONG result_refs(IMFAsyncResult *result)
{
    ULONG refs = IMFAsyncResult_AddRef(result);
    IMFAsyncResult_Release(result);
    return refs - 1;
}

static inline MFASYNCRESULT *fields(IMFAsyncResult *result) { return (MFASYNCRESULT *)result; }

/* Waits (up to ~1 s, more under a slow runner) until only the caller holds
 * the result, then releases it; returns what the last Release returned.
 * docs/behaviour.md#w33: the platform drops its reference promptly after Invoke. */
static inline ULONG release_when_idle(IMFAsyncResult *result)
{
    WAIT_FOR(result_refs(result) == 1, 1000);
    return IMFAsyncResult_Release(result);
}

/* Waits until a test callback / object is back at `refs` references. */
#define WAIT_REFS(object_refs_expr, expected, ms) WAIT_FOR((object_refs_expr) == (expected), ms)

/* An event that must be signalled within a generous time. */
static inline int wait_signalled(HANDLE event)
{
    return WaitForSingleObject(event, T(LONG_WAIT)) == WAIT_OBJECT_0;
}

/* ======================================================================== */
/* Platform lock count (the probe of docs/behaviour.md#lock-count)          */
/* ======================================================================== */

/* Unlocks the platform until MFAllocateWorkQueue fails with MF_E_SHUTDOWN
 * (unlocking every queue it allocates straight away), counts the unlocks,
 * then locks the platform the same number of times again. */
static inline int lock_count_at(const char *file, int line)
{
    int count = 0;
    DWORD queue = 0;
    HRESULT hr;
    for (;;) {
        hr = MFAllocateWorkQueue(&queue);
        if (hr != S_OK)
            break;
        MFUnlockWorkQueue(queue);
        MFUnlockPlatform();
        if (++count > 1000)
            break;
    }
    t_check_(hr == MF_E_SHUTDOWN, file, line,
             "lock-count probe: allocation ended with 0x%08x after %d unlocks, expected MF_E_SHUTDOWN",
             (unsigned)hr, count);
    for (int i = 0; i < count; i++)
        MFLockPlatform();
    return count;
}
#define LOCK_COUNT() lock_count_at(__FILE__, __LINE__)
#define CHECK_LOCK_COUNT(expected)                                                   \
    do {                                                                             \
        int lc_actual_ = LOCK_COUNT();                                               \
        int lc_expected_ = (expected);                                               \
        t_check_(lc_actual_ == lc_expected_, __FILE__, __LINE__,                     \
                 "platform lock count: got %d, expected %d", lc_actual_, lc_expected_); \
    } while (0)

/* The platform is up (an allocation works). */
static inline int platform_usable(void)
{
    DWORD queue;
    if (MFAllocateWorkQueue(&queue) != S_OK)
        return 0;
    MFUnlockWorkQueue(queue);
    return 1;
}

/* ======================================================================== */
/* Ordering log (serial queues, priorities)                                 */
/* ======================================================================== */

#define ORDER_MAX 4096
typedef struct order_log {
    atomic_int next;
    long ids[ORDER_MAX];
} order_log;

static inline void order_push(order_log *log, long id)
{
    int slot = atomic_fetch_add(&log->next, 1);
    if (slot < ORDER_MAX)
        log->ids[slot] = id;
}

static inline int order_count(order_log *log) { return atomic_load(&log->next); }

#endif /* MFWQ_TEST_H_ */
