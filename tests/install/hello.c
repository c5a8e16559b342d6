/*
 * hello.c - the smallest real use of an installed libmfplat, in C: start the
 * platform, put a work item on a private queue, wait on an event the work
 * item sets, shut down. Exits 0 on success. Built by ci/install.sh (through
 * pkg-config, and statically) and ci/deb.sh (against the Debian packages).
 */
#define COBJMACROS
#include <mfapi.h>

#include <stdatomic.h>
#include <stdio.h>

typedef struct Work {
    IMFAsyncCallback callback; /* first: a Work* is an IMFAsyncCallback* */
    atomic_uint refs;
    DWORD queue;
    HANDLE done;
    atomic_int ran;
} Work;

static HRESULT MFWQ_STDCALL work_query_interface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    if (ppv == NULL)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMFAsyncCallback)) {
        *ppv = This;
        IMFAsyncCallback_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL work_add_ref(IMFAsyncCallback *This)
{
    return atomic_fetch_add(&((Work *)This)->refs, 1) + 1;
}

static ULONG MFWQ_STDCALL work_release(IMFAsyncCallback *This)
{
    return atomic_fetch_sub(&((Work *)This)->refs, 1) - 1; /* lives on main's stack */
}

static HRESULT MFWQ_STDCALL work_get_parameters(IMFAsyncCallback *This, DWORD *flags, DWORD *queue)
{
    *flags = 0;
    *queue = ((Work *)This)->queue;
    return S_OK;
}

static HRESULT MFWQ_STDCALL work_invoke(IMFAsyncCallback *This, IMFAsyncResult *result)
{
    Work *work = (Work *)This;
    (void)result;
    atomic_fetch_add(&work->ran, 1);
    SetEvent(work->done);
    return S_OK;
}

static const IMFAsyncCallbackVtbl work_vtbl = {
    work_query_interface, work_add_ref, work_release, work_get_parameters, work_invoke,
};

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "hello.c:%d: check failed: %s\n", __LINE__, #cond); \
            return 1;                                                           \
        }                                                                       \
    } while (0)

int main(void)
{
    Work work = { { &work_vtbl }, 1, 0, NULL, 0 };
    CHECK(MFStartup(MF_VERSION, MFSTARTUP_FULL) == S_OK);
    CHECK(MFAllocateWorkQueue(&work.queue) == S_OK);
    work.done = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(work.done != NULL);
    CHECK(MFPutWorkItem(work.queue, &work.callback, NULL) == S_OK);
    CHECK(WaitForSingleObject(work.done, 10000) == WAIT_OBJECT_0);
    CHECK(atomic_load(&work.ran) == 1);
    CHECK(MFUnlockWorkQueue(work.queue) == S_OK);
    CHECK(CloseHandle(work.done));
    CHECK(MFShutdown() == S_OK);
    CHECK(atomic_load(&work.refs) == 1);
    printf("hello: work item ran on queue 0x%08X; platform shut down\n", (unsigned)work.queue);
    return 0;
}
