/*
 * porting_sample.cpp - Media Foundation work-queue code written the way
 * Windows documentation and samples write it in C++, built unchanged against
 * the mfwq headers: COM classes with InterlockedIncrement reference counting
 * (on LONG and on `long` counters), QueryInterface with __uuidof and
 * IID_PPV_ARGS or with QISearch over a QITAB, STDMETHODIMP/IFACEMETHODIMP,
 * a critical-section lock class, CoInitializeEx before MFStartup, an
 * asynchronous method with the Begin/End pattern, a serial queue over the
 * multithreaded queue, a scheduled item, and event waits with
 * WaitForSingleObject and WaitForMultipleObjects.
 *
 * Nothing here is mfwq-specific: only <mfapi.h>, <rtworkq.h> and <shlwapi.h>.
 */
#include <mfapi.h>
#include <rtworkq.h>
#include <shlwapi.h>

#include <cstdio>
#include <new>

static int failures;

#define CHECK_HR(expr)                                                                       \
    do {                                                                                     \
        HRESULT hr_ = (expr);                                                                \
        if (FAILED(hr_)) {                                                                   \
            std::printf("%s:%d: %s failed: 0x%08x\n", __FILE__, __LINE__, #expr, (unsigned)hr_); \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

template <class T> void SafeRelease(T **ppT)
{
    if (*ppT) {
        (*ppT)->Release();
        *ppT = NULL;
    }
}

/* The samples' critical-section wrapper and its scoped lock. */
class CritSec {
public:
    CritSec() { InitializeCriticalSection(&m_cs); }
    ~CritSec() { DeleteCriticalSection(&m_cs); }
    void Lock() { EnterCriticalSection(&m_cs); }
    void Unlock() { LeaveCriticalSection(&m_cs); }

private:
    CRITICAL_SECTION m_cs;
};

class AutoLock {
public:
    explicit AutoLock(CritSec &cs) : m_cs(cs) { m_cs.Lock(); }
    ~AutoLock() { m_cs.Unlock(); }

private:
    CritSec &m_cs;
};

/* ------------------------------------------------------------------------ */
/* An object that averages numbers asynchronously: BeginAverage/EndAverage   */
/* ------------------------------------------------------------------------ */

class CAverager : public IMFAsyncCallback {
public:
    static HRESULT CreateInstance(DWORD queue, CAverager **ppAverager)
    {
        CAverager *p = new (std::nothrow) CAverager(queue);
        if (p == NULL)
            return E_OUTOFMEMORY;
        *ppAverager = p;
        return S_OK;
    }

    // IUnknown
    STDMETHODIMP QueryInterface(REFIID riid, void **ppv)
    {
        if (ppv == NULL)
            return E_POINTER;
        if (riid == __uuidof(IUnknown) || riid == __uuidof(IMFAsyncCallback)) {
            *ppv = static_cast<IMFAsyncCallback *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    STDMETHODIMP_(ULONG) AddRef() { return InterlockedIncrement(&m_cRef); }
    STDMETHODIMP_(ULONG) Release()
    {
        LONG cRef = InterlockedDecrement(&m_cRef);
        if (cRef == 0)
            delete this;
        return cRef;
    }

    // IMFAsyncCallback
    IFACEMETHODIMP GetParameters(DWORD *pdwFlags, DWORD *pdwQueue)
    {
        *pdwFlags = 0;
        *pdwQueue = m_queue;
        return S_OK;
    }

    IFACEMETHODIMP Invoke(IMFAsyncResult *pResult)
    {
        // The work: the caller's result is this item's state.
        IUnknown *pState = NULL;
        IMFAsyncResult *pCallerResult = NULL;
        HRESULT hr = pResult->GetState(&pState);
        if (SUCCEEDED(hr))
            hr = pState->QueryInterface(IID_PPV_ARGS(&pCallerResult));
        if (SUCCEEDED(hr)) {
            AutoLock lock(m_critSec);
            m_average = m_count ? m_sum / m_count : 0;
            pCallerResult->SetStatus(m_count ? S_OK : E_UNEXPECTED);
            hr = MFInvokeCallback(pCallerResult);
        }
        SafeRelease(&pCallerResult);
        SafeRelease(&pState);
        return hr;
    }

    void Add(double value)
    {
        AutoLock lock(m_critSec);
        m_sum += value;
        m_count++;
    }

    HRESULT BeginAverage(IMFAsyncCallback *pCallback, IUnknown *pState)
    {
        IMFAsyncResult *pCallerResult = NULL;
        HRESULT hr = MFCreateAsyncResult(NULL, pCallback, pState, &pCallerResult);
        if (SUCCEEDED(hr))
            hr = MFPutWorkItem(m_queue, this, pCallerResult);
        SafeRelease(&pCallerResult);
        return hr;
    }

    HRESULT EndAverage(IMFAsyncResult *pResult, double *pAverage)
    {
        HRESULT hr = pResult->GetStatus();
        if (SUCCEEDED(hr)) {
            AutoLock lock(m_critSec);
            *pAverage = m_average;
        }
        return hr;
    }

private:
    explicit CAverager(DWORD queue) : m_cRef(1), m_queue(queue), m_sum(0), m_count(0), m_average(0) {}
    virtual ~CAverager() {}

    LONG m_cRef;
    DWORD m_queue;
    CritSec m_critSec;
    double m_sum;
    int m_count;
    double m_average;
};

/* The caller's side: receives the completion and signals an event. */
class CCaller : public IMFAsyncCallback {
public:
    CCaller(CAverager *pAverager, HANDLE hDone) : m_nRefCount(1), m_pAverager(pAverager), m_hDone(hDone), m_result(0), m_hr(E_PENDING)
    {
        m_pAverager->AddRef();
    }

    /* The callbacks of Microsoft's MF documentation: QISearch over a QITAB,
     * and a `long` reference count (64 bits here; the `long` overloads of
     * the Interlocked functions take it). */
    STDMETHODIMP QueryInterface(REFIID riid, void **ppv)
    {
        static const QITAB qit[] = {
            QITABENT(CCaller, IMFAsyncCallback),
            {0},
        };
        return QISearch(this, qit, riid, ppv);
    }
    STDMETHODIMP_(ULONG) AddRef() { return InterlockedIncrement(&m_nRefCount); }
    STDMETHODIMP_(ULONG) Release()
    {
        ULONG uCount = InterlockedDecrement(&m_nRefCount);
        if (uCount == 0)
            delete this;
        return uCount;
    }

    STDMETHODIMP GetParameters(DWORD *, DWORD *) { return E_NOTIMPL; }
    STDMETHODIMP Invoke(IMFAsyncResult *pResult)
    {
        m_hr = m_pAverager->EndAverage(pResult, &m_result);
        SetEvent(m_hDone);
        return S_OK;
    }

    double Result() const { return m_result; }
    HRESULT Status() const { return m_hr; }

private:
    virtual ~CCaller() { SafeRelease(&m_pAverager); }

    long m_nRefCount;
    CAverager *m_pAverager;
    HANDLE m_hDone;
    double m_result;
    HRESULT m_hr;
};

/* A scheduled item that signals an event when its timer fires. */
class CTicker : public IRtwqAsyncCallback {
public:
    explicit CTicker(HANDLE hFired) : m_cRef(1), m_hFired(hFired) {}
    STDMETHODIMP QueryInterface(REFIID riid, void **ppv)
    {
        if (ppv == NULL)
            return E_POINTER;
        if (riid == __uuidof(IUnknown) || riid == __uuidof(IRtwqAsyncCallback)) {
            *ppv = static_cast<IRtwqAsyncCallback *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    STDMETHODIMP_(ULONG) AddRef() { return InterlockedIncrement(&m_cRef); }
    STDMETHODIMP_(ULONG) Release()
    {
        LONG cRef = InterlockedDecrement(&m_cRef);
        if (cRef == 0)
            delete this;
        return cRef;
    }
    STDMETHODIMP GetParameters(DWORD *, DWORD *) { return E_NOTIMPL; }
    STDMETHODIMP Invoke(IRtwqAsyncResult *) { return SetEvent(m_hFired) ? S_OK : E_FAIL; }
    LONG Refs() const { return m_cRef; }

private:
    virtual ~CTicker() {}
    LONG m_cRef;
    HANDLE m_hFired;
};

int main()
{
    HRESULT hr = CoInitializeEx(NULL, COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE);
    CHECK(SUCCEEDED(hr));
    CHECK_HR(MFStartup(MF_VERSION));

    APTTYPE aptType;
    APTTYPEQUALIFIER aptQualifier;
    CHECK_HR(CoGetApartmentType(&aptType, &aptQualifier));
    CHECK(aptType == APTTYPE_MAINSTA);

    DWORD serialQueue = 0;
    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serialQueue));

    CAverager *pAverager = NULL;
    CHECK_HR(CAverager::CreateInstance(serialQueue, &pAverager));
    for (int i = 1; i <= 9; i++)
        pAverager->Add(i);

    // QueryInterface through the typed helper and IID_PPV_ARGS.
    IMFAsyncCallback *pCallback = NULL;
    IUnknown *pUnknown = NULL;
    CHECK_HR(pAverager->QueryInterface(IID_PPV_ARGS(&pCallback)));
    CHECK_HR(pCallback->QueryInterface(&pUnknown));
    CHECK(pUnknown == static_cast<IUnknown *>(pAverager));
    IRtwqPlatformEvents *pEvents = NULL;
    CHECK(pCallback->QueryInterface(IID_PPV_ARGS(&pEvents)) == E_NOINTERFACE && pEvents == NULL);
    SafeRelease(&pUnknown);
    SafeRelease(&pCallback);

    HANDLE hDone = CreateEvent(NULL, FALSE, FALSE, NULL);
    HANDLE hFired = CreateEvent(NULL, TRUE, FALSE, NULL);
    CCaller *pCaller = new CCaller(pAverager, hDone);
    CHECK_HR(pAverager->BeginAverage(pCaller, NULL));
    CHECK(WaitForSingleObject(hDone, 10000) == WAIT_OBJECT_0);
    CHECK_HR(pCaller->Status());
    CHECK(pCaller->Result() == 5.0);

    // A scheduled item and a second average, waited for together.
    CTicker *pTicker = new CTicker(hFired);
    IRtwqAsyncResult *pTick = NULL;
    RTWQWORKITEM_KEY key = 0;
    CHECK_HR(RtwqCreateAsyncResult(NULL, pTicker, NULL, &pTick));
    CHECK_HR(RtwqScheduleWorkItem(pTick, -20, &key));
    pAverager->Add(15);
    CHECK_HR(pAverager->BeginAverage(pCaller, NULL));
    HANDLE waits[] = {hDone, hFired};
    CHECK(WaitForMultipleObjects(2, waits, TRUE, 10000) == WAIT_OBJECT_0);
    CHECK(pCaller->Result() == 6.0);
    SafeRelease(&pTick);

    LARGE_INTEGER frequency, before, after;
    CHECK(QueryPerformanceFrequency(&frequency) && frequency.QuadPart > 0);
    CHECK(QueryPerformanceCounter(&before));
    Sleep(5);
    CHECK(QueryPerformanceCounter(&after) && after.QuadPart > before.QuadPart);

    CHECK_HR(MFUnlockWorkQueue(serialQueue));
    CHECK_HR(MFShutdown());
    for (int i = 0; i < 1000 && pTicker->Refs() > 1; i++)
        Sleep(1);
    CHECK(pTicker->Release() == 0);
    CHECK(pCaller->Release() == 0);
    CHECK(pAverager->Release() == 0);
    CloseHandle(hDone);
    CloseHandle(hFired);
    CoUninitialize();

    std::printf("porting_sample.cpp: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
