// square_root.cpp - the asynchronous square-root component of square_root.c,
// in C++: classes derived from IMFAsyncCallback / IUnknown, and a small
// ComPtr-like smart pointer for the references.
//
//   BeginSquareRoot(x, callback, state)
//     result 1 = MFCreateAsyncResult(operation, callback, state)
//     MFPutWorkItem(component queue, this, result 1)     -> makes result 2
//   SquareRoot::Invoke(result 2)          (on the component's queue)
//     result 1 = result 2->GetState(), operation = result 1->GetObject()
//     compute; result 1->SetStatus(hr); MFInvokeCallback(result 1)
//   Caller::Invoke(result 1)              (on the caller's queue: STANDARD)
//     EndSquareRoot(result 1, &answer)   -> the status, and the answer
//
// main() checks at the end that every object was released and returns 1 if
// anything leaked or an answer was wrong.
//
// Build: see README.md in this folder (make -C examples/c).
#include <mfapi.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <new>
#include <utility>

namespace {

std::atomic<int> g_live_objects{0};

// ---------------------------------------------------------------------------
// Com<T>: owns one reference (Release on destruction, AddRef on copy).
// ---------------------------------------------------------------------------

template <class T>
class Com {
public:
    Com() = default;
    explicit Com(T *adopt) : p_(adopt) {}  // takes over a reference
    Com(const Com &other) : p_(other.p_) { if (p_) p_->AddRef(); }
    Com(Com &&other) noexcept : p_(other.p_) { other.p_ = nullptr; }
    ~Com() { reset(); }
    Com &operator=(Com other) noexcept { std::swap(p_, other.p_); return *this; }

    T *get() const { return p_; }
    T *operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    // For out parameters: releases what is held, then gives the slot.
    T **put() { reset(); return &p_; }
    void reset() { if (p_) { T *p = p_; p_ = nullptr; p->Release(); } }

    // QueryInterface into another smart pointer.
    template <class U>
    HRESULT as(REFIID iid, Com<U> &out) const {
        return p_ ? p_->QueryInterface(iid, reinterpret_cast<void **>(out.put())) : E_POINTER;
    }

private:
    T *p_ = nullptr;
};

// A counted IUnknown base for the simple objects below.
template <class Interface>
class RefCounted : public Interface {
public:
    ULONG STDMETHODCALLTYPE AddRef() override { return ++refs_; }
    ULONG STDMETHODCALLTYPE Release() override {
        ULONG left = --refs_;
        if (left == 0) destroy();
        return left;
    }
    ULONG refs() const { return refs_.load(); }

protected:
    RefCounted() { ++g_live_objects; }
    ~RefCounted() { --g_live_objects; }
    virtual void destroy() = 0;

private:
    std::atomic<ULONG> refs_{1};
};

// ---------------------------------------------------------------------------
// The operation object: the private data of one BeginSquareRoot call.
// ---------------------------------------------------------------------------

class SqrtOp final : public RefCounted<IUnknown> {
public:
    explicit SqrtOp(double input) : input(input) {}

    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID iid, void **ppv) override {
        if (!ppv) return E_POINTER;
        if (iid == IID_IUnknown) {
            *ppv = static_cast<IUnknown *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }

    // The operation behind the IUnknown of a result's object: ours, or nullptr.
    static SqrtOp *from(IUnknown *unknown) { return dynamic_cast<SqrtOp *>(unknown); }

    const double input;
    double output = 0.0;

private:
    ~SqrtOp() = default;
    void destroy() override { delete this; }
};

// ---------------------------------------------------------------------------
// The component.
// ---------------------------------------------------------------------------

class SquareRoot final : public RefCounted<IMFAsyncCallback> {
public:
    // A component with one reference, working on a private queue of its own.
    static HRESULT Create(Com<SquareRoot> &out) {
        DWORD queue = 0;
        HRESULT hr = MFAllocateWorkQueue(&queue);
        if (FAILED(hr)) return hr;
        SquareRoot *component = new (std::nothrow) SquareRoot(queue);
        if (!component) {
            MFUnlockWorkQueue(queue);
            return E_OUTOFMEMORY;
        }
        out = Com<SquareRoot>(component);
        return S_OK;
    }

    // Gives the queue back (before MFShutdown).
    HRESULT Shutdown() { return MFUnlockWorkQueue(queue_); }

    // On failure nothing is queued and the callback is never called.
    HRESULT BeginSquareRoot(double x, IMFAsyncCallback *callback, IUnknown *state) {
        if (!callback) return E_POINTER;
        Com<SqrtOp> op(new (std::nothrow) SqrtOp(x));
        if (!op) return E_OUTOFMEMORY;
        // Result 1: the operation as object, the caller's callback and state.
        Com<IMFAsyncResult> result1;
        HRESULT hr = MFCreateAsyncResult(op.get(), callback, state, result1.put());
        if (FAILED(hr)) return hr;
        // Result 2 (made by MFPutWorkItem): this component, result 1 as state.
        return MFPutWorkItem(queue_, this, result1.get());
    }

    static HRESULT EndSquareRoot(IMFAsyncResult *result, double *value) {
        if (!result || !value) return E_POINTER;
        *value = 0.0;
        Com<IUnknown> object;
        HRESULT hr = result->GetObject(object.put());
        if (FAILED(hr)) return hr;
        const SqrtOp *op = SqrtOp::from(object.get());
        if (!op) return E_UNEXPECTED;
        hr = result->GetStatus();
        if (SUCCEEDED(hr)) *value = op->output;
        return hr;
    }

    // IUnknown
    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID iid, void **ppv) override {
        if (!ppv) return E_POINTER;
        if (iid == IID_IUnknown || iid == IID_IMFAsyncCallback) {
            *ppv = static_cast<IMFAsyncCallback *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }

    // IMFAsyncCallback
    HRESULT STDMETHODCALLTYPE GetParameters(DWORD *, DWORD *) override {
        return E_NOTIMPL;  // MFPutWorkItem names the queue
    }

    HRESULT STDMETHODCALLTYPE Invoke(IMFAsyncResult *result2) override {
        Com<IUnknown> state;
        Com<IMFAsyncResult> result1;
        if (FAILED(result2->GetState(state.put())) ||
            FAILED(state.as(IID_IMFAsyncResult, result1))) {
            return E_UNEXPECTED;  // Begin always passes result 1
        }
        Com<IUnknown> object;
        HRESULT hr = result1->GetObject(object.put());
        SqrtOp *op = SUCCEEDED(hr) ? SqrtOp::from(object.get()) : nullptr;
        if (!op) {
            hr = E_UNEXPECTED;
        } else {
            if (op->input >= 0.0) {
                op->output = std::sqrt(op->input);
            } else {
                hr = E_INVALIDARG;  // negative (or NaN)
            }
        }
        result1->SetStatus(hr);
        hr = MFInvokeCallback(result1.get());
        if (FAILED(hr)) std::fprintf(stderr, "MFInvokeCallback failed: 0x%08X\n", unsigned(hr));
        return S_OK;
    }

private:
    explicit SquareRoot(DWORD queue) : queue_(queue) {}
    ~SquareRoot() = default;
    void destroy() override { delete this; }

    const DWORD queue_;
};

// ---------------------------------------------------------------------------
// The caller: a request object (passed as state) and a completion callback.
// ---------------------------------------------------------------------------

class Request final : public RefCounted<IUnknown> {
public:
    explicit Request(double input)
        : input(input), done(CreateEventW(nullptr, FALSE, FALSE, nullptr)) {}

    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID iid, void **ppv) override {
        if (!ppv) return E_POINTER;
        if (iid == IID_IUnknown) {
            *ppv = static_cast<IUnknown *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }

    const double input;
    double answer = 0.0;
    HRESULT status = E_PENDING;
    const HANDLE done;  // set by the caller's Invoke

private:
    ~Request() { if (done) CloseHandle(done); }
    void destroy() override { delete this; }
};

class Caller final : public RefCounted<IMFAsyncCallback> {
public:
    Caller() = default;

    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID iid, void **ppv) override {
        if (!ppv) return E_POINTER;
        if (iid == IID_IUnknown || iid == IID_IMFAsyncCallback) {
            *ppv = static_cast<IMFAsyncCallback *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }

    HRESULT STDMETHODCALLTYPE GetParameters(DWORD *, DWORD *) override {
        return E_NOTIMPL;  // completions arrive on MFASYNC_CALLBACK_QUEUE_STANDARD
    }

    HRESULT STDMETHODCALLTYPE Invoke(IMFAsyncResult *result) override {
        Request *request = dynamic_cast<Request *>(result->GetStateNoAddRef());
        if (!request) {
            std::fprintf(stderr, "completion without its request\n");
            return E_UNEXPECTED;
        }
        double answer = 0.0;
        HRESULT status = SquareRoot::EndSquareRoot(result, &answer);
        request->answer = answer;
        request->status = status;
        SetEvent(request->done);  // orders the two stores above for the waiter
        return S_OK;
    }

private:
    ~Caller() = default;
    void destroy() override { delete this; }
};

// ---------------------------------------------------------------------------

HRESULT run() {
    const double inputs[] = {2.0, 16.0, -1.0, 0.25, 1e6};
    const size_t count = sizeof inputs / sizeof inputs[0];

    Com<SquareRoot> component;
    HRESULT hr = SquareRoot::Create(component);
    if (FAILED(hr)) return hr;
    Com<Caller> caller(new (std::nothrow) Caller());
    if (!caller) return E_OUTOFMEMORY;

    Com<Request> requests[count];
    for (size_t i = 0; i < count; i++) {
        requests[i] = Com<Request>(new (std::nothrow) Request(inputs[i]));
        if (!requests[i] || !requests[i]->done) return E_OUTOFMEMORY;
        hr = component->BeginSquareRoot(inputs[i], caller.get(), requests[i].get());
        if (FAILED(hr)) return hr;
    }

    int failures = 0;
    hr = component->BeginSquareRoot(4.0, nullptr, nullptr);
    std::printf("BeginSquareRoot(4, no callback) -> 0x%08X (E_POINTER expected)\n", unsigned(hr));
    if (hr != E_POINTER) failures++;

    for (size_t i = 0; i < count; i++) {
        Request *request = requests[i].get();
        const double x = request->input;
        if (WaitForSingleObject(request->done, 10000) != WAIT_OBJECT_0) {
            std::fprintf(stderr, "sqrt(%g): no completion within 10 s\n", x);
            return E_FAIL;
        }
        if (SUCCEEDED(request->status)) {
            std::printf("sqrt(%g) = %g\n", x, request->answer);
            if (x < 0 || std::fabs(request->answer * request->answer - x) > 1e-9 * (1 + x))
                failures++;
        } else {
            std::printf("sqrt(%g) failed: 0x%08X%s\n", x, unsigned(request->status),
                        request->status == E_INVALIDARG ? " (E_INVALIDARG)" : "");
            if (!(x < 0 && request->status == E_INVALIDARG)) failures++;
        }
    }

    hr = component->Shutdown();
    if (FAILED(hr)) return hr;
    // Every Com<> here releases its reference on return. The platform may
    // still hold some for a moment; main checks after MFShutdown.
    return failures == 0 ? S_OK : E_FAIL;
}

}  // namespace

int main() {
    HRESULT hr = MFStartup(MF_VERSION);
    if (FAILED(hr)) {
        std::fprintf(stderr, "MFStartup failed: 0x%08X\n", unsigned(hr));
        return 1;
    }
    hr = run();
    // Runs what is still queued, stops the threads, drops the platform's references.
    if (FAILED(MFShutdown())) {
        std::fprintf(stderr, "MFShutdown failed\n");
        return 1;
    }
    const int live = g_live_objects.load();
    std::printf("live objects after shutdown: %d\n", live);
    if (FAILED(hr)) {
        std::fprintf(stderr, "square_root_cpp: FAILED (0x%08X)\n", unsigned(hr));
        return 1;
    }
    if (live != 0) {
        std::fprintf(stderr, "square_root_cpp: LEAK (%d objects)\n", live);
        return 1;
    }
    std::printf("square_root_cpp: OK\n");
    return 0;
}
