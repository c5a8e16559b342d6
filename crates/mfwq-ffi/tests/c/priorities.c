/*
 * priorities.c - work-item priorities on one-thread queues.
 *
 * docs/behaviour.md#d4: three bands, > 0 high, 0 normal, < 0 low; FIFO inside a band;
 * the non-priority put functions use 0 (MFPutWorkItemEx2: 1 runs before 0,
 * -1 after 0).
 *
 * A first item blocks the queue; the others are put while it runs, so the
 * order in which they then run is the queue's choice alone.
 */
#include "mfwq_test.h"

typedef struct gate {
    HANDLE started;
    HANDLE release;
} gate;

static void gate_hook(tcb *cb, IMFAsyncResult *result)
{
    gate *g = cb->ctx;
    (void)result;
    SetEvent(g->started);
    CHECK(WaitForSingleObject(g->release, T(LONG_WAIT)) == WAIT_OBJECT_0);
}

static order_log order;

static void log_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)result;
    order_push(&order, cb->id);
}

enum method { PUT, PUT2, PUT_EX, PUT_EX2, RTWQ_PUT };

typedef struct item {
    long id;
    LONG priority;
    enum method method;
} item;

static void check_priority_order(DWORD queue, const char *name)
{
    static const item items[] = {
        {1, -1, PUT2}, {2, 0, PUT}, {3, 1, PUT_EX2}, {4, 0, PUT_EX2}, {5, 5, RTWQ_PUT},
        {6, -7, PUT2}, {7, 1, PUT2}, {8, 0, PUT_EX}, {9, -1, RTWQ_PUT}, {10, 1, RTWQ_PUT},
        {11, 0, RTWQ_PUT}, {12, -1, PUT_EX2},
    };
    static const long expected[] = {3, 5, 7, 10, 2, 4, 8, 11, 1, 6, 9, 12};
    enum { N = sizeof(items) / sizeof(items[0]) };
    tcb *callbacks[N];
    IMFAsyncResult *results[N];
    tcb *blocker = tcb_create();
    gate g;

    memset(&order, 0, sizeof(order));
    g.started = CreateEventA(NULL, TRUE, FALSE, NULL);
    g.release = CreateEventA(NULL, TRUE, FALSE, NULL);
    blocker->ctx = &g;
    blocker->hook = gate_hook;
    CHECK_HR(MFPutWorkItem2(queue, -1, &blocker->iface, NULL), S_OK);
    CHECK(wait_signalled(g.started));

    for (int i = 0; i < N; i++) {
        tcb *cb = tcb_create();
        HRESULT hr = E_FAIL;
        cb->id = items[i].id;
        cb->hook = log_hook;
        callbacks[i] = cb;
        results[i] = NULL;
        switch (items[i].method) {
        case PUT:
            hr = MFPutWorkItem(queue, &cb->iface, NULL);
            break;
        case PUT2:
            hr = MFPutWorkItem2(queue, items[i].priority, &cb->iface, NULL);
            break;
        case PUT_EX:
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &results[i]), S_OK);
            hr = MFPutWorkItemEx(queue, results[i]);
            break;
        case PUT_EX2:
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &results[i]), S_OK);
            hr = MFPutWorkItemEx2(queue, items[i].priority, results[i]);
            break;
        case RTWQ_PUT:
            CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &results[i]), S_OK);
            hr = RtwqPutWorkItem(queue, items[i].priority, (IRtwqAsyncResult *)results[i]);
            break;
        }
        CHECK_MSG(hr == S_OK, "%s: put of item %ld returned 0x%08x", name, items[i].id, (unsigned)hr);
    }
    /* Nothing ran while the queue was blocked. */
    CHECK_EQ(order_count(&order), 0);
    SetEvent(g.release);
    WAIT_FOR(order_count(&order) >= N, LONG_WAIT);
    CHECK_EQ(order_count(&order), N);
    for (int i = 0; i < N && i < order_count(&order); i++)
        CHECK_MSG(order.ids[i] == expected[i], "D4 %s: position %d ran item %ld, expected item %ld",
                  name, i, order.ids[i], expected[i]);
    if (t_failures) {
        fprintf(stderr, "D4 %s: order was", name);
        for (int i = 0; i < order_count(&order) && i < N; i++)
            fprintf(stderr, " %ld", order.ids[i]);
        fprintf(stderr, "\n");
    }

    for (int i = 0; i < N; i++) {
        if (results[i] != NULL)
            CHECK_EQ(release_when_idle(results[i]), 0);
        WAIT_REFS(tcb_refs(callbacks[i]), 1, 1000);
        CHECK_EQ(tcb_release(callbacks[i]), 0);
    }
    CHECK(tcb_wait(blocker, 1));
    WAIT_REFS(tcb_refs(blocker), 1, 1000);
    CHECK_EQ(tcb_release(blocker), 0);
    CloseHandle(g.started);
    CloseHandle(g.release);
}

int main(void)
{
    DWORD queue = 0;

    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);

    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    check_priority_order(queue, "private standard queue");
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK_HR(MFAllocateWorkQueueEx(MF_WINDOW_WORKQUEUE, &queue), S_OK);
    check_priority_order(queue, "private window queue");
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    check_priority_order(MFASYNC_CALLBACK_QUEUE_STANDARD, "STANDARD");

    CHECK_HR(MFShutdown(), S_OK);
    return test_finish("priorities");
}
