/*
 * trace.c - a C program recorded by the platform's tracer. MFWQ_TRACE names
 * the file (the test that runs it, c_programs.rs, sets a path and decodes the
 * trace afterwards; run on its own the program records to /dev/null). The
 * test finds in the trace each item below with a flow from its put to its
 * Invoke, on worker tracks named after their queues, and the two misuses.
 */
#include "mfwq_test.h"

enum { POOL_ITEMS = 40, PRIVATE_ITEMS = 10 };

int main(void)
{
    DWORD queue = 0;
    tcb *pool = tcb_create();
    tcb *mine = tcb_create();

    /* Read at the first startup; a path the caller set wins. */
    CHECK_EQ(setenv("MFWQ_TRACE", "/dev/null", 0), 0);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    for (int i = 0; i < POOL_ITEMS; i++)
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &pool->iface, NULL), S_OK);
    for (int i = 0; i < PRIVATE_ITEMS; i++)
        CHECK_HR(MFPutWorkItem(queue, &mine->iface, NULL), S_OK);
    CHECK(tcb_wait(pool, POOL_ITEMS));
    CHECK(tcb_wait(mine, PRIVATE_ITEMS));

    /* Misuse, as Windows' invalid-usage events report it: a put to a queue
     * that is gone, a put with no callback. */
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK_HR(MFPutWorkItem(queue, &pool->iface, NULL), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, NULL, NULL), E_INVALIDARG);

    WAIT_REFS(tcb_refs(pool), 1, 1000);
    WAIT_REFS(tcb_refs(mine), 1, 1000);
    CHECK_EQ(tcb_release(pool), 0);
    CHECK_EQ(tcb_release(mine), 0);
    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("trace");
}
