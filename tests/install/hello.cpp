// hello.cpp - the C++ form of hello.c: start the platform, put a work item on
// a private queue, wait on an event the work item sets, shut down. Built by
// ci/install.sh through CMake (find_package(mfplat CONFIG REQUIRED)).
#include <mfapi.h>

#include <atomic>
#include <cstdio>

namespace {

class Work final : public IMFAsyncCallback {
public:
    explicit Work(DWORD queue, HANDLE done) : queue_(queue), done_(done) {}

    STDMETHODIMP QueryInterface(REFIID riid, void **ppv) override
    {
        if (ppv == nullptr)
            return E_POINTER;
        if (riid == __uuidof(IUnknown) || riid == __uuidof(IMFAsyncCallback)) {
            *ppv = static_cast<IMFAsyncCallback *>(this);
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }
    STDMETHODIMP_(ULONG) AddRef() override { return ++refs_; }
    STDMETHODIMP_(ULONG) Release() override { return --refs_; } // lives on main's stack
    STDMETHODIMP GetParameters(DWORD *flags, DWORD *queue) override
    {
        *flags = 0;
        *queue = queue_;
        return S_OK;
    }
    STDMETHODIMP Invoke(IMFAsyncResult *) override
    {
        ++ran_;
        SetEvent(done_);
        return S_OK;
    }

    int ran() const { return ran_; }
    ULONG refs() const { return refs_; }

private:
    std::atomic<ULONG> refs_{1};
    std::atomic<int> ran_{0};
    DWORD queue_;
    HANDLE done_;
};

} // namespace

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "hello.cpp:%d: check failed: %s\n", __LINE__, #cond); \
            return 1;                                                              \
        }                                                                          \
    } while (0)

int main()
{
    CHECK(MFStartup(MF_VERSION, MFSTARTUP_FULL) == S_OK);
    DWORD queue = 0;
    CHECK(MFAllocateWorkQueue(&queue) == S_OK);
    HANDLE done = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    CHECK(done != nullptr);
    {
        Work work(queue, done);
        CHECK(MFPutWorkItem(queue, &work, nullptr) == S_OK);
        CHECK(WaitForSingleObject(done, 10000) == WAIT_OBJECT_0);
        CHECK(work.ran() == 1);
        CHECK(MFUnlockWorkQueue(queue) == S_OK);
        CHECK(CloseHandle(done));
        CHECK(MFShutdown() == S_OK);
        CHECK(work.refs() == 1);
    }
    std::printf("hello (C++): work item ran on queue 0x%08X; platform shut down\n",
                static_cast<unsigned>(queue));
    return 0;
}
