/*
 * mfbench.c - the work-queue platform through its C ABI (libmfplat), used the
 * way media code uses it: COM callbacks written in C, MFPutWorkItem,
 * MFCreateAsyncResult + MFInvokeCallback, chains of items, ping-pong between
 * private queues, timers with cancel keys, queue churn; plus one
 * diagnostic, the putting thread's cost alone (submit).
 *
 * The same workloads are written in Rust on the core API in
 * crates/mfwq-bench/benches/c_abi.rs, which runs this program and the Rust
 * versions alternately and compares them (cargo bench -p mfwq-bench --bench
 * c_abi). This program also runs on its own:
 *
 *   cargo build --release -p mfwq-ffi
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -pedantic -I include \
 *      crates/mfwq-bench/c/mfbench.c -o target/release/mfbench \
 *      -L target/release -lmfplat -Wl,-rpath,$PWD/target/release -lpthread
 *   target/release/mfbench [--rounds N] [--warmup N] [--scale F] [--filter NAME[,NAME...]]
 *   target/release/mfbench --list
 *   target/release/mfbench --serve       (line protocol, used by the Rust bench)
 *
 * Output: one machine-readable line per measured round and one summary per
 * workload, key=value separated by spaces, e.g.
 *   workload=fanout-mt round=1 items=500000 ns=61234567 ns_per_item=122.5 us_per_item=0.1225 items_per_s=8163265
 *   workload=fanout-mt summary rounds=9 median_ns_per_item=122.5 min_ns_per_item=... max_ns_per_item=... spread_pct=... items_per_s=... us_per_item=...
 * ("item" is the workload's unit: an item, a hop, a round trip, a
 * schedule+cancel pair, an allocate+unlock pair; see --list.)
 *
 * Serve mode reads commands from stdin, one per line, and answers each with
 * one line on stdout:
 *   run NAME ITEMS   -> workload=NAME items=ITEMS ns=... ns_per_item=... (or error=...)
 *   quit (or EOF)    -> MFShutdown, the reference check, exit
 *
 * Completion of a round is a shared atomic count-down whose last decrement
 * sets a Win32 event (libmfplat's CreateEvent/SetEvent/WaitForSingleObject)
 * that the timing thread waits on: one atomic decrement per item.
 */
#define _POSIX_C_SOURCE 200809L
#define COBJMACROS
#include <mfapi.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MT MFASYNC_CALLBACK_QUEUE_MULTITHREADED
/* Longest wait for a round to finish before the program gives up. */
#define WAIT_LIMIT_MS 120000u

/* ======================================================================== */
/* Helpers                                                                  */
/* ======================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, HRESULT hr)
{
    fprintf(stderr, "mfbench: %s failed: 0x%08X\n", what, (unsigned)hr);
    fflush(stdout);
    exit(1);
}

#define OK(expr)                     \
    do {                             \
        HRESULT hr_ = (expr);        \
        if (FAILED(hr_))             \
            fail(#expr, hr_);        \
    } while (0)

/* A count-down whose last decrement sets an auto-reset event. One for the
 * whole program: rounds never overlap. */
typedef struct Latch {
    _Alignas(64) atomic_size_t remaining; /* a cache line of its own */
    HANDLE event;
} Latch;

static Latch g_latch;

static void latch_reset(size_t n)
{
    atomic_store(&g_latch.remaining, n);
}

static inline void latch_count_down(void)
{
    if (atomic_fetch_sub_explicit(&g_latch.remaining, 1, memory_order_acq_rel) == 1)
        SetEvent(g_latch.event);
}

static void latch_wait(const char *workload)
{
    if (WaitForSingleObject(g_latch.event, WAIT_LIMIT_MS) != WAIT_OBJECT_0) {
        fprintf(stderr, "mfbench: %s: %zu items still missing after %u ms\n", workload,
                atomic_load(&g_latch.remaining), WAIT_LIMIT_MS);
        exit(1);
    }
}

/* ======================================================================== */
/* The callbacks: one C struct, one vtable per behaviour                    */
/* ======================================================================== */

typedef struct BenchCallback {
    _Alignas(64) IMFAsyncCallback iface; /* each callback on cache lines of its own */
#ifdef MFBENCH_COUNT_APART
    /* Diagnostic build (the c_abi bench's --diag): the count on a cache line
     * of its own. Otherwise it shares the vtable pointer's line, as in C and
     * C++ COM objects, where every call through the vtable reads that line
     * while AddRef and Release on other threads write it. */
    _Alignas(64)
#endif
    atomic_uint refs;
    DWORD queue;          /* what queue_get_parameters reports */
    atomic_size_t count;  /* chain: hops to go; ping-pong: hops so far; timers: fired */
    size_t target;        /* ping-pong: round trips */
    DWORD queue_a, queue_b;
} BenchCallback;

static HRESULT cb_query_interface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    if (ppv == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *ppv = This;
        IMFAsyncCallback_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG cb_add_ref(IMFAsyncCallback *This)
{
    return atomic_fetch_add_explicit(&((BenchCallback *)This)->refs, 1, memory_order_relaxed) + 1;
}

/* The callbacks are static objects: Release only counts (main checks the counts). */
static ULONG cb_release(IMFAsyncCallback *This)
{
    return atomic_fetch_sub_explicit(&((BenchCallback *)This)->refs, 1, memory_order_acq_rel) - 1;
}

/* What most callbacks of media code do: the defaults (STANDARD, no flags). */
static HRESULT notimpl_get_parameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    (void)This;
    (void)pdwFlags;
    (void)pdwQueue;
    return E_NOTIMPL;
}

/* A callback that names its queue (where MFInvokeCallback and timer expiry
 * send it). */
static HRESULT queue_get_parameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    *pdwFlags = 0;
    *pdwQueue = ((BenchCallback *)This)->queue;
    return S_OK;
}

/* Counts one item done. */
static HRESULT count_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    (void)This;
    (void)pResult;
    latch_count_down();
    return S_OK;
}

/* Counts a fired timer, and the item done. */
static HRESULT timer_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    (void)pResult;
    atomic_fetch_add_explicit(&((BenchCallback *)This)->count, 1, memory_order_relaxed);
    latch_count_down();
    return S_OK;
}

/* Puts itself again on MULTITHREADED until `count` hops have run. */
static HRESULT chain_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    BenchCallback *cb = (BenchCallback *)This;
    (void)pResult;
    if (atomic_fetch_sub_explicit(&cb->count, 1, memory_order_relaxed) == 1)
        latch_count_down();
    else
        OK(MFPutWorkItem(MT, This, NULL));
    return S_OK;
}

/* Odd hops run on A and put to B; even hops run on B and put back to A,
 * until `target` round trips are done. */
static HRESULT pingpong_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    BenchCallback *cb = (BenchCallback *)This;
    size_t hop = atomic_fetch_add_explicit(&cb->count, 1, memory_order_relaxed) + 1;
    (void)pResult;
    if (hop % 2 == 1)
        OK(MFPutWorkItem(cb->queue_b, This, NULL));
    else if (hop / 2 == cb->target)
        latch_count_down();
    else
        OK(MFPutWorkItem(cb->queue_a, This, NULL));
    return S_OK;
}

/* Holds its queue's thread until g_release is set (the submit workload). */
static HANDLE g_blocked, g_release;

static HRESULT block_invoke(IMFAsyncCallback *This, IMFAsyncResult *pResult)
{
    (void)This;
    (void)pResult;
    SetEvent(g_blocked);
    if (WaitForSingleObject(g_release, WAIT_LIMIT_MS) != WAIT_OBJECT_0) {
        fprintf(stderr, "mfbench: submit: never released\n");
        exit(1);
    }
    latch_count_down();
    return S_OK;
}

#define VTBL(name, get_parameters, invoke)                                       \
    static const IMFAsyncCallbackVtbl name = {                                  \
        cb_query_interface, cb_add_ref, cb_release, get_parameters, invoke,     \
    }
VTBL(count_vtbl, notimpl_get_parameters, count_invoke);
VTBL(count_mt_vtbl, queue_get_parameters, count_invoke);
VTBL(timer_vtbl, queue_get_parameters, timer_invoke);
VTBL(chain_vtbl, notimpl_get_parameters, chain_invoke);
VTBL(pingpong_vtbl, notimpl_get_parameters, pingpong_invoke);
VTBL(block_vtbl, notimpl_get_parameters, block_invoke);

/* GetParameters E_NOTIMPL (the Rust twins: mfwq::callback). */
static BenchCallback g_count = { { &count_vtbl }, 1, 0, 0, 0, 0, 0 };
static BenchCallback g_chain = { { &chain_vtbl }, 1, 0, 0, 0, 0, 0 };
static BenchCallback g_pingpong = { { &pingpong_vtbl }, 1, 0, 0, 0, 0, 0 };
static BenchCallback g_block = { { &block_vtbl }, 1, 0, 0, 0, 0, 0 };
/* GetParameters names MULTITHREADED (the Rust twins: mfwq::callback_on). */
static BenchCallback g_count_mt = { { &count_mt_vtbl }, 1, MT, 0, 0, 0, 0 };
static BenchCallback g_timer = { { &timer_vtbl }, 1, MT, 0, 0, 0, 0 };

static BenchCallback *const g_callbacks[] = { &g_count, &g_count_mt, &g_timer, &g_chain,
                                              &g_pingpong, &g_block };

/* Private queues, allocated on first use and kept for the whole run. */
static DWORD g_private_queue, g_queue_a, g_queue_b, g_submit_queue;

static DWORD private_queue(DWORD *slot)
{
    if (*slot == 0)
        OK(MFAllocateWorkQueue(slot));
    return *slot;
}

/* ======================================================================== */
/* The workloads: each does `n` units and returns the nanoseconds they took */
/* ======================================================================== */

/* (a) n items from one thread onto MULTITHREADED. */
static uint64_t run_fanout_mt(size_t n)
{
    uint64_t t0;
    size_t i;
    latch_reset(n);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        OK(MFPutWorkItem(MT, &g_count.iface, NULL));
    latch_wait("fanout-mt");
    return now_ns() - t0;
}

/* (b) n items from one thread onto a private (standard, one-thread) queue. */
static uint64_t run_fanout_private(size_t n)
{
    DWORD queue = private_queue(&g_private_queue);
    uint64_t t0;
    size_t i;
    latch_reset(n);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        OK(MFPutWorkItem(queue, &g_count.iface, NULL));
    latch_wait("fanout-private");
    return now_ns() - t0;
}

/* (c) two threads each put half of n items onto MULTITHREADED at once. */
typedef struct Producer {
    pthread_barrier_t *start;
    size_t items;
} Producer;

static void *producer_main(void *arg)
{
    Producer *producer = arg;
    size_t i;
    pthread_barrier_wait(producer->start);
    for (i = 0; i < producer->items; i++)
        OK(MFPutWorkItem(MT, &g_count.iface, NULL));
    return NULL;
}

static uint64_t run_two_producers(size_t n)
{
    pthread_barrier_t start;
    pthread_t threads[2];
    Producer producers[2];
    uint64_t t0, elapsed;
    int i;
    latch_reset(n);
    pthread_barrier_init(&start, NULL, 3);
    for (i = 0; i < 2; i++) {
        producers[i].start = &start;
        producers[i].items = i == 0 ? n / 2 : n - n / 2;
        if (pthread_create(&threads[i], NULL, producer_main, &producers[i]) != 0)
            fail("pthread_create", E_FAIL);
    }
    pthread_barrier_wait(&start);
    t0 = now_ns();
    latch_wait("two-producers");
    elapsed = now_ns() - t0;
    for (i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    return elapsed;
}

/* (d) MFCreateAsyncResult + MFInvokeCallback + Release, n times; the callback
 * names MULTITHREADED. */
static uint64_t run_create_invoke(size_t n)
{
    uint64_t t0;
    size_t i;
    latch_reset(n);
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        IMFAsyncResult *result = NULL;
        OK(MFCreateAsyncResult(NULL, &g_count_mt.iface, NULL, &result));
        OK(MFInvokeCallback(result));
        IMFAsyncResult_Release(result);
    }
    latch_wait("create-invoke");
    return now_ns() - t0;
}

/* (e) a chain of n hops on MULTITHREADED: each Invoke puts the next item. */
static uint64_t run_chain(size_t n)
{
    uint64_t t0;
    latch_reset(1);
    atomic_store(&g_chain.count, n);
    t0 = now_ns();
    OK(MFPutWorkItem(MT, &g_chain.iface, NULL));
    latch_wait("chain");
    return now_ns() - t0;
}

/* (f) n round trips between two private queues (A puts to B, B back to A). */
static uint64_t run_pingpong(size_t n)
{
    uint64_t t0;
    g_pingpong.queue_a = private_queue(&g_queue_a);
    g_pingpong.queue_b = private_queue(&g_queue_b);
    g_pingpong.target = n;
    atomic_store(&g_pingpong.count, 0);
    latch_reset(1);
    t0 = now_ns();
    OK(MFPutWorkItem(g_pingpong.queue_a, &g_pingpong.iface, NULL));
    latch_wait("pingpong");
    return now_ns() - t0;
}

/* Of the timer workload's items, 1 in TIMER_FIRE_EVERY is left to fire (after
 * 1-5 ms); every other one is scheduled 10 s out and cancelled at once. */
#define TIMER_FIRE_EVERY 100

static size_t timers_firing(size_t n)
{
    return n / TIMER_FIRE_EVERY;
}

/* (g) n MFScheduleWorkItem calls, each followed by MFCancelWorkItem except
 * the ones left to fire; the time is the calls'; then every fired callback is
 * awaited (untimed) and counted. */
static uint64_t run_timers(size_t n)
{
    size_t firing = timers_firing(n);
    uint64_t t0, elapsed;
    size_t i;
    latch_reset(firing);
    atomic_store(&g_timer.count, 0);
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        if (i % TIMER_FIRE_EVERY == TIMER_FIRE_EVERY - 1) {
            INT64 ms = 1 + (INT64)((i / TIMER_FIRE_EVERY) % 5);
            OK(MFScheduleWorkItem(&g_timer.iface, NULL, -ms, NULL));
        } else {
            MFWORKITEM_KEY key = 0;
            OK(MFScheduleWorkItem(&g_timer.iface, NULL, -10000, &key));
            OK(MFCancelWorkItem(key));
        }
    }
    elapsed = now_ns() - t0;
    if (firing > 0)
        latch_wait("timers");
    if (atomic_load(&g_timer.count) != firing) {
        fprintf(stderr, "mfbench: timers: %zu callbacks ran, %zu expected\n",
                atomic_load(&g_timer.count), firing);
        exit(1);
    }
    return elapsed;
}

/* (h) n MFAllocateWorkQueue + MFUnlockWorkQueue pairs. */
static uint64_t run_churn(size_t n)
{
    uint64_t t0 = now_ns();
    size_t i;
    for (i = 0; i < n; i++) {
        DWORD queue = 0;
        OK(MFAllocateWorkQueue(&queue));
        OK(MFUnlockWorkQueue(queue));
    }
    return now_ns() - t0;
}

/* (i) diagnostic: the putting thread's cost alone. n items onto a private
 * queue whose thread is held by a blocking item, so nothing runs meanwhile;
 * the time is the puts'; then the queue is released and drained (untimed). */
static uint64_t run_submit(size_t n)
{
    DWORD queue = private_queue(&g_submit_queue);
    uint64_t t0, elapsed;
    size_t i;
    latch_reset(n + 1);
    OK(MFPutWorkItem(queue, &g_block.iface, NULL));
    if (WaitForSingleObject(g_blocked, WAIT_LIMIT_MS) != WAIT_OBJECT_0)
        fail("submit: the blocking item never started", E_FAIL);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        OK(MFPutWorkItem(queue, &g_count.iface, NULL));
    elapsed = now_ns() - t0;
    SetEvent(g_release);
    latch_wait("submit");
    return elapsed;
}

typedef struct Workload {
    const char *name;
    size_t items; /* at --scale 1 */
    const char *unit;
    uint64_t (*run)(size_t n);
    const char *about;
} Workload;

static const Workload g_workloads[] = {
    { "fanout-mt", 500000, "item", run_fanout_mt,
      "MFPutWorkItem(MULTITHREADED) from one thread, callback counts down" },
    { "fanout-private", 500000, "item", run_fanout_private,
      "MFPutWorkItem onto a private queue (MFAllocateWorkQueue) from one thread" },
    { "two-producers", 500000, "item", run_two_producers,
      "two threads MFPutWorkItem(MULTITHREADED) at once, half the items each" },
    { "create-invoke", 500000, "item", run_create_invoke,
      "MFCreateAsyncResult + MFInvokeCallback + Release; callback names MULTITHREADED" },
    { "chain", 100000, "hop", run_chain,
      "each Invoke puts the next item on MULTITHREADED" },
    { "pingpong", 50000, "rtt", run_pingpong,
      "private queue A puts to B, B back to A; per round trip" },
    { "timers", 100000, "call", run_timers,
      "MFScheduleWorkItem + MFCancelWorkItem; 1 in 100 left to fire after 1-5 ms" },
    { "churn", 20000, "pair", run_churn,
      "MFAllocateWorkQueue + MFUnlockWorkQueue" },
    { "submit", 200000, "put", run_submit,
      "diagnostic: the putting thread's time per MFPutWorkItem, queue thread held meanwhile" },
};
#define N_WORKLOADS (sizeof g_workloads / sizeof g_workloads[0])

static const Workload *find_workload(const char *name)
{
    size_t i;
    for (i = 0; i < N_WORKLOADS; i++)
        if (strcmp(g_workloads[i].name, name) == 0)
            return &g_workloads[i];
    return NULL;
}

/* ======================================================================== */
/* Driver                                                                   */
/* ======================================================================== */

static void startup(void)
{
    OK(MFStartup(MF_VERSION, MFSTARTUP_FULL));
    g_latch.event = CreateEventW(NULL, FALSE, FALSE, NULL);
    g_blocked = CreateEventW(NULL, FALSE, FALSE, NULL);
    g_release = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (g_latch.event == NULL || g_blocked == NULL || g_release == NULL)
        fail("CreateEventW", E_FAIL);
}

/* Gives the queues back, shuts down, and checks that the platform released
 * every reference to the callbacks. Returns the exit code. */
static int finish(void)
{
    DWORD *queues[] = { &g_private_queue, &g_queue_a, &g_queue_b, &g_submit_queue };
    size_t i;
    int leaks = 0;
    for (i = 0; i < sizeof queues / sizeof queues[0]; i++)
        if (*queues[i] != 0)
            OK(MFUnlockWorkQueue(*queues[i]));
    OK(MFShutdown()); /* runs what is queued; drops every platform reference */
    CloseHandle(g_latch.event);
    CloseHandle(g_blocked);
    CloseHandle(g_release);
    for (i = 0; i < sizeof g_callbacks / sizeof g_callbacks[0]; i++) {
        unsigned refs = atomic_load(&g_callbacks[i]->refs);
        if (refs != 1) {
            fprintf(stderr, "mfbench: callback %zu still has %u references after shutdown\n", i,
                    refs);
            leaks++;
        }
    }
    return leaks == 0 ? 0 : 1;
}

static void print_round(const Workload *w, long round, size_t n, uint64_t ns)
{
    double per = (double)ns / (double)n;
    printf("workload=%s", w->name);
    if (round > 0)
        printf(" round=%ld", round);
    printf(" items=%zu unit=%s ns=%llu ns_per_item=%.2f us_per_item=%.4f items_per_s=%.0f\n", n,
           w->unit, (unsigned long long)ns, per, per / 1000.0, per > 0 ? 1e9 / per : 0.0);
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int selected(const char *filter, const char *name)
{
    char buf[256];
    char *save = NULL, *token;
    if (filter == NULL || *filter == '\0')
        return 1;
    snprintf(buf, sizeof buf, "%s", filter);
    for (token = strtok_r(buf, ",", &save); token != NULL; token = strtok_r(NULL, ",", &save))
        if (strstr(name, token) != NULL)
            return 1;
    return 0;
}

static size_t scaled(size_t items, double scale)
{
    double n = (double)items * scale + 0.5;
    return n < 1.0 ? 1 : (size_t)n;
}

static int run_standalone(long rounds, long warmup, double scale, const char *filter)
{
    size_t w;
    int any = 0;
    startup();
    printf("# mfbench: rounds=%ld warmup=%ld scale=%g (libmfplat through its C ABI)\n", rounds,
           warmup, scale);
    for (w = 0; w < N_WORKLOADS; w++) {
        const Workload *workload = &g_workloads[w];
        size_t n = scaled(workload->items, scale);
        double *samples;
        long r;
        if (!selected(filter, workload->name))
            continue;
        any = 1;
        samples = calloc((size_t)rounds, sizeof *samples);
        if (samples == NULL)
            fail("calloc", E_OUTOFMEMORY);
        for (r = 0; r < warmup; r++)
            (void)workload->run(n);
        for (r = 0; r < rounds; r++) {
            uint64_t ns = workload->run(n);
            samples[r] = (double)ns / (double)n;
            print_round(workload, r + 1, n, ns);
        }
        qsort(samples, (size_t)rounds, sizeof *samples, cmp_double);
        {
            double median = rounds % 2 ? samples[rounds / 2]
                                       : (samples[rounds / 2 - 1] + samples[rounds / 2]) / 2;
            double min = samples[0], max = samples[rounds - 1];
            printf("workload=%s summary rounds=%ld items=%zu unit=%s median_ns_per_item=%.2f "
                   "min_ns_per_item=%.2f max_ns_per_item=%.2f spread_pct=%.0f "
                   "items_per_s=%.0f us_per_item=%.4f\n",
                   workload->name, rounds, n, workload->unit, median, min, max,
                   median > 0 ? (max - min) / median * 100 : 0.0,
                   median > 0 ? 1e9 / median : 0.0, median / 1000.0);
            fflush(stdout);
        }
        free(samples);
    }
    if (!any) {
        fprintf(stderr, "mfbench: no workload matches %s\n", filter);
        finish();
        return 2;
    }
    return finish();
}

/* The line protocol of --serve (see the top of the file). */
static int run_serve(void)
{
    char line[256];
    startup();
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        char name[64];
        unsigned long long n = 0;
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "quit") == 0)
            break;
        if (sscanf(line, "run %63s %llu", name, &n) == 2 && n > 0) {
            const Workload *workload = find_workload(name);
            if (workload == NULL) {
                printf("error=unknown-workload workload=%s\n", name);
                fflush(stdout);
                continue;
            }
            print_round(workload, 0, (size_t)n, workload->run((size_t)n));
        } else if (line[0] != '\0') {
            printf("error=bad-command command=%s\n", line);
            fflush(stdout);
        }
    }
    return finish();
}

static void usage(FILE *to)
{
    fprintf(to, "usage: mfbench [--rounds N] [--warmup N] [--scale F] [--filter NAME[,NAME...]]\n"
                "       mfbench --list | --serve | --help\n");
}

int main(int argc, char **argv)
{
    long rounds = 9, warmup = 1;
    double scale = 1.0;
    const char *filter = NULL;
    int i, list = 0, serve = 0;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--list") == 0) {
            list = 1;
        } else if (strcmp(arg, "--serve") == 0) {
            serve = 1;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (value != NULL && strcmp(arg, "--rounds") == 0) {
            rounds = strtol(value, NULL, 10);
            i++;
        } else if (value != NULL && strcmp(arg, "--warmup") == 0) {
            warmup = strtol(value, NULL, 10);
            i++;
        } else if (value != NULL && strcmp(arg, "--scale") == 0) {
            scale = strtod(value, NULL);
            i++;
        } else if (value != NULL && strcmp(arg, "--filter") == 0) {
            filter = value;
            i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (rounds < 1 || warmup < 0 || !(scale > 0)) {
        usage(stderr);
        return 2;
    }
    if (list) {
        size_t w;
        for (w = 0; w < N_WORKLOADS; w++)
            printf("workload=%s items=%zu unit=%s about=%s\n", g_workloads[w].name,
                   g_workloads[w].items, g_workloads[w].unit, g_workloads[w].about);
        return 0;
    }
    return serve ? run_serve() : run_standalone(rounds, warmup, scale, filter);
}
