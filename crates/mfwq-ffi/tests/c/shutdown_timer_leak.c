/*
 * shutdown_timer_leak.c - timers still pending at shutdown: they never fire,
 * cancelling them afterwards is MF_E_SHUTDOWN, and their internal results
 * leak together with one platform lock each, as on Windows.
 *
 * docs/behaviour.md#w15, #w41, #w56; #d1 and #d38 (timers not yet due
 * never fire, their results keep their lock, and a result held by a pending
 * timer does not make shutdown wait).
 *
 * This is the one program whose leaks are expected: the platform never
 * gives back what a pending timer holds. Every object that leaks here is
 * allocated inside a function whose name starts with `leaky_` (the
 * platform's internal result is allocated under the leaky_ function that
 * calls MFScheduleWorkItem), and ci/c-abi.sh suppresses exactly the leaks
 * whose allocation stack contains such a frame (ci/lsan-c-abi.supp,
 * ci/valgrind-c-abi.supp). Anything else leaked here is still reported.
 */
#include "mfwq_test.h"

/* Objects that the platform keeps for ever are not counted in t_live. */
static tcb *leaky_callback(void)
{
    tcb *cb = tcb_create();
    t_live_dec();
    return cb;
}

/* docs/behaviour.md#w15, #w56 (MF form): schedules an item due in `ms`, returns its key. */
static MFWORKITEM_KEY leaky_schedule_mf(tcb **out_cb, INT64 ms)
{
    MFWORKITEM_KEY key = 0;
    tcb *cb = leaky_callback();
    CHECK_HR(MFScheduleWorkItem(&cb->iface, NULL, ms, &key), S_OK);
    *out_cb = cb;
    return key;
}

/* docs/behaviour.md#w15 (Rtwq form): the caller's own result, scheduled. */
static IRtwqAsyncResult *leaky_schedule_rtwq(tcb **out_cb, INT64 ms, RTWQWORKITEM_KEY *key)
{
    IRtwqAsyncResult *result = NULL;
    tcb *cb = leaky_callback();
    CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, &result), S_OK);
    CHECK_HR(RtwqScheduleWorkItem(result, ms, key), S_OK);
    *out_cb = cb;
    return result;
}

int main(void)
{
    tcb *mf_cb = NULL, *rtwq_cb = NULL;
    IRtwqAsyncResult *rtwq_result;
    MFWORKITEM_KEY mf_key;
    RTWQWORKITEM_KEY rtwq_key = 0;
    double started;

    /* Default timeout (5 s) on purpose: a pending timer must not make
     * shutdown wait for it (docs/behaviour.md#d1). */
    unsetenv("MFWQ_SHUTDOWN_TIMEOUT_MS");

    /* ---- MF: MFScheduleWorkItem pending at MFShutdown ---- */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(1);
    /* Due in 300 ms (3 s under a slow runner): surely after the shutdown. */
    mf_key = leaky_schedule_mf(&mf_cb, -(INT64)T(300));
    CHECK_LOCK_COUNT(2);
    started = now_ms();
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_MSG(now_ms() - started < 3000, "D1: shutdown waited %.0f ms for a pending timer",
              now_ms() - started);
    /* docs/behaviour.md#w41, #w56: cancelling it afterwards is MF_E_SHUTDOWN ... */
    CHECK_HR(MFCancelWorkItem(mf_key), MF_E_SHUTDOWN);
    /* ... and it never fires, not even once its time has long passed. */
    sleep_ms(T(300) + 300);
    CHECK_EQ(tcb_invokes(mf_cb), 0);
    /* docs/behaviour.md#w15: its internal result keeps the callback and one platform lock:
     * after the next startup the count is 2, not 1. */
    CHECK_EQ(tcb_refs(mf_cb), 2);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_LOCK_COUNT(2);
    /* The old key means nothing in the new platform. */
    CHECK_HR(MFCancelWorkItem(mf_key), MF_E_NOT_FOUND);
    sleep_ms(50);
    CHECK_EQ(tcb_invokes(mf_cb), 0);

    /* ---- Rtwq: the caller's own result, pending at RtwqShutdown ---- */
    rtwq_result = leaky_schedule_rtwq(&rtwq_cb, -(INT64)T(300), &rtwq_key);
    CHECK_HR(RtwqShutdown(), S_OK);
    /* docs/behaviour.md#w15: after the caller's release the platform still holds one reference
     * and never gives it back. */
    CHECK_EQ(IRtwqAsyncResult_Release(rtwq_result), 1);
    CHECK_HR(RtwqCancelWorkItem(rtwq_key), MF_E_SHUTDOWN);
    sleep_ms(T(300) + 300);
    CHECK_EQ(tcb_invokes(rtwq_cb), 0);
    CHECK_EQ(tcb_refs(rtwq_cb), 2);
    /* Two leaked results, two platform locks. */
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_LOCK_COUNT(3);
    CHECK_HR(RtwqShutdown(), S_OK);

    /* The callbacks' own references: released; the platform's stay. */
    CHECK_EQ(tcb_release(mf_cb), 1);
    CHECK_EQ(tcb_release(rtwq_cb), 1);
    CHECK_EQ(tcb_invokes(mf_cb), 0);
    CHECK_EQ(tcb_invokes(rtwq_cb), 0);
    return test_finish("shutdown_timer_leak");
}
