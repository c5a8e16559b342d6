/*
 * qisearch.c - QISearch and QITAB from <shlwapi.h>, in C: a callback object
 * with two interfaces whose QueryInterface is a QISearch over its table, as
 * Microsoft's Media Foundation samples write it. A hit returns the interface
 * at its offset with a reference added; IID_IUnknown is the first entry; a
 * miss is E_NOINTERFACE with *ppv NULL and no reference; a NULL ppv is
 * E_POINTER; NULL that/table/riid are E_INVALIDARG. The object then serves
 * as a work-queue callback. include/README.md ("QISearch") states the rules.
 */
#include "mfwq_test.h"

#include <shlwapi.h>
#include <stddef.h>

_Static_assert(sizeof(QITAB) == 16, "QITAB is 16 bytes");
_Static_assert(offsetof(QITAB, piid) == 0 && offsetof(QITAB, dwOffset) == 8, "QITAB offsets");
_Static_assert(_Generic(&QISearch, HRESULT (*)(void *, LPCQITAB, REFIID, void **): 1, default: 0),
               "QISearch's prototype");

/* An object with two interfaces: the callback first, then the platform-events
 * sink, sharing one reference count. */
typedef struct Sample {
    IMFAsyncCallback callback;
    IRtwqPlatformEvents events;
    long refCount; /* `long`, as Microsoft's samples declare it */
    atomic_int invokes;
} Sample;

/* In C an interface is a struct member, not a base: QITABENT gives offset 0,
 * right for the first member; the others are written with offsetof. */
static const QITAB sample_qit[] = {
    QITABENT(Sample, IMFAsyncCallback),
    {&IID_IRtwqPlatformEvents, offsetof(Sample, events)},
    {0},
};

static Sample *from_callback(IMFAsyncCallback *iface) { return (Sample *)iface; }
static Sample *from_events(IRtwqPlatformEvents *iface)
{
    return (Sample *)((char *)iface - offsetof(Sample, events));
}

static HRESULT STDMETHODCALLTYPE Sample_QueryInterface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    return QISearch(from_callback(This), sample_qit, riid, ppv);
}
static ULONG STDMETHODCALLTYPE Sample_AddRef(IMFAsyncCallback *This)
{
    return (ULONG)InterlockedIncrement(&from_callback(This)->refCount);
}
static ULONG STDMETHODCALLTYPE Sample_Release(IMFAsyncCallback *This)
{
    Sample *sample = from_callback(This);
    long count = InterlockedDecrement(&sample->refCount);
    if (count == 0)
        free(sample);
    return (ULONG)count;
}
static HRESULT STDMETHODCALLTYPE Sample_GetParameters(IMFAsyncCallback *This, DWORD *flags, DWORD *queue)
{
    (void)This;
    (void)flags;
    (void)queue;
    return E_NOTIMPL;
}
static HRESULT STDMETHODCALLTYPE Sample_Invoke(IMFAsyncCallback *This, IMFAsyncResult *result)
{
    (void)result;
    atomic_fetch_add(&from_callback(This)->invokes, 1);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Events_QueryInterface(IRtwqPlatformEvents *This, REFIID riid, void **ppv)
{
    return QISearch(from_events(This), sample_qit, riid, ppv);
}
static ULONG STDMETHODCALLTYPE Events_AddRef(IRtwqPlatformEvents *This)
{
    return Sample_AddRef(&from_events(This)->callback);
}
static ULONG STDMETHODCALLTYPE Events_Release(IRtwqPlatformEvents *This)
{
    return Sample_Release(&from_events(This)->callback);
}
static HRESULT STDMETHODCALLTYPE Events_Nothing(IRtwqPlatformEvents *This)
{
    (void)This;
    return S_OK;
}

static const IMFAsyncCallbackVtbl sample_callback_vtbl = {
    Sample_QueryInterface, Sample_AddRef, Sample_Release, Sample_GetParameters, Sample_Invoke,
};
static const IRtwqPlatformEventsVtbl sample_events_vtbl = {
    Events_QueryInterface, Events_AddRef, Events_Release, Events_Nothing, Events_Nothing, Events_Nothing,
};

static Sample *sample_create(void)
{
    Sample *sample = calloc(1, sizeof(*sample));
    sample->callback.lpVtbl = (IMFAsyncCallbackVtbl *)&sample_callback_vtbl;
    sample->events.lpVtbl = (IRtwqPlatformEventsVtbl *)&sample_events_vtbl;
    sample->refCount = 1;
    atomic_init(&sample->invokes, 0);
    return sample;
}

static void test_hits_add_a_reference(void)
{
    Sample *sample = sample_create();
    void *found = NULL;

    CHECK_HR(QISearch(sample, sample_qit, &IID_IMFAsyncCallback, &found), S_OK);
    CHECK_PTR(found, &sample->callback);
    CHECK_EQ(sample->refCount, 2);
    CHECK_HR(QISearch(sample, sample_qit, &IID_IRtwqPlatformEvents, &found), S_OK);
    CHECK_PTR(found, &sample->events);
    CHECK_EQ(sample->refCount, 3);
    /* IUnknown: the first entry, from either interface's QueryInterface. */
    CHECK_HR(IMFAsyncCallback_QueryInterface(&sample->callback, &IID_IUnknown, &found), S_OK);
    CHECK_PTR(found, &sample->callback);
    CHECK_HR(IRtwqPlatformEvents_QueryInterface(&sample->events, &IID_IUnknown, &found), S_OK);
    CHECK_PTR(found, &sample->callback);
    CHECK_EQ(sample->refCount, 5);
    /* From one interface to the other. */
    CHECK_HR(IMFAsyncCallback_QueryInterface(&sample->callback, &IID_IRtwqPlatformEvents, &found), S_OK);
    CHECK_PTR(found, &sample->events);
    CHECK_EQ(IRtwqPlatformEvents_Release((IRtwqPlatformEvents *)found), 5);
    for (int i = 0; i < 4; i++)
        IMFAsyncCallback_Release(&sample->callback);
    CHECK_EQ(sample->refCount, 1);
    CHECK_EQ(IMFAsyncCallback_Release(&sample->callback), 0);
}

static void test_misses_and_bad_arguments(void)
{
    Sample *sample = sample_create();
    static const QITAB empty[] = {{0}};
    void *found = (void *)0x55;

    /* Not in the table: E_NOINTERFACE, *ppv NULL, no reference. */
    CHECK_HR(QISearch(sample, sample_qit, &IID_IMFAsyncResult, &found), E_NOINTERFACE);
    CHECK_PTR(found, NULL);
    found = (void *)0x55;
    CHECK_HR(IMFAsyncCallback_QueryInterface(&sample->callback, &IID_IRtwqAsyncResult, &found), E_NOINTERFACE);
    CHECK_PTR(found, NULL);
    /* An empty table has no IUnknown either. */
    found = (void *)0x55;
    CHECK_HR(QISearch(sample, empty, &IID_IUnknown, &found), E_NOINTERFACE);
    CHECK_PTR(found, NULL);
    CHECK_EQ(sample->refCount, 1);

    /* NULL ppv: E_POINTER; NULL object, table or IID: E_INVALIDARG. */
    CHECK_HR(QISearch(sample, sample_qit, &IID_IMFAsyncCallback, NULL), E_POINTER);
    found = (void *)0x55;
    CHECK_HR(QISearch(NULL, sample_qit, &IID_IMFAsyncCallback, &found), E_INVALIDARG);
    CHECK_PTR(found, NULL);
    found = (void *)0x55;
    CHECK_HR(QISearch(sample, NULL, &IID_IMFAsyncCallback, &found), E_INVALIDARG);
    CHECK_PTR(found, NULL);
    found = (void *)0x55;
    CHECK_HR(QISearch(sample, sample_qit, NULL, &found), E_INVALIDARG);
    CHECK_PTR(found, NULL);
    CHECK_EQ(sample->refCount, 1);
    CHECK_EQ(IMFAsyncCallback_Release(&sample->callback), 0);
}

/* The object works as a callback: the platform holds and releases it. */
static void test_as_a_callback(void)
{
    Sample *sample = sample_create();

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &sample->callback, NULL), S_OK);
    WAIT_FOR(atomic_load(&sample->invokes) == 1, LONG_WAIT);
    /* The platform's Release runs on its worker: read the count atomically. */
    WAIT_FOR(InterlockedCompareExchange(&sample->refCount, 0, 0) == 1, 1000);
    CHECK_EQ(atomic_load(&sample->invokes), 1);
    CHECK_EQ(InterlockedCompareExchange(&sample->refCount, 0, 0), 1);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(IMFAsyncCallback_Release(&sample->callback), 0);
}

int main(void)
{
    /* OFFSETOFCLASS in C: a struct has no bases, every "base" is at 0. */
    CHECK_EQ(OFFSETOFCLASS(IMFAsyncCallback, Sample), 0);
    test_hits_add_a_reference();
    test_misses_and_bad_arguments();
    test_as_a_callback();
    return test_finish("qisearch");
}
