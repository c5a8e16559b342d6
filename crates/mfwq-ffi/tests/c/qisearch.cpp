/*
 * qisearch.cpp - QISearch, QITAB, QITABENT, QITABENTMULTI, QITABENTMULTI2
 * and OFFSETOFCLASS from <shlwapi.h>, in C++: a class with two COM bases
 * (and a user interface registered for __uuidof) whose QueryInterface is the
 * one-line QISearch Microsoft's Media Foundation samples write, with a
 * `long m_cRef` counted by InterlockedIncrement as those samples do. A hit
 * returns the base's `this` with a reference added; IUnknown is the first
 * entry; a miss is E_NOINTERFACE with *ppv NULL; a NULL ppv is E_POINTER.
 * The object then serves as a work-queue callback. include/README.md
 * ("QISearch") states the rules.
 */
#include <mfapi.h>
#include <rtworkq.h>
#include <shlwapi.h>

#include <cstdio>
#include <type_traits>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                                        \
    do {                                                                                                   \
        checks++;                                                                                          \
        if (!(cond)) {                                                                                     \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                  \
            failures++;                                                                                    \
        }                                                                                                  \
    } while (0)

static_assert(sizeof(QITAB) == 16, "QITAB is 16 bytes");
static_assert(std::is_same<decltype(&QISearch), HRESULT (*)(void *, LPCQITAB, REFIID, void **)>::value,
              "QISearch's prototype");

/* A user interface of its own, registered so that __uuidof (and QITABENT) know it. */
struct IMyCounter : public IUnknown {
    virtual LONG MFWQ_STDCALL Count() = 0;
};
MFWQ_DECLARE_UUIDOF(IMyCounter, 0x6b1e4c11, 0x1d52, 0x4f2b, 0x9a, 0x34, 0x52, 0x0c, 0x77, 0x8e, 0x01, 0x42)
static const IID IID_IMyCounter = {0x6b1e4c11, 0x1d52, 0x4f2b, {0x9a, 0x34, 0x52, 0x0c, 0x77, 0x8e, 0x01, 0x42}};

class CSample : public IMFAsyncCallback, public IRtwqPlatformEvents, public IMyCounter {
public:
    CSample() : m_cRef(1), m_invokes(0) {}

    /* As Microsoft's samples write it. */
    STDMETHODIMP QueryInterface(REFIID riid, void **ppv)
    {
        static const QITAB qit[] = {
            QITABENT(CSample, IMFAsyncCallback),
            QITABENT(CSample, IRtwqPlatformEvents),
            QITABENTMULTI2(CSample, IID_IMyCounter, IMyCounter),
            {0, 0},
        };
        return QISearch(this, qit, riid, ppv);
    }
    STDMETHODIMP_(ULONG) AddRef() { return InterlockedIncrement(&m_cRef); }
    STDMETHODIMP_(ULONG) Release()
    {
        long cRef = InterlockedDecrement(&m_cRef);
        if (cRef == 0)
            delete this;
        return cRef;
    }

    STDMETHODIMP GetParameters(DWORD *, DWORD *) { return E_NOTIMPL; }
    STDMETHODIMP Invoke(IMFAsyncResult *)
    {
        InterlockedIncrement(&m_invokes);
        return S_OK;
    }
    STDMETHODIMP InitializationComplete() { return S_OK; }
    STDMETHODIMP ShutdownStart() { return S_OK; }
    STDMETHODIMP ShutdownComplete() { return S_OK; }
    LONG MFWQ_STDCALL Count() { return (LONG)InterlockedCompareExchange(&m_cRef, 0, 0); }

    long Invokes() { return InterlockedCompareExchange(&m_invokes, 0, 0); }

private:
    virtual ~CSample() {}
    long m_cRef;
    long m_invokes;
};

/* A class whose QueryInterface goes through a table with QITABENTMULTI: the
 * one IUnknown of a class that implements one interface twice over. */
class CFirstOnly : public IMFAsyncCallback {
public:
    CFirstOnly() : m_cRef(1) {}
    STDMETHODIMP QueryInterface(REFIID riid, void **ppv)
    {
        static const QITAB qit[] = {
            QITABENTMULTI(CFirstOnly, IMFAsyncCallback, IMFAsyncCallback),
            {0, 0},
        };
        return QISearch(this, qit, riid, ppv);
    }
    STDMETHODIMP_(ULONG) AddRef() { return InterlockedIncrement(&m_cRef); }
    STDMETHODIMP_(ULONG) Release()
    {
        unsigned long cRef = InterlockedDecrement(&m_cRef);
        if (cRef == 0)
            delete this;
        return (ULONG)cRef;
    }
    STDMETHODIMP GetParameters(DWORD *, DWORD *) { return E_NOTIMPL; }
    STDMETHODIMP Invoke(IMFAsyncResult *) { return S_OK; }

private:
    virtual ~CFirstOnly() {}
    unsigned long m_cRef; /* the SDK's unsigned overloads */
};

static void test_offsets()
{
    CHECK(OFFSETOFCLASS(IMFAsyncCallback, CSample) == 0);
    CHECK(OFFSETOFCLASS(IRtwqPlatformEvents, CSample) == (int)sizeof(void *));
    CHECK(OFFSETOFCLASS(IMyCounter, CSample) == 2 * (int)sizeof(void *));
}

static void test_hits_and_misses()
{
    CSample *sample = new CSample();
    IMFAsyncCallback *callback = sample;
    IRtwqPlatformEvents *events = NULL;
    IMyCounter *counter = NULL;
    IUnknown *unknown = NULL;

    CHECK(callback->QueryInterface(IID_PPV_ARGS(&events)) == S_OK);
    CHECK(events == static_cast<IRtwqPlatformEvents *>(sample));
    CHECK(sample->Count() == 2);
    CHECK(events->QueryInterface(&counter) == S_OK); /* the typed helper of unknwn.h */
    CHECK(counter == static_cast<IMyCounter *>(sample));
    CHECK(sample->Count() == 3);
    /* IUnknown is the first entry, whichever interface asks. */
    CHECK(counter->QueryInterface(IID_PPV_ARGS(&unknown)) == S_OK);
    CHECK(unknown == static_cast<IUnknown *>(static_cast<IMFAsyncCallback *>(sample)));
    CHECK(sample->Count() == 4);
    unknown->Release();
    counter->Release();
    events->Release();
    CHECK(sample->Count() == 1);

    /* A miss: E_NOINTERFACE, *ppv NULL, no reference. */
    IMFAsyncResult *result = reinterpret_cast<IMFAsyncResult *>(0x55);
    CHECK(callback->QueryInterface(IID_PPV_ARGS(&result)) == E_NOINTERFACE);
    CHECK(result == NULL);
    CHECK(sample->Count() == 1);
    /* NULL ppv. */
    CHECK(callback->QueryInterface(__uuidof(IMFAsyncCallback), NULL) == E_POINTER);
    CHECK(sample->Count() == 1);
    CHECK(callback->Release() == 0);

    CFirstOnly *first = new CFirstOnly();
    CHECK(first->QueryInterface(IID_PPV_ARGS(&unknown)) == S_OK);
    CHECK(unknown == static_cast<IUnknown *>(first));
    CHECK(unknown->Release() == 1);
    CHECK(first->Release() == 0);
}

static void test_as_a_callback()
{
    CSample *sample = new CSample();
    CHECK(MFStartup(MF_VERSION, MFSTARTUP_FULL) == S_OK);
    CHECK(MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, sample, NULL) == S_OK);
    for (int i = 0; i < 10000 && (sample->Invokes() < 1 || sample->Count() > 1); i++)
        Sleep(1);
    CHECK(sample->Invokes() == 1);
    CHECK(sample->Count() == 1);
    CHECK(MFShutdown() == S_OK);
    CHECK(static_cast<IMFAsyncCallback *>(sample)->Release() == 0);
}

int main()
{
    test_offsets();
    test_hits_and_misses();
    test_as_a_callback();
    std::printf("qisearch (C++): %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
