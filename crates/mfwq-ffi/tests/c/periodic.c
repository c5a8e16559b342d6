/*
 * periodic.c - periodic callbacks (MFAddPeriodicCallback and its twin).
 *
 * docs/behaviour.md#periodic: #w44 to #w46, #d18 (10 ms, never
 * overlapping itself, context held until removal, unknown key
 * MF_E_NOT_FOUND).
 */
#include "mfwq_test.h"

typedef struct ticker {
    atomic_int calls;
    atomic_int running;
    atomic_int overlaps;
    _Atomic(IUnknown *) context_seen;
    double sleep_ms;
} ticker;

static ticker tick_a, tick_b, tick_slow, tick_rtwq, tick_keyless;

static void count_tick(ticker *t, IUnknown *context)
{
    if (atomic_fetch_add(&t->running, 1) != 0)
        atomic_fetch_add(&t->overlaps, 1);
    atomic_store(&t->context_seen, context);
    if (t->sleep_ms > 0)
        sleep_ms(t->sleep_ms);
    atomic_fetch_sub(&t->running, 1);
    atomic_fetch_add(&t->calls, 1);
}

static void tick_a_fn(IUnknown *context) { count_tick(&tick_a, context); }
static void tick_b_fn(IUnknown *context) { count_tick(&tick_b, context); }
static void tick_slow_fn(IUnknown *context) { count_tick(&tick_slow, context); }
static void tick_keyless_fn(IUnknown *context) { count_tick(&tick_keyless, context); }
static void MFWQ_STDCALL tick_rtwq_fn(IUnknown *context) { count_tick(&tick_rtwq, context); }

/* docs/behaviour.md#w44: the period is 10 ms. */
static void test_periodicity(void)
{
    DWORD period = 0;
    CHECK_HR(MFGetTimerPeriodicity(&period), S_OK);
    CHECK_U(period, 10);
}

/* docs/behaviour.md#w45, #w46: add, run, remove; the context is held while registered. */
static void test_add_run_remove(void)
{
    DWORD key = 0, other = 0;
    tunk *context = tunk_create(1);
    int calls;
    double started, elapsed;

    /* docs/behaviour.md#w45: a NULL context; a non-zero key; it runs. */
    started = now_ms();
    CHECK_HR(MFAddPeriodicCallback(tick_a_fn, NULL, &key), S_OK);
    CHECK_MSG(key != 0, "45: MFAddPeriodicCallback returned key 0");
    WAIT_FOR(atomic_load(&tick_a.calls) >= 1, 2000);
    CHECK_MSG(atomic_load(&tick_a.calls) >= 1, "45: the periodic callback never ran");
    CHECK_PTR(atomic_load(&tick_a.context_seen), NULL);
    /* It keeps running: several ticks within a few periods... */
    WAIT_FOR(atomic_load(&tick_a.calls) >= 10, 2000);
    calls = atomic_load(&tick_a.calls);
    elapsed = now_ms() - started;
    CHECK_MSG(calls >= 10, "D18: %d ticks in %.0f ms", calls, elapsed);
    /* ... and never faster than the period. */
    CHECK_MSG(calls <= elapsed / 10.0 + 2, "D18: %d ticks in %.0f ms: faster than every 10 ms", calls, elapsed);
    CHECK_HR(MFRemovePeriodicCallback(key), S_OK);
    /* A removed callback stops (one in flight may still finish). */
    sleep_ms(T(50));
    calls = atomic_load(&tick_a.calls);
    sleep_ms(T(100));
    CHECK_MSG(atomic_load(&tick_a.calls) == calls, "45: the callback ran %d times after its removal",
              atomic_load(&tick_a.calls) - calls);
    /* docs/behaviour.md#d18: removing it again, or an unknown key, is MF_E_NOT_FOUND. */
    CHECK_HR(MFRemovePeriodicCallback(key), MF_E_NOT_FOUND);
    CHECK_HR(MFRemovePeriodicCallback(0), MF_E_NOT_FOUND);
    CHECK_HR(MFRemovePeriodicCallback(0xdeadbeef), MF_E_NOT_FOUND);

    /* docs/behaviour.md#w46: the context: +1 while registered, back after removal (the
     * release may be asynchronous: poll up to 500 ms). */
    CHECK_HR(MFAddPeriodicCallback(tick_b_fn, &context->iface, &key), S_OK);
    CHECK_EQ(tunk_refs(context), 2);
    WAIT_FOR(atomic_load(&tick_b.calls) >= 1, 2000);
    CHECK_PTR(atomic_load(&tick_b.context_seen), &context->iface);
    /* Two registrations have two keys. */
    CHECK_HR(MFAddPeriodicCallback(tick_b_fn, &context->iface, &other), S_OK);
    CHECK(other != key && other != 0);
    CHECK_EQ(tunk_refs(context), 3);
    CHECK_HR(MFRemovePeriodicCallback(key), S_OK);
    CHECK_HR(MFRemovePeriodicCallback(other), S_OK);
    WAIT_FOR(tunk_refs(context) == 1, 500);
    CHECK_EQ(tunk_refs(context), 1);
    CHECK_EQ(IUnknown_Release(&context->iface), 0);
}

/* docs/behaviour.md#d18: a slow callback never overlaps itself. */
static void test_no_overlap(void)
{
    DWORD key = 0;
    tick_slow.sleep_ms = 25;
    CHECK_HR(MFAddPeriodicCallback(tick_slow_fn, NULL, &key), S_OK);
    WAIT_FOR(atomic_load(&tick_slow.calls) >= 8, 3000);
    CHECK_HR(MFRemovePeriodicCallback(key), S_OK);
    CHECK(atomic_load(&tick_slow.calls) >= 8);
    WAIT_FOR(atomic_load(&tick_slow.running) == 0, 1000);
    CHECK_MSG(atomic_load(&tick_slow.overlaps) == 0, "D18: the periodic callback overlapped itself %d times",
              atomic_load(&tick_slow.overlaps));
}

/* The Rtwq twin (RTWQPERIODICCALLBACK has the WINAPI convention). */
static void test_rtwq_twin(void)
{
    DWORD key = 0;
    tunk *context = tunk_create(2);
    CHECK_HR(RtwqAddPeriodicCallback(tick_rtwq_fn, &context->iface, &key), S_OK);
    CHECK(key != 0);
    CHECK_EQ(tunk_refs(context), 2);
    WAIT_FOR(atomic_load(&tick_rtwq.calls) >= 3, 2000);
    CHECK(atomic_load(&tick_rtwq.calls) >= 3);
    CHECK_PTR(atomic_load(&tick_rtwq.context_seen), &context->iface);
    /* MF and Rtwq share the keys. */
    CHECK_HR(MFRemovePeriodicCallback(key), S_OK);
    CHECK_HR(RtwqRemovePeriodicCallback(key), MF_E_NOT_FOUND);
    WAIT_FOR(tunk_refs(context) == 1, 500);
    CHECK_EQ(IUnknown_Release(&context->iface), 0);
}

/* A NULL key pointer is accepted; such a callback runs until shutdown, and
 * the shutdown releases its context. */
static void test_keyless_until_shutdown(void)
{
    tunk *context = tunk_create(3);
    int calls;

    CHECK_HR(MFAddPeriodicCallback(tick_keyless_fn, &context->iface, NULL), S_OK);
    WAIT_FOR(atomic_load(&tick_keyless.calls) >= 2, 2000);
    CHECK(atomic_load(&tick_keyless.calls) >= 2);
    CHECK_HR(MFShutdown(), S_OK);
    calls = atomic_load(&tick_keyless.calls);
    sleep_ms(T(100));
    CHECK_MSG(atomic_load(&tick_keyless.calls) == calls, "a periodic callback ran after shutdown");
    WAIT_FOR(tunk_refs(context) == 1, 500);
    CHECK_EQ(tunk_refs(context), 1);
    CHECK_EQ(IUnknown_Release(&context->iface), 0);

    /* Not started: MF_E_SHUTDOWN (docs/behaviour.md#d34). */
    {
        DWORD key = 0;
        CHECK_HR(MFAddPeriodicCallback(tick_keyless_fn, NULL, &key), MF_E_SHUTDOWN);
        CHECK_HR(RtwqAddPeriodicCallback(tick_rtwq_fn, NULL, &key), MF_E_SHUTDOWN);
        CHECK_HR(MFRemovePeriodicCallback(1), MF_E_SHUTDOWN);
    }
}

int main(void)
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    test_periodicity();
    test_add_run_remove();
    test_no_overlap();
    test_rtwq_twin();
    test_keyless_until_shutdown(); /* shuts the platform down */

    return test_finish("periodic");
}
