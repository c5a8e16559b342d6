/*
 * no_win32_base.c - MFWQ_NO_WIN32_BASE: a program that brings its own Win32
 * base types (here a stand-in for another project's header, with the Windows
 * sizes and IUnknown in the native calling convention) includes <mfapi.h> and
 * <rtworkq.h> with MFWQ_NO_WIN32_BASE defined, and the two sets of
 * declarations build and work together: the mfwq headers declare none of
 * the base (types, GUID helpers, IUnknown, OVERLAPPED, the event API, the
 * synchronisation and COM apartment functions) themselves.
 */
/* ---- the program's own base (normally from another header) ---------- */
#include <stdint.h>
#include <stddef.h>
typedef uint8_t BYTE; typedef uint16_t WORD; typedef uint32_t DWORD; typedef uint32_t ULONG;
typedef int32_t LONG; typedef int32_t HRESULT; typedef int32_t BOOL; typedef int64_t INT64; typedef uint64_t UINT64;
typedef int64_t LONGLONG; typedef uint64_t ULONGLONG; typedef uintptr_t ULONG_PTR; typedef uintptr_t DWORD_PTR;
typedef void *HANDLE; typedef void *LPVOID; typedef void *PVOID; typedef uint16_t WCHAR; typedef const WCHAR *LPCWSTR; typedef WCHAR *LPWSTR; typedef const WCHAR *PCWSTR;
typedef DWORD *LPDWORD; typedef LONG *PLONG; typedef int32_t INT; typedef uint32_t UINT;
typedef struct _GUID { DWORD Data1; WORD Data2; WORD Data3; BYTE Data4[8]; } GUID;
typedef GUID IID; typedef const IID *REFIID; typedef const GUID *REFGUID;
#define S_OK ((HRESULT)0)
#define E_NOINTERFACE ((HRESULT)0x80004002)
#define E_NOTIMPL ((HRESULT)0x80004001)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
typedef struct IUnknown IUnknown;
typedef struct IUnknownVtbl { HRESULT (*QueryInterface)(IUnknown *, REFIID, void **); ULONG (*AddRef)(IUnknown *); ULONG (*Release)(IUnknown *); } IUnknownVtbl;
struct IUnknown { const IUnknownVtbl *lpVtbl; };
extern const IID IID_IUnknown;
typedef struct _OVERLAPPED { ULONG_PTR Internal; ULONG_PTR InternalHigh; union { struct { DWORD Offset; DWORD OffsetHigh; } s; PVOID Pointer; } u; HANDLE hEvent; } OVERLAPPED;
HANDLE CreateEventA(void *, BOOL, BOOL, const char *);
BOOL SetEvent(HANDLE);
DWORD WaitForSingleObject(HANDLE, DWORD);
BOOL CloseHandle(HANDLE);
#define E_POINTER ((HRESULT)0x80004003)
#define INFINITE 0xFFFFFFFFu
#define WAIT_OBJECT_0 0u

#define MFWQ_NO_WIN32_BASE
#define COBJMACROS
#include <mfapi.h>
#include <rtworkq.h>

#include <stdio.h>

/* One callback object, written against the program's own IUnknown. */
typedef struct Signaller {
    IMFAsyncCallback iface;
    HANDLE done;
    LONG refs;
} Signaller;

static HRESULT Signaller_QueryInterface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    (void)riid;
    if (ppv == NULL)
        return E_POINTER;
    *ppv = This;
    IMFAsyncCallback_AddRef(This);
    return S_OK;
}
static ULONG Signaller_AddRef(IMFAsyncCallback *This) { return (ULONG)__atomic_add_fetch(&((Signaller *)This)->refs, 1, __ATOMIC_SEQ_CST); }
static ULONG Signaller_Release(IMFAsyncCallback *This) { return (ULONG)__atomic_sub_fetch(&((Signaller *)This)->refs, 1, __ATOMIC_SEQ_CST); }
static HRESULT Signaller_GetParameters(IMFAsyncCallback *This, DWORD *flags, DWORD *queue)
{
    (void)This;
    (void)flags;
    (void)queue;
    return E_NOTIMPL;
}
static HRESULT Signaller_Invoke(IMFAsyncCallback *This, IMFAsyncResult *result)
{
    (void)result;
    SetEvent(((Signaller *)This)->done);
    return S_OK;
}
static const IMFAsyncCallbackVtbl SignallerVtbl = {
    Signaller_QueryInterface, Signaller_AddRef, Signaller_Release, Signaller_GetParameters, Signaller_Invoke,
};

int main(void)
{
    Signaller signaller = {{&SignallerVtbl}, NULL, 1};
    int failures = 0;

    signaller.done = CreateEventA(NULL, 0, 0, NULL);
    failures += MFStartup(MF_VERSION, MFSTARTUP_FULL) != S_OK;
    failures += MFPutWorkItem(MFASYNC_CALLBACK_QUEUE_MULTITHREADED, &signaller.iface, NULL) != S_OK;
    failures += WaitForSingleObject(signaller.done, 10000) != WAIT_OBJECT_0;
    failures += MFShutdown() != S_OK;
    failures += !CloseHandle(signaller.done);
    failures += sizeof(MFASYNCRESULT) != 64;
    printf("no_win32_base: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
