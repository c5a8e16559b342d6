/*
 * checked.c - checked mode switched on from C.
 *
 * MFWQ_CHECKED=1 in the environment of the first MFStartup switches checked
 * mode on (docs/checked-mode.md): freed stock results are poisoned and held
 * in a quarantine instead of being reused at once. A correct program must
 * run exactly as without it, and that is what this program checks: puts,
 * an Invoke that takes and gives back a reference of its own, a stock
 * result handed to MFPutWorkItemEx and released when idle, under the
 * sanitizers too.
 *
 * It also checks that a released stock result really is poisoned: its
 * lpVtbl no longer points at the stock vtable. That look at a released
 * object is deliberate; the block is still allocated (in quarantine), so
 * neither ASan nor valgrind objects. The bugs themselves (a second Release,
 * an AddRef after the final Release, an Invoke that releases the result it
 * was given) abort the process; their death tests are in Rust
 * (crates/mfwq/tests/checked.rs).
 */
#include "mfwq_test.h"

/* An Invoke that takes a reference of its own and gives it back. */
static void balanced_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)cb;
    ULONG added = IMFAsyncResult_AddRef(result);
    ULONG left = IMFAsyncResult_Release(result);
    CHECK_MSG(added == left + 1, "AddRef returned %lu, Release %lu", (unsigned long)added,
              (unsigned long)left);
}

int main(void)
{
    int puts = SCALED(1000);
    IMFAsyncResult *result = NULL;
    IMFAsyncResult *other = NULL;
    const IMFAsyncResultVtbl *stock = NULL;
    tcb *cb = tcb_create();

    /* Before the first startup: that is when the variable is read. */
    CHECK_EQ(setenv("MFWQ_CHECKED", "1", 1), 0);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    cb->hook = balanced_hook;

    for (int i = 0; i < puts; i++)
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
    CHECK_MSG(tcb_wait(cb, puts), "%d of %d items ran", tcb_invokes(cb), puts);

    /* A stock result: AddRef/Release, GetStatus, MFPutWorkItemEx. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    stock = result->lpVtbl;
    CHECK_EQ(IMFAsyncResult_AddRef(result), 2);
    CHECK_EQ(IMFAsyncResult_Release(result), 1);
    CHECK_HR(IMFAsyncResult_GetStatus(result), S_OK);
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, result), S_OK);
    CHECK_MSG(tcb_wait(cb, puts + 1), "the stock result's item did not run");
    CHECK_EQ(release_when_idle(result), 0);

    /* Released: poisoned (and a new result does not reuse its memory). */
    CHECK_MSG(result->lpVtbl != stock, "a released result keeps the stock vtable");
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &other), S_OK);
    CHECK_MSG(other != result, "a released result's memory was reused at once");
    CHECK_PTR(other->lpVtbl, stock);
    CHECK_EQ(IMFAsyncResult_Release(other), 0);

    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("checked");
}
