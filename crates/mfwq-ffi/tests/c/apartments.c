/*
 * apartments.c - the COM apartment bookkeeping and task allocator of
 * mfwq_combase.h: CoInitialize[Ex] counting (S_OK, S_FALSE,
 * RPC_E_CHANGED_MODE), CoUninitialize balance, the main STA and other STAs,
 * CO_E_NOTINITIALIZED, the implicit MTA while the platform is started
 * (MFStartup and RtwqStartup), the apartment callbacks see on every platform
 * queue and on private, window, multithreaded and serial queues, the
 * LONG_FUNCTION queue's single-threaded apartments, an initialisation left
 * unbalanced by a callback, CoTaskMemAlloc/Realloc/Free, and the MTA of
 * callbacks the last shutdown delivers on its own thread (mfwq-shutdown).
 *
 * include/README.md ("COM apartments") states the rules checked here.
 *
 * The order matters: the main-STA checks run before any LONG_FUNCTION
 * thread exists (the first of those to look takes the main STA, as on
 * Windows).
 */
#include "mfwq_test.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the enums: 4 bytes, Windows' values ---------------------------------- */

_Static_assert(sizeof(APTTYPE) == 4, "APTTYPE is 4 bytes");
_Static_assert(sizeof(APTTYPEQUALIFIER) == 4, "APTTYPEQUALIFIER is 4 bytes");
_Static_assert(sizeof(COINIT) == 4, "COINIT is 4 bytes");
_Static_assert(APTTYPE_CURRENT == -1 && APTTYPE_STA == 0 && APTTYPE_MTA == 1 && APTTYPE_NA == 2 &&
                   APTTYPE_MAINSTA == 3,
               "APTTYPE values");
_Static_assert(APTTYPEQUALIFIER_NONE == 0 && APTTYPEQUALIFIER_IMPLICIT_MTA == 1 &&
                   APTTYPEQUALIFIER_NA_ON_MTA == 2 && APTTYPEQUALIFIER_NA_ON_STA == 3 &&
                   APTTYPEQUALIFIER_NA_ON_IMPLICIT_MTA == 4 && APTTYPEQUALIFIER_NA_ON_MAINSTA == 5 &&
                   APTTYPEQUALIFIER_APPLICATION_STA == 6 && APTTYPEQUALIFIER_RESERVED_1 == 7,
               "APTTYPEQUALIFIER values");
_Static_assert(COINIT_APARTMENTTHREADED == 0x2 && COINIT_MULTITHREADED == 0x0 &&
                   COINIT_DISABLE_OLE1DDE == 0x4 && COINIT_SPEED_OVER_MEMORY == 0x8,
               "COINIT values");
_Static_assert(RPC_E_CHANGED_MODE == (HRESULT)0x80010106, "RPC_E_CHANGED_MODE");
_Static_assert(RPC_E_CHANGED_MODE < 0, "RPC_E_CHANGED_MODE is a failure");
_Static_assert(CO_E_NOTINITIALIZED == (HRESULT)0x800401F0, "CO_E_NOTINITIALIZED");
_Static_assert(_Generic(&CoInitializeEx, HRESULT (*)(LPVOID, DWORD): 1, default: 0), "CoInitializeEx");
_Static_assert(_Generic(&CoInitialize, HRESULT (*)(LPVOID): 1, default: 0), "CoInitialize");
_Static_assert(_Generic(&CoUninitialize, void (*)(void): 1, default: 0), "CoUninitialize");
_Static_assert(_Generic(&CoGetApartmentType, HRESULT (*)(APTTYPE *, APTTYPEQUALIFIER *): 1, default: 0),
               "CoGetApartmentType");
_Static_assert(_Generic(&CoTaskMemAlloc, LPVOID (*)(SIZE_T): 1, default: 0), "CoTaskMemAlloc");
_Static_assert(_Generic(&CoTaskMemRealloc, LPVOID (*)(LPVOID, SIZE_T): 1, default: 0), "CoTaskMemRealloc");
_Static_assert(_Generic(&CoTaskMemFree, void (*)(LPVOID): 1, default: 0), "CoTaskMemFree");

/* ---- what CoGetApartmentType reports -------------------------------------- */

typedef struct apt {
    HRESULT hr;
    APTTYPE type;
    APTTYPEQUALIFIER qualifier;
} apt;

static apt apt_now(void)
{
    apt a;
    a.type = (APTTYPE)0x55;            /* to see what is written */
    a.qualifier = (APTTYPEQUALIFIER)0x55;
    a.hr = CoGetApartmentType(&a.type, &a.qualifier);
    return a;
}

static int apt_is(apt a, HRESULT hr, APTTYPE type, APTTYPEQUALIFIER qualifier)
{
    return a.hr == hr && a.type == type && a.qualifier == qualifier;
}

static void check_apt_at(const char *file, int line, const char *what, HRESULT hr, APTTYPE type,
                         APTTYPEQUALIFIER qualifier)
{
    apt a = apt_now();
    t_check_(apt_is(a, hr, type, qualifier), file, line,
             "%s: CoGetApartmentType gave 0x%08x type %d qualifier %d, expected 0x%08x type %d qualifier %d",
             what, (unsigned)a.hr, (int)a.type, (int)a.qualifier, (unsigned)hr, (int)type, (int)qualifier);
}
#define CHECK_APT(what, hr, type, qualifier) check_apt_at(__FILE__, __LINE__, what, hr, type, qualifier)
#define CHECK_NO_APT(what) CHECK_APT(what, CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE)
#define CHECK_IMPLICIT_MTA(what) CHECK_APT(what, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_IMPLICIT_MTA)

/* Runs fn on a new pthread and waits for it. */
static void on_thread(void *(*fn)(void *), void *arg) { join_thread(start_thread(fn, arg)); }

/* ---- no COM, no platform ---------------------------------------------------- */

static void test_not_initialized(void)
{
    APTTYPE type = APTTYPE_STA;
    APTTYPEQUALIFIER qualifier = APTTYPEQUALIFIER_IMPLICIT_MTA;

    /* Nothing initialised, platform not started: CO_E_NOTINITIALIZED, and
     * the outputs read APTTYPE_CURRENT / APTTYPEQUALIFIER_NONE. */
    CHECK_NO_APT("before anything");

    /* NULL outputs: E_INVALIDARG, the other output untouched. */
    CHECK_HR(CoGetApartmentType(NULL, &qualifier), E_INVALIDARG);
    CHECK_EQ(qualifier, APTTYPEQUALIFIER_IMPLICIT_MTA);
    CHECK_HR(CoGetApartmentType(&type, NULL), E_INVALIDARG);
    CHECK_EQ(type, APTTYPE_STA);
    CHECK_HR(CoGetApartmentType(NULL, NULL), E_INVALIDARG);

    /* CoUninitialize with nothing to balance does nothing. */
    CoUninitialize();
    CoUninitialize();
    CHECK_NO_APT("after unbalanced CoUninitialize");
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_OK); /* still a first init */
    CoUninitialize();
    CHECK_NO_APT("after a balanced init");
}

static void test_bad_arguments(void)
{
    int dummy = 0;
    /* Reserved must be NULL. */
    CHECK_HR(CoInitializeEx(&dummy, COINIT_MULTITHREADED), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(&dummy, COINIT_APARTMENTTHREADED), E_INVALIDARG);
    CHECK_HR(CoInitialize(&dummy), E_INVALIDARG);
    /* Bits outside COINIT: E_INVALIDARG (none of them names a model). */
    CHECK_HR(CoInitializeEx(NULL, 0x1), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(NULL, 0x3), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(NULL, 0x10), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED | 0x100), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(NULL, 0xFFFFFFFFu), E_INVALIDARG);
    /* Nothing was entered or counted. */
    CHECK_NO_APT("after refused initialisations");
    /* The same refusals inside an apartment are not counted either. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_OK);
    CHECK_HR(CoInitializeEx(&dummy, COINIT_MULTITHREADED), E_INVALIDARG);
    CHECK_HR(CoInitializeEx(NULL, 0x10), E_INVALIDARG);
    CoUninitialize();
    CHECK_NO_APT("one CoUninitialize balances the one accepted init");
}

/* ---- counting in the MTA ---------------------------------------------------- */

static void test_mta_counting(void)
{
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_OK);
    CHECK_APT("explicit MTA", S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_FALSE);
    /* The option flags are accepted and change nothing. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED | COINIT_DISABLE_OLE1DDE), S_FALSE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_SPEED_OVER_MEMORY | COINIT_DISABLE_OLE1DDE), S_FALSE);
    /* The other model: refused, not counted. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED), RPC_E_CHANGED_MODE);
    CHECK_HR(CoInitialize(NULL), RPC_E_CHANGED_MODE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE), RPC_E_CHANGED_MODE);
    CHECK_APT("still MTA after RPC_E_CHANGED_MODE", S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE);

    /* Four counted initialisations: three CoUninitialize keep the thread in. */
    for (int i = 0; i < 3; i++) {
        CoUninitialize();
        CHECK_APT("MTA while inits remain", S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE);
    }
    CoUninitialize();
    CHECK_NO_APT("the last CoUninitialize leaves the MTA");
    CoUninitialize(); /* one too many: nothing */
    CHECK_NO_APT("an extra CoUninitialize");

    /* Left, the thread may choose the other model. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED), S_OK);
    CHECK_APT("STA after leaving the MTA", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_NO_APT("left the STA");
}

/* ---- the main STA and other STAs ------------------------------------------- */

typedef struct sta_probe {
    DWORD coinit;
    HRESULT init_hr;
    HRESULT again_hr;
    HRESULT other_hr;
    apt inside;
    apt after;
    int leave; /* CoUninitialize before returning (else the thread ends inside) */
} sta_probe;

static void *sta_thread(void *arg)
{
    sta_probe *p = arg;
    p->init_hr = CoInitializeEx(NULL, p->coinit);
    p->again_hr = CoInitializeEx(NULL, p->coinit | COINIT_DISABLE_OLE1DDE);
    p->other_hr = CoInitializeEx(NULL, p->coinit == COINIT_MULTITHREADED ? COINIT_APARTMENTTHREADED
                                                                         : COINIT_MULTITHREADED);
    p->inside = apt_now();
    if (p->leave) {
        CoUninitialize();
        CoUninitialize();
    }
    p->after = apt_now();
    return NULL;
}

static void check_sta_probe(const char *what, const sta_probe *p, APTTYPE type)
{
    CHECK_MSG(p->init_hr == S_OK, "%s: first init 0x%08x", what, (unsigned)p->init_hr);
    CHECK_MSG(p->again_hr == S_FALSE, "%s: second init 0x%08x", what, (unsigned)p->again_hr);
    CHECK_MSG(p->other_hr == RPC_E_CHANGED_MODE, "%s: other model 0x%08x", what, (unsigned)p->other_hr);
    CHECK_MSG(apt_is(p->inside, S_OK, type, APTTYPEQUALIFIER_NONE),
              "%s: inside 0x%08x type %d qualifier %d, expected type %d", what, (unsigned)p->inside.hr,
              (int)p->inside.type, (int)p->inside.qualifier, (int)type);
    if (p->leave)
        CHECK_MSG(apt_is(p->after, CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE),
                  "%s: after leaving 0x%08x type %d", what, (unsigned)p->after.hr, (int)p->after.type);
}

static void test_main_sta(void)
{
    sta_probe p;

    /* The first STA in the process is the main STA. */
    CHECK_HR(CoInitialize(NULL), S_OK);
    CHECK_APT("main thread, first STA", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED), S_FALSE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED | COINIT_SPEED_OVER_MEMORY), S_FALSE);
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), RPC_E_CHANGED_MODE);

    /* Other threads' STAs are plain STAs while it lives. */
    memset(&p, 0, sizeof(p));
    p.coinit = COINIT_APARTMENTTHREADED;
    p.leave = 1;
    on_thread(sta_thread, &p);
    check_sta_probe("second STA", &p, APTTYPE_STA);
    /* Another thread's MTA. */
    memset(&p, 0, sizeof(p));
    p.coinit = COINIT_MULTITHREADED;
    p.leave = 1;
    on_thread(sta_thread, &p);
    check_sta_probe("an MTA thread", &p, APTTYPE_MTA);

    /* Three inits: two CoUninitialize keep the main STA. */
    CoUninitialize();
    CoUninitialize();
    CHECK_APT("main STA while an init remains", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_NO_APT("main thread left the main STA");

    /* The main STA is free again: the next STA takes it, here another thread. */
    memset(&p, 0, sizeof(p));
    p.coinit = COINIT_APARTMENTTHREADED;
    p.leave = 0; /* ends inside it: the thread's end gives it up */
    on_thread(sta_thread, &p);
    check_sta_probe("STA after the main STA was left", &p, APTTYPE_MAINSTA);

    /* The thread ended without CoUninitialize: its main STA is free. */
    CHECK_HR(CoInitialize(NULL), S_OK);
    CHECK_APT("main STA after its thread ended", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_NO_APT("left again");
}

/* ---- the implicit MTA -------------------------------------------------------- */

static void *implicit_thread(void *arg)
{
    apt *out = arg;
    *out = apt_now();
    return NULL;
}

static void test_implicit_mta(void)
{
    apt other;

    CHECK_NO_APT("before MFStartup");
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_IMPLICIT_MTA("after MFStartup");
    /* Every thread that initialised nothing is in it, new ones too. */
    on_thread(implicit_thread, &other);
    CHECK(apt_is(other, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_IMPLICIT_MTA));

    /* The implicit MTA is no initialisation: either model is a first init. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_OK);
    CHECK_APT("explicit MTA over the implicit one", S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_IMPLICIT_MTA("back in the implicit MTA");
    CHECK_HR(CoInitialize(NULL), S_OK);
    CHECK_APT("STA while the platform runs", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_IMPLICIT_MTA("STA left: implicit MTA again until shutdown");
    CoUninitialize(); /* nothing to balance: still implicit */
    CHECK_IMPLICIT_MTA("after an unbalanced CoUninitialize");

    /* Startups nest: only the last shutdown ends it. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_IMPLICIT_MTA("after the inner shutdown");
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_NO_APT("after the last MFShutdown");
    on_thread(implicit_thread, &other);
    CHECK(apt_is(other, CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE));

    /* RtwqStartup does the same. */
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_IMPLICIT_MTA("after RtwqStartup");
    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_NO_APT("after RtwqShutdown");

    /* A thread in an STA before startup stays there through it. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_LITE), S_OK);
    CHECK_APT("STA before startup", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_APT("STA after shutdown", S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_NO_APT("left");

    /* An explicit MTA outlives the platform too. */
    CHECK_HR(CoInitializeEx(NULL, COINIT_MULTITHREADED), S_OK);
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_APT("explicit MTA after shutdown", S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_NO_APT("left");
}

/* ---- callbacks on queue threads ------------------------------------------- */

/* What a callback saw, and what its own CoInitializeEx calls returned. */
typedef struct probe {
    apt first;            /* before anything */
    HRESULT same_hr;      /* CoInitializeEx of the thread's own model */
    HRESULT other_hr;     /* of the other model */
    apt after_inits;      /* after both */
    apt after_uninits;    /* after CoUninitialize twice (one more than owed) */
    HRESULT again_hr;     /* CoInitializeEx of the own model after that */
    apt last;
    pthread_t thread;
    int unbalanced;       /* leave the same-model init unbalanced (and skip the rest) */
} probe;

static void probe_hook(tcb *cb, IMFAsyncResult *result)
{
    probe *p = cb->ctx;
    (void)result;
    p->thread = pthread_self();
    p->first = apt_now();
    {
        int sta = p->first.type == APTTYPE_STA || p->first.type == APTTYPE_MAINSTA;
        DWORD own = sta ? COINIT_APARTMENTTHREADED : COINIT_MULTITHREADED;
        DWORD other = sta ? COINIT_MULTITHREADED : COINIT_APARTMENTTHREADED;
        p->same_hr = CoInitializeEx(NULL, own);
        p->other_hr = CoInitializeEx(NULL, other);
        p->after_inits = apt_now();
        if (p->unbalanced)
            return;
        CoUninitialize();
        CoUninitialize(); /* owed none: must not take the thread out */
        p->after_uninits = apt_now();
        p->again_hr = CoInitializeEx(NULL, own);
        CoUninitialize();
        p->last = apt_now();
    }
}

/* Runs one callback on `queue` and returns what it saw. */
static probe run_probe(DWORD queue, int unbalanced)
{
    probe p;
    tcb *cb = tcb_create();
    HRESULT hr;
    memset(&p, 0, sizeof(p));
    p.unbalanced = unbalanced;
    p.first.hr = E_FAIL;
    cb->ctx = &p;
    cb->hook = probe_hook;
    hr = MFPutWorkItem(queue, &cb->iface, NULL);
    CHECK_MSG(hr == S_OK, "MFPutWorkItem(0x%x) returned 0x%08x", (unsigned)queue, (unsigned)hr);
    if (hr == S_OK)
        CHECK_MSG(tcb_wait(cb, 1), "the item put on 0x%x did not run", (unsigned)queue);
    WAIT_REFS(tcb_refs(cb), 1, 1000);
    CHECK_EQ(tcb_release(cb), 0);
    return p;
}

/* A callback on `queue` is in `type` (MTA, or an STA for LONG_FUNCTION),
 * qualifier NONE; its own init of that model is S_FALSE, of the other model
 * RPC_E_CHANGED_MODE; CoUninitialize never takes it out. */
static void check_queue_at(const char *file, int line, const char *what, DWORD queue, APTTYPE type)
{
    probe p = run_probe(queue, 0);
    int sta = type != APTTYPE_MTA;
    t_check_(apt_is(p.first, S_OK, type, APTTYPEQUALIFIER_NONE), file, line,
             "%s (0x%x): callback saw 0x%08x type %d qualifier %d, expected type %d qualifier 0", what,
             (unsigned)queue, (unsigned)p.first.hr, (int)p.first.type, (int)p.first.qualifier, (int)type);
    t_check_(p.same_hr == S_FALSE, file, line, "%s: CoInitializeEx(%s) in a callback gave 0x%08x, expected S_FALSE",
             what, sta ? "STA" : "MTA", (unsigned)p.same_hr);
    t_check_(p.other_hr == RPC_E_CHANGED_MODE, file, line,
             "%s: CoInitializeEx(%s) in a callback gave 0x%08x, expected RPC_E_CHANGED_MODE", what,
             sta ? "MTA" : "STA", (unsigned)p.other_hr);
    t_check_(apt_is(p.after_inits, S_OK, type, APTTYPEQUALIFIER_NONE) &&
                 apt_is(p.after_uninits, S_OK, type, APTTYPEQUALIFIER_NONE) &&
                 apt_is(p.last, S_OK, type, APTTYPEQUALIFIER_NONE),
             file, line, "%s: the callback's apartment changed (types %d %d %d)", what, (int)p.after_inits.type,
             (int)p.after_uninits.type, (int)p.last.type);
    t_check_(p.again_hr == S_FALSE, file, line,
             "%s: CoInitializeEx after extra CoUninitialize gave 0x%08x, expected S_FALSE (the queue's own init stays)",
             what, (unsigned)p.again_hr);
}
#define CHECK_QUEUE(what, queue, type) check_queue_at(__FILE__, __LINE__, what, queue, type)

static void test_platform_queues(void)
{
    static const struct {
        DWORD id;
        const char *name;
    } queues[] = {
        {MFASYNC_CALLBACK_QUEUE_STANDARD, "STANDARD"},
        {MFASYNC_CALLBACK_QUEUE_RT, "RT"},
        {MFASYNC_CALLBACK_QUEUE_IO, "IO"},
        {MFASYNC_CALLBACK_QUEUE_TIMER, "TIMER"},
        {MFASYNC_CALLBACK_QUEUE_MULTITHREADED, "MULTITHREADED"},
    };
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        /* Twice: the pools have several threads; each is in the MTA. */
        CHECK_QUEUE(queues[i].name, queues[i].id, APTTYPE_MTA);
        CHECK_QUEUE(queues[i].name, queues[i].id, APTTYPE_MTA);
    }
    /* The calling thread is still in the implicit MTA. */
    CHECK_IMPLICIT_MTA("main thread while callbacks ran");
    CHECK_HR(MFShutdown(), S_OK);
}

static void test_private_queues(void)
{
    static const struct {
        MFASYNC_WORKQUEUE_TYPE type;
        const char *name;
    } kinds[] = {
        {MF_STANDARD_WORKQUEUE, "private standard"},
        {MF_WINDOW_WORKQUEUE, "private window"},
        {MF_MULTITHREADED_WORKQUEUE, "private multithreaded"},
    };
    DWORD queue, serial;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        CHECK_HR(MFAllocateWorkQueueEx(kinds[i].type, &queue), S_OK);
        CHECK_QUEUE(kinds[i].name, queue, APTTYPE_MTA);
        /* A serial queue runs on the threads of the queue under it. */
        CHECK_HR(MFAllocateSerialWorkQueue(queue, &serial), S_OK);
        CHECK_QUEUE("serial over a private queue", serial, APTTYPE_MTA);
        CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
        CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    }
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    CHECK_QUEUE("serial over MULTITHREADED", serial, APTTYPE_MTA);
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
}

/* LONG_FUNCTION: its threads are single-threaded apartments, as on Windows.
 * With no other STA in the process, the first of its threads to look takes
 * the main STA. */
static void test_long_function(void)
{
    probe p;
    DWORD serial;
    apt seen;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_QUEUE("LONG_FUNCTION (first thread)", MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, APTTYPE_MAINSTA);
    /* Later items may run on other threads of the pool: STA or the main STA. */
    for (int i = 0; i < 4; i++) {
        p = run_probe(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, 0);
        CHECK_MSG(p.first.hr == S_OK && (p.first.type == APTTYPE_STA || p.first.type == APTTYPE_MAINSTA) &&
                      p.first.qualifier == APTTYPEQUALIFIER_NONE,
                  "LONG_FUNCTION: 0x%08x type %d qualifier %d", (unsigned)p.first.hr, (int)p.first.type,
                  (int)p.first.qualifier);
        CHECK_HR(p.same_hr, S_FALSE);
        CHECK_HR(p.other_hr, RPC_E_CHANGED_MODE);
        CHECK_HR(p.again_hr, S_FALSE);
    }
    /* A serial queue over it runs on its threads: STA too. */
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, &serial), S_OK);
    p = run_probe(serial, 0);
    CHECK_MSG(p.first.hr == S_OK && (p.first.type == APTTYPE_STA || p.first.type == APTTYPE_MAINSTA),
              "serial over LONG_FUNCTION: 0x%08x type %d", (unsigned)p.first.hr, (int)p.first.type);
    CHECK_HR(p.other_hr, RPC_E_CHANGED_MODE);
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);

    /* A LONG_FUNCTION thread holds the main STA: the main thread's STA is a
     * plain one now. */
    CHECK_HR(CoInitialize(NULL), S_OK);
    CHECK_APT("main thread STA while a LONG_FUNCTION thread holds the main STA", S_OK, APTTYPE_STA,
              APTTYPEQUALIFIER_NONE);
    CoUninitialize();
    CHECK_HR(MFShutdown(), S_OK);

    /* Its threads end with the platform, and give the main STA up. */
    seen.hr = E_FAIL;
    {
        double deadline = now_ms() + T(LONG_WAIT);
        do {
            CHECK_HR(CoInitialize(NULL), S_OK);
            seen = apt_now();
            CoUninitialize();
            if (seen.type == APTTYPE_MAINSTA)
                break;
            sleep_ms(5);
        } while (now_ms() < deadline);
    }
    CHECK_MSG(apt_is(seen, S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE),
              "main STA after shutdown ended the LONG_FUNCTION threads: type %d", (int)seen.type);
    CHECK_NO_APT("after the LONG_FUNCTION checks");
}

/* Worker threads are reused: a callback that leaves an init unbalanced
 * leaves nothing a later callback on the same thread can see. */
static void test_unbalanced_in_callback(void)
{
    DWORD queue;
    probe first, second, third;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&queue), S_OK); /* one thread: the same for each item */

    first = run_probe(queue, 1); /* S_FALSE kept, never balanced */
    CHECK_HR(first.same_hr, S_FALSE);
    CHECK_HR(first.other_hr, RPC_E_CHANGED_MODE);
    CHECK(apt_is(first.after_inits, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));

    second = run_probe(queue, 1); /* again */
    CHECK(pthread_equal(first.thread, second.thread));
    CHECK(apt_is(second.first, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));
    CHECK_HR(second.same_hr, S_FALSE);
    CHECK_HR(second.other_hr, RPC_E_CHANGED_MODE);

    /* A later, balanced callback sees the queue's apartment as ever. */
    third = run_probe(queue, 0);
    CHECK(pthread_equal(first.thread, third.thread));
    CHECK(apt_is(third.first, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));
    CHECK_HR(third.same_hr, S_FALSE);
    CHECK_HR(third.other_hr, RPC_E_CHANGED_MODE);
    CHECK(apt_is(third.last, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));
    CHECK_HR(third.again_hr, S_FALSE);
    CHECK_QUEUE("private standard after unbalanced callbacks", queue, APTTYPE_MTA);

    CHECK_HR(MFUnlockWorkQueue(queue), S_OK);
    CHECK_HR(MFShutdown(), S_OK);
}

/* ---- the shutdown's rescue thread ------------------------------------------ */

/* A callback the last shutdown delivers on its own thread, mfwq-shutdown
 * (items stranded behind a callback that does not return, and completions
 * owed while the queues drain), is in the MTA like a queue thread: explicitly
 * initialised, qualifier NONE; also an item put on a serial queue over
 * LONG_FUNCTION, whose own threads are STAs. */
typedef struct rescue_probe {
    probe seen; /* first: probe_hook takes cb->ctx as a probe */
    char thread_name[16];
} rescue_probe;

static void rescue_hook(tcb *cb, IMFAsyncResult *result)
{
    rescue_probe *r = cb->ctx;
    probe_hook(cb, result);
    pthread_getname_np(pthread_self(), r->thread_name, sizeof(r->thread_name));
}

/* Blocks its queue's thread until `release` is set. */
static void blocking_hook(tcb *cb, IMFAsyncResult *result)
{
    HANDLE *events = cb->ctx; /* [0] started, [1] release */
    (void)result;
    SetEvent(events[0]);
    WaitForSingleObject(events[1], T(LONG_WAIT));
}

static void test_shutdown_rescue_thread(void)
{
    HANDLE started[2], release = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE events[2][2];
    tcb *blockers[2], *probes[2];
    rescue_probe seen[2];
    DWORD queues[2], private_queue, serial;

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFAllocateWorkQueue(&private_queue), S_OK);
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION, &serial), S_OK);
    queues[0] = private_queue;
    queues[1] = serial;
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 2; i++) {
        /* A callback that does not return before the shutdown gives up on
         * its queue, and an item behind it, stranded there. */
        started[i] = CreateEventA(NULL, TRUE, FALSE, NULL);
        events[i][0] = started[i];
        events[i][1] = release;
        blockers[i] = tcb_create();
        blockers[i]->ctx = events[i];
        blockers[i]->hook = blocking_hook;
        CHECK_HR(MFPutWorkItem(queues[i], &blockers[i]->iface, NULL), S_OK);
        CHECK(WaitForSingleObject(started[i], T(LONG_WAIT)) == WAIT_OBJECT_0);
        seen[i].seen.first.hr = E_FAIL;
        probes[i] = tcb_create();
        probes[i]->ctx = &seen[i];
        probes[i]->hook = rescue_hook;
        CHECK_HR(MFPutWorkItem(queues[i], &probes[i]->iface, NULL), S_OK);
    }
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK_HR(MFUnlockWorkQueue(private_queue), S_OK);

    /* The shutdown gives up on both after 200 ms and delivers the stranded
     * items on mfwq-shutdown, with MF_E_SHUTDOWN; it returns once they ran. */
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);
    CHECK_HR(MFShutdown(), S_OK);
    unsetenv("MFWQ_SHUTDOWN_TIMEOUT_MS");
    for (int i = 0; i < 2; i++) {
        const char *what = i == 0 ? "stranded on a private queue" : "stranded on a serial queue over LONG_FUNCTION";
        CHECK_MSG(tcb_wait(probes[i], 1), "%s: not delivered", what);
        CHECK_MSG(strcmp(seen[i].thread_name, "mfwq-shutdown") == 0, "%s: ran on \"%s\"", what,
                  seen[i].thread_name);
        CHECK_HR(atomic_load(&probes[i]->last_status), MF_E_SHUTDOWN);
        CHECK_MSG(apt_is(seen[i].seen.first, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE),
                  "%s: 0x%08x type %d qualifier %d", what, (unsigned)seen[i].seen.first.hr,
                  (int)seen[i].seen.first.type, (int)seen[i].seen.first.qualifier);
        CHECK_HR(seen[i].seen.same_hr, S_FALSE);
        CHECK_HR(seen[i].seen.other_hr, RPC_E_CHANGED_MODE);
        CHECK(apt_is(seen[i].seen.last, S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));
        CHECK_HR(seen[i].seen.again_hr, S_FALSE);
    }
    /* The blocked callbacks return; their threads end by themselves. */
    CHECK(SetEvent(release));
    for (int i = 0; i < 2; i++) {
        CHECK(tcb_wait(blockers[i], 1));
        WAIT_REFS(tcb_refs(blockers[i]), 1, 1000);
        CHECK_EQ(tcb_release(blockers[i]), 0);
        WAIT_REFS(tcb_refs(probes[i]), 1, 1000);
        CHECK_EQ(tcb_release(probes[i]), 0);
        CHECK(CloseHandle(started[i]));
    }
    CHECK(CloseHandle(release));
    CHECK_NO_APT("after the shutdown");
}

/* ---- CoTaskMem* ------------------------------------------------------------- */

static void free_ctx_hook(tcb *cb, IMFAsyncResult *result)
{
    (void)result;
    CoTaskMemFree(cb->ctx);
    cb->ctx = NULL;
}

static int aligned(const void *p) { return ((uintptr_t)p % alignof(max_align_t)) == 0; }

static void test_task_memory(void)
{
    unsigned char *a, *b, *grown;
    void *zero1, *zero2, *from_null;

    /* No COM initialisation needed (as on Windows). */
    CHECK_NO_APT("CoTaskMem without COM");

    a = CoTaskMemAlloc(64);
    CHECK(a != NULL);
    CHECK(aligned(a));
    for (int i = 0; i < 64; i++)
        a[i] = (unsigned char)i;
    grown = CoTaskMemRealloc(a, 4096);
    CHECK(grown != NULL);
    CHECK(aligned(grown));
    if (grown != NULL) {
        int same = 1;
        for (int i = 0; i < 64; i++)
            same &= grown[i] == (unsigned char)i;
        CHECK_MSG(same, "CoTaskMemRealloc kept the contents");
        memset(grown + 64, 0xAB, 4096 - 64);
        a = CoTaskMemRealloc(grown, 16); /* shrink */
        CHECK(a != NULL);
        if (a != NULL)
            CHECK_EQ(a[15], 15);
        CoTaskMemFree(a);
    }

    /* Zero bytes: a valid, unique block. */
    zero1 = CoTaskMemAlloc(0);
    zero2 = CoTaskMemAlloc(0);
    CHECK(zero1 != NULL && zero2 != NULL && zero1 != zero2);
    CoTaskMemFree(zero1);
    CoTaskMemFree(zero2);

    /* Realloc(NULL, n) allocates; Realloc(NULL, 0) too (a zero-length block). */
    from_null = CoTaskMemRealloc(NULL, 32);
    CHECK(from_null != NULL);
    memset(from_null, 1, 32);
    /* Realloc(p, 0) frees p and returns NULL (the leak checkers see the free). */
    CHECK_PTR(CoTaskMemRealloc(from_null, 0), NULL);
    from_null = CoTaskMemRealloc(NULL, 0);
    CHECK(from_null != NULL);
    CoTaskMemFree(from_null);

    /* Free(NULL): nothing. */
    CoTaskMemFree(NULL);

    /* It is the C heap: the two mix. */
    b = CoTaskMemAlloc(10);
    CHECK(b != NULL);
    free(b);
    b = malloc(10);
    CoTaskMemFree(b);

    /* Blocks cross threads: one allocated here is freed in a callback. */
    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    {
        tcb *cb = tcb_create();
        cb->ctx = CoTaskMemAlloc(128);
        CHECK(cb->ctx != NULL);
        cb->hook = free_ctx_hook;
        CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &cb->iface, NULL), S_OK);
        CHECK(tcb_wait(cb, 1));
        WAIT_REFS(tcb_refs(cb), 1, 1000);
        CHECK_EQ(tcb_release(cb), 0);
    }
    CHECK_HR(MFShutdown(), S_OK);
}

int main(void)
{
    test_not_initialized();
    test_bad_arguments();
    test_mta_counting();
    test_main_sta();
    test_implicit_mta();
    test_platform_queues();
    test_private_queues();
    test_unbalanced_in_callback();
    test_long_function();
    test_task_memory();
    test_shutdown_rescue_thread();

    CHECK_NO_APT("end of program");
    return test_finish("apartments");
}
