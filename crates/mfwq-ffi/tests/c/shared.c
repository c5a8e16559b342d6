/*
 * shared.c - shared work queues (MFLockSharedWorkQueue / RtwqLockSharedWorkQueue).
 *
 * docs/behaviour.md#shared: #w51 to #w53. #w52: class "" with a non-NULL
 * task id is E_INVALIDARG, as on Windows. #d20: one shared multithreaded
 * queue per distinct class name. #d3: a shared queue runs items
 * concurrently.
 */
#include "mfwq_test.h"

#include <string.h>

static const WCHAR empty_class[] = {0};
static const WCHAR audio_class[] = {'A', 'u', 'd', 'i', 'o', 0};

static int runs_on(DWORD queue)
{
    tcb *cb = tcb_create();
    int ran;
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    ran = tcb_wait(cb, 1);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    return ran;
}

/* docs/behaviour.md#w51: a NULL class is E_POINTER, with or without a task id. */
static void test_null_class(void)
{
    DWORD task = 0, queue = 0x1234;
    CHECK_HR(MFLockSharedWorkQueue(NULL, 0, &task, &queue), E_POINTER);
    CHECK_HR(MFLockSharedWorkQueue(NULL, 0, NULL, &queue), E_POINTER);
    CHECK_HR(RtwqLockSharedWorkQueue(NULL, 0, NULL, &queue), E_POINTER);
    CHECK_U(queue, 0x1234);
    /* docs/behaviour.md#d35: a NULL id pointer is E_POINTER. */
    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, NULL), E_POINTER);
}

/* docs/behaviour.md#w52, #w53. */
static void test_empty_class(void)
{
    DWORD first = 0, second = 0, third = 0, task = 0x1234;

    /* docs/behaviour.md#w53: "" with a NULL task id: a queue with private bits. */
    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &first), S_OK);
    CHECK_MSG((first & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0, "53: shared queue id 0x%08x", (unsigned)first);
    /* A second identical call: S_OK and the same id. */
    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &second), S_OK);
    CHECK_U(second, first);
    /* docs/behaviour.md#w52: a non-NULL task id with "" is E_INVALIDARG; nothing is written
     * and no lock is taken. u"" literals work as class names too. */
    CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"", 0, &task, &third), E_INVALIDARG);
    CHECK_HR(RtwqLockSharedWorkQueue(empty_class, 0, &task, &third), E_INVALIDARG);
    CHECK_U(task, 0x1234);
    CHECK_U(third, 0);
    CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"", 0, NULL, &third), S_OK);
    CHECK_U(third, first);
    CHECK(runs_on(first));
    /* docs/behaviour.md#w53: each call added a lock: three unlocks, each S_OK, and the queue
     * works until the last. */
    CHECK_HR(MFUnlockWorkQueue(first), S_OK);
    CHECK_HR(MFUnlockWorkQueue(first), S_OK);
    CHECK(runs_on(first));
    CHECK_HR(MFUnlockWorkQueue(first), S_OK);
    /* Gone now (25); a new call makes a new one. */
    CHECK_HR(MFUnlockWorkQueue(first), MF_E_INVALID_WORKQUEUE);
    CHECK_HR(RtwqLockSharedWorkQueue(empty_class, 0, NULL, &second), S_OK);
    CHECK((second & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0);
    CHECK(runs_on(second));
    CHECK_HR(RtwqUnlockWorkQueue(second), S_OK);
}

/* docs/behaviour.md#d20: one queue per distinct class name. */
static void test_one_queue_per_class(void)
{
    DWORD plain = 0, audio = 0, audio_again = 0, task = 0;

    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &plain), S_OK);
    CHECK_HR(MFLockSharedWorkQueue(audio_class, 0, &task, &audio), S_OK);
    CHECK(audio != plain);
    CHECK((audio & MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK) != 0);
    task = 0;
    CHECK_HR(MFLockSharedWorkQueue((const WCHAR *)u"Audio", 0, &task, &audio_again), S_OK);
    CHECK_U(audio_again, audio);
    CHECK(runs_on(audio));
    CHECK_HR(MFUnlockWorkQueue(audio), S_OK);
    CHECK_HR(MFUnlockWorkQueue(audio_again), S_OK);
    CHECK_HR(MFUnlockWorkQueue(plain), S_OK);
}

typedef struct rendezvous {
    atomic_int arrived;
    atomic_int met;
} rendezvous;

static void rendezvous_hook(tcb *cb, IMFAsyncResult *result)
{
    rendezvous *meeting = cb->ctx;
    (void)result;
    atomic_fetch_add(&meeting->arrived, 1);
    WAIT_FOR(atomic_load(&meeting->arrived) >= 2, 3000);
    if (atomic_load(&meeting->arrived) >= 2)
        atomic_fetch_add(&meeting->met, 1);
}

/* docs/behaviour.md#d3: items on a shared queue run concurrently. */
static void test_concurrent(void)
{
    DWORD queue = 0;
    rendezvous meeting;
    tcb *cb = tcb_create();

    atomic_init(&meeting.arrived, 0);
    atomic_init(&meeting.met, 0);
    cb->ctx = &meeting;
    cb->hook = rendezvous_hook;
    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &queue), S_OK);
    CHECK_HR(MFPutWorkItem(queue, &cb->iface, NULL), S_OK);
    CHECK_HR(MFPutWorkItem2(queue, 1, &cb->iface, NULL), S_OK);
    CHECK(tcb_wait(cb, 2));
    CHECK_MSG(atomic_load(&meeting.met) == 2, "D3: two items on a shared queue did not run side by side");
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
}

/* Class names are the UTF-16 the caller gave, compared and handed back unit
 * for unit: four names that differ only in unpaired surrogates (or U+FFFD)
 * are four queues, and MFGetWorkQueueMMCSSClass returns each one exactly. */
static void test_class_names_are_exact_utf16(void)
{
    static const WCHAR names[4][2] = {{0xD800, 0}, {0xDC00, 0}, {0xDBFF, 0}, {0xFFFD, 0}};
    static const WCHAR mixed[] = {0x41, 0xDC00, 0xD800, 0x42, 0};
    DWORD queues[4] = {0};
    DWORD queue = 0, again = 0;
    int i, j;

    for (i = 0; i < 4; i++) {
        DWORD task = 0;
        WCHAR buffer[4] = {0x7777, 0x7777, 0x7777, 0x7777};
        DWORD length = 4;
        CHECK_HR(MFLockSharedWorkQueue(names[i], 0, &task, &queues[i]), S_OK);
        CHECK_HR(MFGetWorkQueueMMCSSClass(queues[i], buffer, &length), S_OK);
        CHECK_EQ(length, 2);
        CHECK_EQ(buffer[0], names[i][0]);
        CHECK_EQ(buffer[1], 0);
    }
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++)
            CHECK_EQ(queues[i] == queues[j], i == j);
    /* The same units find the same queue again. */
    CHECK_HR(MFLockSharedWorkQueue(names[0], 0, NULL, &again), S_OK);
    CHECK_EQ(again, queues[0]);
    CHECK_HR(MFUnlockWorkQueue(again), S_OK);
    for (i = 0; i < 4; i++)
        CHECK_HR(MFUnlockWorkQueue(queues[i]), S_OK);

    /* Registration keeps them exactly too. */
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK);
    CHECK_HR(MFBeginRegisterWorkQueueWithMMCSS(queue, mixed, 0, NULL, NULL), E_INVALIDARG);
    {
        DWORD task = 0;
        WCHAR buffer[8] = {0};
        DWORD length = 8;
        CHECK_HR(MFRegisterPlatformWithMMCSS(mixed, &task, 0), S_OK);
        CHECK_HR(MFGetWorkQueueMMCSSClass(MFASYNC_CALLBACK_QUEUE_STANDARD, buffer, &length), S_OK);
        CHECK_EQ(length, 5);
        CHECK_EQ(memcmp(buffer, mixed, sizeof mixed), 0);
        CHECK_HR(MFUnregisterPlatformFromMMCSS(), S_OK);
    }
    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
}

int main(void)
{
    DWORD queue = 0;

    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    /* Not started: MF_E_SHUTDOWN (docs/behaviour.md#d34). */
    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &queue), MF_E_SHUTDOWN);
    CHECK_HR(RtwqLockSharedWorkQueue(empty_class, 0, NULL, &queue), MF_E_SHUTDOWN);

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    test_null_class();
    test_empty_class();
    test_one_queue_per_class();
    test_concurrent();
    test_class_names_are_exact_utf16();
    CHECK_HR(MFShutdown(), S_OK);

    CHECK_HR(MFLockSharedWorkQueue(empty_class, 0, NULL, &queue), MF_E_SHUTDOWN);
    return test_finish("shared");
}
