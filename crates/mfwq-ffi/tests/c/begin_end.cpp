/*
 * begin_end.cpp - the platform from C++: classes deriving from
 * IMFAsyncCallback, IUnknown, IRtwqAsyncCallback, IRtwqPlatformEvents and
 * MFASYNCRESULT (a custom result object), called through their vtables by
 * the Rust library. Proves that the C++ vtable layout of the headers
 * interoperates with libmfplat.
 *
 * Covers docs/behaviour.md#begin-end (Begin/End, "Writing an Asynchronous Method"),
 * docs/behaviour.md#results / #layout and "Custom Asynchronous Result Objects" (a C++ result derived
 * from MFASYNCRESULT), docs/behaviour.md#w30 (Invoke gets the very pointer put),
 * docs/behaviour.md#d10 (reply mode, with the reply from another thread), docs/behaviour.md#d15 (a
 * cancelled waiting item goes through SetStatus), docs/behaviour.md#d25 (platform events),
 * and MFStartup's C++ default argument.
 */
#include <mfapi.h>
#include <rtworkq.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

// ---- checks -----------------------------------------------------------------

static std::atomic<int> g_failures{0};
static std::atomic<int> g_checks{0};
static std::atomic<int> g_live{0}; // objects of this file still alive

static bool check(bool ok, const char *file, int line, const char *what)
{
    ++g_checks;
    if (!ok) {
        ++g_failures;
        std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
    return ok;
}
#define CHECK(cond) check((cond), __FILE__, __LINE__, #cond)
#define CHECK_HR(expr, expected)                                                                  \
    do {                                                                                          \
        HRESULT hr_a_ = (expr);                                                                   \
        HRESULT hr_e_ = (expected);                                                               \
        if (!check(hr_a_ == hr_e_, __FILE__, __LINE__, #expr " == " #expected))                   \
            std::fprintf(stderr, "    got 0x%08x, expected 0x%08x\n", (unsigned)hr_a_, (unsigned)hr_e_); \
    } while (0)
#define CHECK_EQ(actual, expected)                                                                \
    do {                                                                                          \
        long long eq_a_ = (long long)(actual);                                                    \
        long long eq_e_ = (long long)(expected);                                                  \
        if (!check(eq_a_ == eq_e_, __FILE__, __LINE__, #actual " == " #expected))                 \
            std::fprintf(stderr, "    got %lld, expected %lld\n", eq_a_, eq_e_);                  \
    } while (0)

static bool slow() { const char *s = std::getenv("MFWQ_C_SLOW"); return s && *s && std::strcmp(s, "0") != 0; }

// Polls `cond` for up to `ms` milliseconds (ten times more under a slow runner).
template <typename F> static bool wait_for(F cond, int ms = 10000)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(slow() ? ms * 10 : ms);
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline)
            return cond();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

static void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// ---- COM base --------------------------------------------------------------

// Reference counting for any interface I; deletes the final object at 0.
template <typename Derived, typename I> class ComObject : public I {
public:
    ULONG MFWQ_STDCALL AddRef() override { return ++m_refs; }
    ULONG MFWQ_STDCALL Release() override
    {
        ULONG refs = --m_refs;
        if (refs == 0) {
            delete static_cast<Derived *>(this);
            --g_live;
        }
        return refs;
    }
    HRESULT MFWQ_STDCALL QueryInterface(REFIID riid, void **out) override
    {
        if (out == nullptr)
            return E_POINTER;
        if (riid == IID_IUnknown || static_cast<Derived *>(this)->Supports(riid)) {
            *out = static_cast<I *>(this);
            AddRef();
            return S_OK;
        }
        *out = nullptr;
        return E_NOINTERFACE;
    }
    ULONG refs() const { return m_refs.load(); }

protected:
    ComObject() { ++g_live; }

private:
    std::atomic<ULONG> m_refs{1};
};

// A callback that runs a std::function; GetParameters names a queue.
class FunctionCallback final : public ComObject<FunctionCallback, IMFAsyncCallback> {
public:
    explicit FunctionCallback(std::function<void(IMFAsyncResult *)> fn, DWORD queue = 0, DWORD flags = 0)
        : m_fn(std::move(fn)), m_queue(queue), m_flags(flags) {}
    bool Supports(REFIID riid) const { return riid == IID_IMFAsyncCallback; }

    HRESULT MFWQ_STDCALL GetParameters(DWORD *flags, DWORD *queue) override
    {
        CHECK(flags != nullptr && queue != nullptr); // docs/behaviour.md#w31
        if (m_queue == 0 && m_flags == 0)
            return E_NOTIMPL;
        *flags = m_flags;
        *queue = m_queue;
        return S_OK;
    }
    HRESULT MFWQ_STDCALL Invoke(IMFAsyncResult *result) override
    {
        m_last = result;
        if (m_fn)
            m_fn(result);
        ++m_invokes;
        return S_OK;
    }
    int invokes() const { return m_invokes.load(); }
    IMFAsyncResult *last() const { return m_last.load(); }

private:
    std::function<void(IMFAsyncResult *)> m_fn;
    DWORD m_queue;
    DWORD m_flags;
    std::atomic<int> m_invokes{0};
    std::atomic<IMFAsyncResult *> m_last{nullptr};
};

// ---- Begin/End -------------------------------------------------------------

class Operation final : public ComObject<Operation, IUnknown> {
public:
    explicit Operation(double input) : input(input) {}
    bool Supports(REFIID) const { return false; }
    double input;
    double output = 0;
};

class SqrtComponent final : public ComObject<SqrtComponent, IMFAsyncCallback> {
public:
    explicit SqrtComponent(DWORD queue) : m_queue(queue) {}
    bool Supports(REFIID riid) const { return riid == IID_IMFAsyncCallback; }

    HRESULT BeginSquareRoot(double x, IMFAsyncCallback *callback, IUnknown *state)
    {
        Operation *op = new Operation(x);
        IMFAsyncResult *result = nullptr;
        HRESULT hr = MFCreateAsyncResult(op, callback, state, &result);
        if (SUCCEEDED(hr)) {
            hr = MFPutWorkItem(m_queue, this, result);
            result->Release();
        }
        op->Release();
        return hr;
    }

    static HRESULT EndSquareRoot(IMFAsyncResult *result, double *value)
    {
        if (result == nullptr || value == nullptr)
            return E_POINTER;
        HRESULT hr = result->GetStatus();
        if (FAILED(hr))
            return hr;
        IUnknown *object = nullptr;
        hr = result->GetObject(&object);
        if (FAILED(hr))
            return hr;
        *value = static_cast<Operation *>(object)->output;
        object->Release();
        return S_OK;
    }

    HRESULT MFWQ_STDCALL GetParameters(DWORD *, DWORD *) override { return E_NOTIMPL; }

    HRESULT MFWQ_STDCALL Invoke(IMFAsyncResult *work) override
    {
        IUnknown *state = nullptr;
        IMFAsyncResult *caller = nullptr;
        IUnknown *object = nullptr;
        HRESULT hr = work->GetState(&state);
        CHECK_HR(hr, S_OK);
        if (SUCCEEDED(hr))
            hr = state->QueryInterface(IID_IMFAsyncResult, reinterpret_cast<void **>(&caller));
        CHECK_HR(hr, S_OK);
        if (SUCCEEDED(hr)) {
            hr = caller->GetObject(&object);
            if (SUCCEEDED(hr)) {
                Operation *op = static_cast<Operation *>(object);
                if (op->input < 0)
                    hr = E_INVALIDARG;
                else
                    op->output = std::sqrt(op->input);
            }
            caller->SetStatus(hr);
            CHECK_HR(MFInvokeCallback(caller), S_OK);
        }
        if (object)
            object->Release();
        if (caller)
            caller->Release();
        if (state)
            state->Release();
        ++work_done;
        return S_OK;
    }

    std::atomic<int> work_done{0};

private:
    DWORD m_queue;
};

static void test_begin_end()
{
    SqrtComponent *component = new SqrtComponent(MFASYNC_CALLBACK_QUEUE_STANDARD);
    std::atomic<HRESULT> end_hr{E_UNEXPECTED};
    std::atomic<double> value{-1.0};
    std::atomic<IUnknown *> seen_state{nullptr};
    FunctionCallback *caller = new FunctionCallback(
        [&](IMFAsyncResult *result) {
            double out = -123.0;
            seen_state = result->GetStateNoAddRef();
            end_hr = SqrtComponent::EndSquareRoot(result, &out);
            value = out;
        },
        MFASYNC_CALLBACK_QUEUE_MULTITHREADED);
    Operation *state = new Operation(0); // any IUnknown as the caller's state

    CHECK_HR(component->BeginSquareRoot(81.0, caller, state), S_OK);
    CHECK(wait_for([&] { return caller->invokes() >= 1; }));
    CHECK_HR(end_hr.load(), S_OK);
    CHECK(value.load() == 9.0);
    CHECK(seen_state.load() == static_cast<IUnknown *>(state));

    CHECK_HR(component->BeginSquareRoot(-4.0, caller, nullptr), S_OK);
    CHECK(wait_for([&] { return caller->invokes() >= 2; }));
    CHECK_HR(end_hr.load(), E_INVALIDARG);
    CHECK(value.load() == -123.0);

    CHECK(wait_for([&] { return caller->refs() == 1 && component->refs() == 1; }, 1000));
    CHECK_EQ(state->refs(), 1);
    CHECK_EQ(component->work_done.load(), 2);
    CHECK_EQ(caller->Release(), 0);
    CHECK_EQ(component->Release(), 0);
    CHECK_EQ(state->Release(), 0);
}

// ---- a custom result derived from MFASYNCRESULT ----------------------------

class CustomResult final : public MFASYNCRESULT {
public:
    explicit CustomResult(IMFAsyncCallback *callback)
    {
        // MFASYNCRESULT's fields: overlapped and the rest zero, pCallback set.
        std::memset(&overlapped, 0, sizeof(overlapped));
        pCallback = callback;
        hrStatusResult = S_OK;
        dwBytesTransferred = 0;
        hEvent = nullptr;
        if (callback)
            callback->AddRef();
        ++g_live;
        MFLockPlatform();
    }

    HRESULT MFWQ_STDCALL QueryInterface(REFIID riid, void **out) override
    {
        if (out == nullptr)
            return E_POINTER;
        if (riid == IID_IUnknown || riid == IID_IMFAsyncResult) {
            *out = static_cast<IMFAsyncResult *>(this);
            AddRef();
            return S_OK;
        }
        *out = nullptr;
        return E_NOINTERFACE;
    }
    ULONG MFWQ_STDCALL AddRef() override { return ++m_refs; }
    ULONG MFWQ_STDCALL Release() override
    {
        ULONG refs = --m_refs;
        if (refs == 0) {
            if (pCallback)
                pCallback->Release();
            delete this;
            --g_live;
            MFUnlockPlatform();
        }
        return refs;
    }
    // No state and no object: E_POINTER, as the stock result (docs/behaviour.md#w19, #w20).
    HRESULT MFWQ_STDCALL GetState(IUnknown **) override { return E_POINTER; }
    HRESULT MFWQ_STDCALL GetStatus() override { return hrStatusResult; }
    HRESULT MFWQ_STDCALL SetStatus(HRESULT status) override
    {
        ++set_status_calls;
        hrStatusResult = status;
        return S_OK;
    }
    HRESULT MFWQ_STDCALL GetObject(IUnknown **) override { return E_POINTER; }
    IUnknown *MFWQ_STDCALL GetStateNoAddRef() override { return nullptr; }

    ULONG refs() const { return m_refs.load(); }
    std::atomic<int> set_status_calls{0};

private:
    std::atomic<ULONG> m_refs{1};
};

static void test_custom_result()
{
    std::atomic<HRESULT> status{E_UNEXPECTED};
    FunctionCallback *cb = new FunctionCallback([&](IMFAsyncResult *result) { status = result->GetStatus(); });
    CustomResult *custom = new CustomResult(cb);
    IMFAsyncResult *as_result = custom;

    // The C++ layout is the MFASYNCRESULT layout: the vtable pointer first,
    // pCallback at 40, hEvent at 56.
    const char *base = reinterpret_cast<const char *>(as_result);
    CHECK(static_cast<void *>(as_result) == static_cast<void *>(custom));
    CHECK_EQ(reinterpret_cast<const char *>(&custom->pCallback) - base, 40);
    CHECK_EQ(reinterpret_cast<const char *>(&custom->hrStatusResult) - base, 48);
    CHECK_EQ(reinterpret_cast<const char *>(&custom->hEvent) - base, 56);

    int n = 0;
    CHECK_HR(MFPutWorkItemEx(MFASYNC_CALLBACK_QUEUE_STANDARD, custom), S_OK);
    CHECK(wait_for([&] { return cb->invokes() >= n + 1; }));
    ++n;
    CHECK(cb->last() == as_result);
    CHECK(wait_for([&] { return custom->refs() == 1; }, 1000));

    CHECK_HR(MFInvokeCallback(custom), S_OK);
    CHECK(wait_for([&] { return cb->invokes() >= n + 1; }));
    ++n;
    CHECK(cb->last() == as_result);
    CHECK(wait_for([&] { return custom->refs() == 1; }, 1000));

    MFWORKITEM_KEY key = 0;
    CHECK_HR(MFScheduleWorkItemEx(custom, -10, &key), S_OK);
    CHECK(wait_for([&] { return cb->invokes() >= n + 1; }));
    ++n;
    CHECK(cb->last() == as_result);
    CHECK(wait_for([&] { return custom->refs() == 1; }, 1000));

    // A waiting item fired, then one cancelled (docs/behaviour.md#d15: through SetStatus).
    HANDLE event = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    CHECK_HR(MFPutWaitingWorkItem(event, 0, custom, &key), S_OK);
    CHECK(SetEvent(event));
    CHECK(wait_for([&] { return cb->invokes() >= n + 1; }));
    ++n;
    CHECK_HR(status.load(), S_OK);
    CHECK(wait_for([&] { return custom->refs() == 1; }, 1000));
    CHECK_HR(MFPutWaitingWorkItem(event, 0, custom, &key), S_OK);
    CHECK_HR(MFCancelWorkItem(key), S_OK);
    CHECK(wait_for([&] { return cb->invokes() >= n + 1; }));
    ++n;
    CHECK(custom->set_status_calls.load() >= 1);
    CHECK_HR(status.load(), MF_E_OPERATION_CANCELLED);
    CHECK(wait_for([&] { return custom->refs() == 1; }, 1000));
    CHECK(CloseHandle(event));

    CHECK_EQ(custom->Release(), 0);
    CHECK(wait_for([&] { return cb->refs() == 1; }, 1000));
    CHECK_EQ(cb->Release(), 0);
}

// ---- Rtwq in C++ --------------------------------------------------------------

class RtwqCallback final : public ComObject<RtwqCallback, IRtwqAsyncCallback> {
public:
    bool Supports(REFIID riid) const { return riid == IID_IRtwqAsyncCallback; }
    HRESULT MFWQ_STDCALL GetParameters(DWORD *, DWORD *) override { return E_NOTIMPL; }
    HRESULT MFWQ_STDCALL Invoke(IRtwqAsyncResult *result) override
    {
        IUnknown *state = nullptr;
        if (SUCCEEDED(result->GetState(&state))) {
            last_state = state;
            state->Release();
        }
        last = result;
        ++invokes;
        return S_OK;
    }
    std::atomic<int> invokes{0};
    std::atomic<IRtwqAsyncResult *> last{nullptr};
    std::atomic<IUnknown *> last_state{nullptr};
};

class PlatformEvents final : public ComObject<PlatformEvents, IRtwqPlatformEvents> {
public:
    bool Supports(REFIID riid) const { return riid == IID_IRtwqPlatformEvents; }
    HRESULT MFWQ_STDCALL InitializationComplete() override { ++init; return S_OK; }
    HRESULT MFWQ_STDCALL ShutdownStart() override { ++start; return S_OK; }
    HRESULT MFWQ_STDCALL ShutdownComplete() override { ++complete; return S_OK; }
    std::atomic<int> init{0}, start{0}, complete{0};
};

static void test_rtwq()
{
    PlatformEvents *events = new PlatformEvents();
    CHECK_HR(RtwqRegisterPlatformEvents(events), S_OK);
    CHECK_HR(RtwqStartup(), S_OK);
    CHECK_EQ(events->init.load(), 1);

    RtwqCallback *cb = new RtwqCallback();
    Operation *state = new Operation(1);
    IRtwqAsyncResult *result = nullptr;
    CHECK_HR(RtwqCreateAsyncResult(nullptr, cb, state, &result), S_OK);
    CHECK_HR(RtwqPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, 1, result), S_OK);
    CHECK(wait_for([&] { return cb->invokes.load() >= 1; }));
    CHECK(cb->last.load() == result);
    CHECK(cb->last_state.load() == static_cast<IUnknown *>(state));
    CHECK_HR(RtwqInvokeCallback(result), S_OK);
    CHECK(wait_for([&] { return cb->invokes.load() >= 2; }));
    CHECK(wait_for([&] {
        result->AddRef();
        return result->Release() == 1;
    }, 1000));
    CHECK_EQ(result->Release(), 0);
    CHECK_EQ(state->refs(), 1);

    CHECK_HR(RtwqShutdown(), S_OK);
    CHECK_EQ(events->start.load(), 1);
    CHECK_EQ(events->complete.load(), 1);
    CHECK_HR(RtwqUnregisterPlatformEvents(events), S_OK);
    CHECK(wait_for([&] { return events->refs() == 1; }, 1000));
    CHECK_EQ(events->Release(), 0);
    CHECK(wait_for([&] { return cb->refs() == 1; }, 1000));
    CHECK_EQ(cb->Release(), 0);
    CHECK_EQ(state->Release(), 0);
}

// ---- reply mode with a std::thread reply ------------------------------------

static void test_reply_mode()
{
    DWORD serial = 0;
    std::atomic<IMFAsyncResult *> reply{nullptr};
    FunctionCallback *first = new FunctionCallback(
        [&](IMFAsyncResult *result) {
            result->AddRef();
            reply = result;
        },
        MFASYNC_CALLBACK_QUEUE_MULTITHREADED, MFASYNC_REPLY_CALLBACK);
    FunctionCallback *second = new FunctionCallback(nullptr);

    CHECK_HR(MFAllocateSerialWorkQueue(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &serial), S_OK);
    CHECK_HR(MFPutWorkItem(serial, first, nullptr), S_OK);
    CHECK_HR(MFPutWorkItem(serial, second, nullptr), S_OK);
    CHECK(wait_for([&] { return first->invokes() >= 1; }));
    sleep_ms(150);
    CHECK_EQ(second->invokes(), 0); // docs/behaviour.md#d10: waits for the reply
    std::thread replier([&] {
        IMFAsyncResult *r = reply.load();
        CHECK_HR(MFInvokeCallback(r), S_OK);
        r->Release();
    });
    replier.join();
    CHECK(wait_for([&] { return second->invokes() >= 1; }));
    CHECK_HR(MFUnlockWorkQueue(serial), S_OK);
    CHECK(wait_for([&] { return first->refs() == 1 && second->refs() == 1; }, 1000));
    CHECK_EQ(first->Release(), 0);
    CHECK_EQ(second->Release(), 0);
}

int main()
{
    setenv("MFWQ_SHUTDOWN_TIMEOUT_MS", "200", 1);

    CHECK_HR(MFStartup(MF_VERSION), S_OK); // C++: dwFlags defaults to MFSTARTUP_FULL
    test_begin_end();
    test_custom_result();
    test_reply_mode();
    CHECK_HR(MFShutdown(), S_OK);

    test_rtwq();

    CHECK_EQ(g_live.load(), 0);
    std::printf("begin_end.cpp: %d checks, %d failures\n", g_checks.load(), g_failures.load());
    return g_failures.load() ? 1 : 0;
}
