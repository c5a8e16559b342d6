/*
 * layout.c - the C view of the mfwq public headers against the Windows SDK's
 * definitions: the vtable order of each interface, the sizes and offsets of
 * the structures (LLP64, include/README.md), the constants and every
 * prototype (summarised in docs/behaviour.md#layout).
 *
 * Almost everything is checked at compile time; main() adds the checks that
 * need a running program (IsEqualGUID, calls through the COBJMACROS
 * accessors of C-implemented objects). Nothing here references a symbol of
 * libmfplat: the file builds and runs on its own, and links with the
 * library just as well.
 *
 *   cc -std=c11 -Wall -Wextra -pedantic -Werror -I include crates/mfwq-ffi/tests/c/layout.c
 *
 * (C99 works too: the checks then use a negative-array typedef, and the
 * prototype checks, which need C11 _Generic, are skipped.)
 */
#ifndef COBJMACROS
#define COBJMACROS
#endif
#include <mfapi.h>
#include <rtworkq.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#  define MFWQ_C11 1
#  define CHECK(expr) _Static_assert(expr, #expr)
#else
#  define MFWQ_C11 0
#  define CHECK_CAT2(a, b) a##b
#  define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#  define CHECK(expr) typedef char CHECK_CAT(layout_check_, __LINE__)[(expr) ? 1 : -1]
#endif

/* alignof without C11 */
#define ALIGN_OF(type) offsetof(struct { char c; type t; }, t)

/* ======================================================================== */
/* Scalar types (LLP64 sizes on LP64 Linux)                                 */
/* ======================================================================== */

CHECK(sizeof(void *) == 8); /* the layouts are the Windows x64 ones */

CHECK(sizeof(BYTE) == 1);
CHECK(sizeof(WORD) == 2);
CHECK(sizeof(DWORD) == 4);
CHECK(sizeof(ULONG) == 4);
CHECK(sizeof(UINT) == 4);
CHECK(sizeof(LONG) == 4);
CHECK(sizeof(HRESULT) == 4);
CHECK(sizeof(BOOL) == 4);
CHECK(sizeof(WINBOOL) == 4);
CHECK(sizeof(INT64) == 8);
CHECK(sizeof(LONGLONG) == 8);
CHECK(sizeof(UINT64) == 8);
CHECK(sizeof(ULONGLONG) == 8);
CHECK(sizeof(ULONG_PTR) == 8);
CHECK(sizeof(LONG_PTR) == 8);
CHECK(sizeof(DWORD_PTR) == 8);
CHECK(sizeof(HANDLE) == 8);
CHECK(sizeof(PVOID) == 8);
CHECK(sizeof(LPVOID) == 8);
CHECK(sizeof(WCHAR) == 2);
CHECK(sizeof(LPCWSTR) == 8);
CHECK(sizeof(PCWSTR) == 8);
CHECK(sizeof(LPWSTR) == 8);
CHECK(sizeof(REFIID) == 8);
CHECK(sizeof(MFWORKITEM_KEY) == 8);
CHECK(sizeof(RTWQWORKITEM_KEY) == 8);
CHECK(sizeof(MFASYNC_WORKQUEUE_TYPE) == 4);
CHECK(sizeof(RTWQ_WORKQUEUE_TYPE) == 4);
CHECK(sizeof(AVRT_PRIORITY) == 4);
CHECK(sizeof(MFPERIODICCALLBACK) == 8);
CHECK(sizeof(RTWQPERIODICCALLBACK) == 8);

/* signedness */
CHECK((LONG)-1 < 0);
CHECK((HRESULT)-1 < 0);
CHECK((BOOL)-1 < 0);
CHECK((INT64)-1 < 0);
CHECK((LONG_PTR)-1 < 0);
CHECK((DWORD)-1 > 0);
CHECK((ULONG)-1 > 0);
CHECK((WORD)-1 > 0);
CHECK((WCHAR)-1 > 0);
CHECK((UINT64)-1 > 0);
CHECK((MFWORKITEM_KEY)-1 > 0);
CHECK((RTWQWORKITEM_KEY)-1 > 0);
CHECK((ULONG_PTR)-1 > 0);

/* ======================================================================== */
/* GUID                                                                     */
/* ======================================================================== */

CHECK(sizeof(GUID) == 16);
CHECK(ALIGN_OF(GUID) == 4);
CHECK(offsetof(GUID, Data1) == 0);
CHECK(offsetof(GUID, Data2) == 4);
CHECK(offsetof(GUID, Data3) == 6);
CHECK(offsetof(GUID, Data4) == 8);
CHECK(sizeof(IID) == 16);
CHECK(sizeof(CLSID) == 16);

/* ======================================================================== */
/* OVERLAPPED                                                               */
/* ======================================================================== */

CHECK(sizeof(OVERLAPPED) == 32);
CHECK(ALIGN_OF(OVERLAPPED) == 8);
CHECK(offsetof(OVERLAPPED, Internal) == 0);
CHECK(offsetof(OVERLAPPED, InternalHigh) == 8);
CHECK(offsetof(OVERLAPPED, Offset) == 16);
CHECK(offsetof(OVERLAPPED, OffsetHigh) == 20);
CHECK(offsetof(OVERLAPPED, Pointer) == 16);
CHECK(offsetof(OVERLAPPED, hEvent) == 24);

/* ======================================================================== */
/* mfwq_synch.h: LARGE_INTEGER, CRITICAL_SECTION (Windows x64 layout)       */
/* ======================================================================== */

CHECK(sizeof(LARGE_INTEGER) == 8);
CHECK(ALIGN_OF(LARGE_INTEGER) == 8);
CHECK(offsetof(LARGE_INTEGER, QuadPart) == 0);
CHECK(offsetof(LARGE_INTEGER, LowPart) == 0);
CHECK(offsetof(LARGE_INTEGER, HighPart) == 4);
CHECK(offsetof(LARGE_INTEGER, u.LowPart) == 0);
CHECK(offsetof(LARGE_INTEGER, u.HighPart) == 4);
CHECK(sizeof(ULARGE_INTEGER) == 8);
CHECK(sizeof(CRITICAL_SECTION) == 40);
CHECK(ALIGN_OF(CRITICAL_SECTION) == 8);
CHECK(offsetof(RTL_CRITICAL_SECTION, DebugInfo) == 0);
CHECK(offsetof(RTL_CRITICAL_SECTION, LockCount) == 8);
CHECK(offsetof(RTL_CRITICAL_SECTION, RecursionCount) == 12);
CHECK(offsetof(RTL_CRITICAL_SECTION, OwningThread) == 16);
CHECK(offsetof(RTL_CRITICAL_SECTION, LockSemaphore) == 24);
CHECK(offsetof(RTL_CRITICAL_SECTION, SpinCount) == 32);
CHECK(sizeof(LONG64) == 8);
CHECK(MAXIMUM_WAIT_OBJECTS == 64);
CHECK(WAIT_OBJECT_0 == 0);
CHECK(STATUS_WAIT_0 == 0);
CHECK(WAIT_ABANDONED_0 == 0x80);
CHECK(WAIT_IO_COMPLETION == 0xC0);
CHECK(CRITICAL_SECTION_NO_DEBUG_INFO == 0x01000000);

/* ======================================================================== */
/* MFASYNCRESULT / RTWQASYNCRESULT                                          */
/* ======================================================================== */

CHECK(sizeof(MFASYNCRESULT) == 64);
CHECK(ALIGN_OF(MFASYNCRESULT) == 8);
CHECK(offsetof(MFASYNCRESULT, AsyncResult) == 0);
CHECK(offsetof(MFASYNCRESULT, overlapped) == 8);
CHECK(offsetof(MFASYNCRESULT, pCallback) == 40);
CHECK(offsetof(MFASYNCRESULT, hrStatusResult) == 48);
CHECK(offsetof(MFASYNCRESULT, dwBytesTransferred) == 52);
CHECK(offsetof(MFASYNCRESULT, hEvent) == 56);

CHECK(sizeof(RTWQASYNCRESULT) == 64);
CHECK(ALIGN_OF(RTWQASYNCRESULT) == 8);
CHECK(offsetof(RTWQASYNCRESULT, AsyncResult) == 0);
CHECK(offsetof(RTWQASYNCRESULT, overlapped) == 8);
CHECK(offsetof(RTWQASYNCRESULT, pCallback) == 40);
CHECK(offsetof(RTWQASYNCRESULT, hrStatusResult) == 48);
CHECK(offsetof(RTWQASYNCRESULT, dwBytesTransferred) == 52);
CHECK(offsetof(RTWQASYNCRESULT, hEvent) == 56);

/* ======================================================================== */
/* Interfaces and vtables                                                    */
/* ======================================================================== */

CHECK(sizeof(IUnknown) == 8);
CHECK(sizeof(IMFAsyncResult) == 8);
CHECK(sizeof(IMFAsyncCallback) == 8);
CHECK(sizeof(IMFAsyncCallbackLogging) == 8);
CHECK(sizeof(IMFRemoteAsyncCallback) == 8);
CHECK(sizeof(IRtwqAsyncResult) == 8);
CHECK(sizeof(IRtwqAsyncCallback) == 8);
CHECK(sizeof(IRtwqPlatformEvents) == 8);
CHECK(offsetof(IUnknown, lpVtbl) == 0);
CHECK(offsetof(IMFAsyncResult, lpVtbl) == 0);
CHECK(offsetof(IMFAsyncCallback, lpVtbl) == 0);

/* IUnknown */
CHECK(sizeof(IUnknownVtbl) == 24);
CHECK(offsetof(IUnknownVtbl, QueryInterface) == 0x00);
CHECK(offsetof(IUnknownVtbl, AddRef) == 0x08);
CHECK(offsetof(IUnknownVtbl, Release) == 0x10);

/* IMFAsyncResult */
CHECK(sizeof(IMFAsyncResultVtbl) == 64);
CHECK(offsetof(IMFAsyncResultVtbl, QueryInterface) == 0x00);
CHECK(offsetof(IMFAsyncResultVtbl, AddRef) == 0x08);
CHECK(offsetof(IMFAsyncResultVtbl, Release) == 0x10);
CHECK(offsetof(IMFAsyncResultVtbl, GetState) == 0x18);
CHECK(offsetof(IMFAsyncResultVtbl, GetStatus) == 0x20);
CHECK(offsetof(IMFAsyncResultVtbl, SetStatus) == 0x28);
CHECK(offsetof(IMFAsyncResultVtbl, GetObject) == 0x30);
CHECK(offsetof(IMFAsyncResultVtbl, GetStateNoAddRef) == 0x38);

/* IMFAsyncCallback */
CHECK(sizeof(IMFAsyncCallbackVtbl) == 40);
CHECK(offsetof(IMFAsyncCallbackVtbl, QueryInterface) == 0x00);
CHECK(offsetof(IMFAsyncCallbackVtbl, AddRef) == 0x08);
CHECK(offsetof(IMFAsyncCallbackVtbl, Release) == 0x10);
CHECK(offsetof(IMFAsyncCallbackVtbl, GetParameters) == 0x18);
CHECK(offsetof(IMFAsyncCallbackVtbl, Invoke) == 0x20);

/* IMFAsyncCallbackLogging */
CHECK(sizeof(IMFAsyncCallbackLoggingVtbl) == 56);
CHECK(offsetof(IMFAsyncCallbackLoggingVtbl, GetParameters) == 0x18);
CHECK(offsetof(IMFAsyncCallbackLoggingVtbl, Invoke) == 0x20);
CHECK(offsetof(IMFAsyncCallbackLoggingVtbl, GetObjectPointer) == 0x28);
CHECK(offsetof(IMFAsyncCallbackLoggingVtbl, GetObjectTag) == 0x30);

/* IMFRemoteAsyncCallback */
CHECK(sizeof(IMFRemoteAsyncCallbackVtbl) == 32);
CHECK(offsetof(IMFRemoteAsyncCallbackVtbl, Invoke) == 0x18);

/* IRtwqAsyncResult / IRtwqAsyncCallback */
CHECK(sizeof(IRtwqAsyncResultVtbl) == 64);
CHECK(offsetof(IRtwqAsyncResultVtbl, QueryInterface) == 0x00);
CHECK(offsetof(IRtwqAsyncResultVtbl, AddRef) == 0x08);
CHECK(offsetof(IRtwqAsyncResultVtbl, Release) == 0x10);
CHECK(offsetof(IRtwqAsyncResultVtbl, GetState) == 0x18);
CHECK(offsetof(IRtwqAsyncResultVtbl, GetStatus) == 0x20);
CHECK(offsetof(IRtwqAsyncResultVtbl, SetStatus) == 0x28);
CHECK(offsetof(IRtwqAsyncResultVtbl, GetObject) == 0x30);
CHECK(offsetof(IRtwqAsyncResultVtbl, GetStateNoAddRef) == 0x38);
CHECK(sizeof(IRtwqAsyncCallbackVtbl) == 40);
CHECK(offsetof(IRtwqAsyncCallbackVtbl, GetParameters) == 0x18);
CHECK(offsetof(IRtwqAsyncCallbackVtbl, Invoke) == 0x20);

/* IRtwqPlatformEvents */
CHECK(sizeof(IRtwqPlatformEventsVtbl) == 48);
CHECK(offsetof(IRtwqPlatformEventsVtbl, InitializationComplete) == 0x18);
CHECK(offsetof(IRtwqPlatformEventsVtbl, ShutdownStart) == 0x20);
CHECK(offsetof(IRtwqPlatformEventsVtbl, ShutdownComplete) == 0x28);

/* ======================================================================== */
/* Versions and startup flags                                               */
/* ======================================================================== */

CHECK(MF_SDK_VERSION == 0x0002);
CHECK(MF_API_VERSION == 0x0070);
CHECK(MF_VERSION == 0x00020070);
CHECK(MFSTARTUP_NOSOCKET == 0x1);
CHECK(MFSTARTUP_LITE == 0x1);
CHECK(MFSTARTUP_FULL == 0x0);

/* Callback flags */
CHECK(MFASYNC_FAST_IO_PROCESSING_CALLBACK == 0x00000001);
CHECK(MFASYNC_SIGNAL_CALLBACK == 0x00000002);
CHECK(MFASYNC_BLOCKING_CALLBACK == 0x00000004);
CHECK(MFASYNC_REPLY_CALLBACK == 0x00000008);
CHECK(MFASYNC_LOCALIZE_REMOTE_CALLBACK == 0x00000010);

/* Work-queue identifiers */
CHECK(MFASYNC_CALLBACK_QUEUE_UNDEFINED == 0x00000000);
CHECK(MFASYNC_CALLBACK_QUEUE_STANDARD == 0x00000001);
CHECK(MFASYNC_CALLBACK_QUEUE_RT == 0x00000002);
CHECK(MFASYNC_CALLBACK_QUEUE_IO == 0x00000003);
CHECK(MFASYNC_CALLBACK_QUEUE_TIMER == 0x00000004);
CHECK(MFASYNC_CALLBACK_QUEUE_MULTITHREADED == 0x00000005);
CHECK(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION == 0x00000007);
CHECK(MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK == 0xFFFF0000u);
CHECK(MFASYNC_CALLBACK_QUEUE_ALL == 0xFFFFFFFFu);
CHECK((DWORD)MFASYNC_CALLBACK_QUEUE_ALL == (DWORD)-1);

/* Queue types */
CHECK(MF_STANDARD_WORKQUEUE == 0);
CHECK(MF_WINDOW_WORKQUEUE == 1);
CHECK(MF_MULTITHREADED_WORKQUEUE == 2);
CHECK(RTWQ_STANDARD_WORKQUEUE == 0);
CHECK(RTWQ_WINDOW_WORKQUEUE == 1);
CHECK(RTWQ_MULTITHREADED_WORKQUEUE == 2);

/* Priorities */
CHECK(AVRT_PRIORITY_VERYLOW == -2);
CHECK(AVRT_PRIORITY_LOW == -1);
CHECK(AVRT_PRIORITY_NORMAL == 0);
CHECK(AVRT_PRIORITY_HIGH == 1);
CHECK(AVRT_PRIORITY_CRITICAL == 2);

/* ======================================================================== */
/* HRESULT values                                                           */
/* ======================================================================== */

/* 32-bit and signed, so that comparisons behave as on Windows */
CHECK(sizeof(S_OK) == 4);
CHECK(sizeof(E_FAIL) == 4);
CHECK(sizeof(MF_E_SHUTDOWN) == 4);
CHECK(sizeof(RTWQ_E_SHUTDOWN) == 4);
CHECK(E_FAIL < 0);
CHECK(E_NOTIMPL < 0);
CHECK(MF_E_SHUTDOWN < 0);
CHECK(RTWQ_E_SHUTDOWN < 0);
CHECK(FAILED(MF_E_SHUTDOWN));
CHECK(FAILED(E_INVALIDARG));
CHECK(FAILED(RTWQ_E_INVALID_WORKQUEUE));
CHECK(SUCCEEDED(S_OK));
CHECK(SUCCEEDED(S_FALSE));
CHECK(SUCCEEDED(MF_S_MULTIPLE_BEGIN));
CHECK(!FAILED(MF_S_MULTIPLE_BEGIN));
CHECK(!SUCCEEDED(E_POINTER));

CHECK(S_OK == (HRESULT)0x00000000);
CHECK(S_FALSE == (HRESULT)0x00000001);
CHECK(E_NOTIMPL == (HRESULT)0x80004001);
CHECK(E_NOINTERFACE == (HRESULT)0x80004002);
CHECK(E_POINTER == (HRESULT)0x80004003);
CHECK(E_ABORT == (HRESULT)0x80004004);
CHECK(E_FAIL == (HRESULT)0x80004005);
CHECK(E_UNEXPECTED == (HRESULT)0x8000FFFF);
CHECK(E_PENDING == (HRESULT)0x8000000A);
CHECK(E_ACCESSDENIED == (HRESULT)0x80070005);
CHECK(E_HANDLE == (HRESULT)0x80070006);
CHECK(E_OUTOFMEMORY == (HRESULT)0x8007000E);
CHECK(E_INVALIDARG == (HRESULT)0x80070057);
CHECK(E_NOT_SUFFICIENT_BUFFER == (HRESULT)0x8007007A);
CHECK(CO_E_NOTINITIALIZED == (HRESULT)0x800401F0);
CHECK(HRESULT_FROM_WIN32(ERROR_NOT_FOUND) == (HRESULT)0x80070490);
CHECK(HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER) == E_NOT_SUFFICIENT_BUFFER);
CHECK(HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE) == E_HANDLE);
CHECK(HRESULT_FROM_WIN32(ERROR_SUCCESS) == S_OK);
CHECK(HRESULT_FROM_WIN32(E_FAIL) == E_FAIL);

/* the same numbers compared as unsigned bit patterns */
CHECK((DWORD)E_NOTIMPL == 0x80004001u);
CHECK((DWORD)MF_E_SHUTDOWN == 0xC00D3E85u);

CHECK(MF_E_PLATFORM_NOT_INITIALIZED == (HRESULT)0xC00D36B0);
CHECK(MF_E_BUFFERTOOSMALL == (HRESULT)0xC00D36B1);
CHECK(MF_E_INVALIDREQUEST == (HRESULT)0xC00D36B2);
CHECK(MF_E_NOT_INITIALIZED == (HRESULT)0xC00D36B6);
CHECK(MF_E_UNEXPECTED == (HRESULT)0xC00D36BB);
CHECK(MF_E_RT_UNAVAILABLE == (HRESULT)0xC00D36CF);
CHECK(MF_E_NOT_FOUND == (HRESULT)0xC00D36D5);
CHECK(MF_E_NOT_AVAILABLE == (HRESULT)0xC00D36D6);
CHECK(MF_S_MULTIPLE_BEGIN == (HRESULT)0x000D36D8);
CHECK(MF_E_MULTIPLE_BEGIN == (HRESULT)0xC00D36D9);
CHECK(MF_E_MULTIPLE_SUBSCRIBERS == (HRESULT)0xC00D36DA);
CHECK(MF_E_TIMER_ORPHANED == (HRESULT)0xC00D36DB);
CHECK(MF_E_INVALID_KEY == (HRESULT)0xC00D36E2);
CHECK(MF_E_BAD_STARTUP_VERSION == (HRESULT)0xC00D36E3);
CHECK(MF_E_OPERATION_CANCELLED == (HRESULT)0xC00D36ED);
CHECK(MF_E_DISABLED_IN_SAFEMODE == (HRESULT)0xC00D36EF);
CHECK(MF_E_RT_THROUGHPUT_NOT_AVAILABLE == (HRESULT)0xC00D36F3);
CHECK(MF_E_RT_TOO_MANY_CLASSES == (HRESULT)0xC00D36F4);
CHECK(MF_E_RT_WOULDBLOCK == (HRESULT)0xC00D36F5);
CHECK(MF_E_RT_OUTOFMEMORY == (HRESULT)0xC00D36F7);
CHECK(MF_E_RT_WORKQUEUE_CLASS_NOT_SPECIFIED == (HRESULT)0xC00D36F8);
CHECK(MF_E_INVALID_WORKQUEUE == (HRESULT)0xC00D36FF);
CHECK(MF_E_OUT_OF_RANGE == (HRESULT)0xC00D3702);
CHECK(MF_E_NO_EVENTS_AVAILABLE == (HRESULT)0xC00D3E80);
CHECK(MF_E_SHUTDOWN == (HRESULT)0xC00D3E85);
CHECK(MF_E_ALREADY_INITIALIZED == (HRESULT)0xC00D4650);
CHECK(FACILITY_MF == 0xD);
CHECK(FACILITY_MF_WIN32 == 0x7);
CHECK(HRESULT_FACILITY(MF_E_SHUTDOWN) == FACILITY_MF);

/* RTWQ_E_* equal the MF_E_* of the same name; RTWQ_E_ERROR(x) = 0xC00D0000 + x */
CHECK(RTWQ_E_ERROR(0) == (HRESULT)0xC00D0000);
CHECK(RTWQ_E_ERROR(16005) == (HRESULT)0xC00D3E85);
CHECK(RTWQ_E_BUFFERTOOSMALL == (HRESULT)0xC00D36B1);
CHECK(RTWQ_E_NOT_INITIALIZED == (HRESULT)0xC00D36B6);
CHECK(RTWQ_E_UNEXPECTED == (HRESULT)0xC00D36BB);
CHECK(RTWQ_E_NOT_FOUND == (HRESULT)0xC00D36D5);
CHECK(RTWQ_E_OPERATION_CANCELLED == (HRESULT)0xC00D36ED);
CHECK(RTWQ_E_INVALID_WORKQUEUE == (HRESULT)0xC00D36FF);
CHECK(RTWQ_E_SHUTDOWN == (HRESULT)0xC00D3E85);
CHECK(RTWQ_E_BUFFERTOOSMALL == MF_E_BUFFERTOOSMALL);
CHECK(RTWQ_E_NOT_INITIALIZED == MF_E_NOT_INITIALIZED);
CHECK(RTWQ_E_UNEXPECTED == MF_E_UNEXPECTED);
CHECK(RTWQ_E_NOT_FOUND == MF_E_NOT_FOUND);
CHECK(RTWQ_E_OPERATION_CANCELLED == MF_E_OPERATION_CANCELLED);
CHECK(RTWQ_E_INVALID_WORKQUEUE == MF_E_INVALID_WORKQUEUE);
CHECK(RTWQ_E_SHUTDOWN == MF_E_SHUTDOWN);

/* ======================================================================== */
/* Win32 base constants and macros                                          */
/* ======================================================================== */

CHECK(TRUE == 1);
CHECK(FALSE == 0);
CHECK(ERROR_SUCCESS == 0);
CHECK(ERROR_INVALID_HANDLE == 6);
CHECK(ERROR_INSUFFICIENT_BUFFER == 122);
CHECK(ERROR_NOT_FOUND == 1168);
CHECK(INFINITE == 0xFFFFFFFFu);
CHECK(WAIT_OBJECT_0 == 0);
CHECK(WAIT_ABANDONED == 0x80);
CHECK(WAIT_TIMEOUT == 0x102);
CHECK(WAIT_FAILED == 0xFFFFFFFFu);
CHECK(CREATE_EVENT_MANUAL_RESET == 0x1);
CHECK(CREATE_EVENT_INITIAL_SET == 0x2);
CHECK(EVENT_ALL_ACCESS == 0x1F0003);
CHECK(SYNCHRONIZE == 0x00100000);
CHECK(EVENT_MODIFY_STATE == 0x2);
CHECK(MAKELONG(0x0070, 0x0002) == MF_VERSION);
CHECK(MAKELONG(0x70, 0xdead) == (LONG)0xDEAD0070);
CHECK(LOWORD(MF_VERSION) == MF_API_VERSION);
CHECK(HIWORD(MF_VERSION) == MF_SDK_VERSION);
CHECK(LOWORD(0xDEAD0070u) == 0x0070);
CHECK(HIWORD(0xDEAD0070u) == 0xDEAD);

/* the IIDs are declared as IID objects (sizeof does not reference them) */
CHECK(sizeof(IID_IUnknown) == 16);
CHECK(sizeof(IID_IMFAsyncResult) == 16);
CHECK(sizeof(IID_IMFAsyncCallback) == 16);
CHECK(sizeof(IID_IMFAsyncCallbackLogging) == 16);
CHECK(sizeof(IID_IMFRemoteAsyncCallback) == 16);
CHECK(sizeof(IID_IRtwqAsyncResult) == 16);
CHECK(sizeof(IID_IRtwqAsyncCallback) == 16);
CHECK(sizeof(IID_IRtwqPlatformEvents) == 16);

/* DEFINE_GUID without INITGUID only declares */
DEFINE_GUID(layout_declared_only_guid, 0x01234567, 0x89AB, 0xCDEF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF);
CHECK(sizeof(layout_declared_only_guid) == 16);

/* ======================================================================== */
/* Prototypes: each function has exactly the SDK's type. _Generic does       */
/* not evaluate (or reference) its controlling expression.                  */
/* ======================================================================== */

#if MFWQ_C11
#define CHECK_TYPE(expr, type) CHECK(_Generic((expr), type: 1, default: 0))

CHECK_TYPE(&IID_IUnknown, const IID *);
CHECK_TYPE(&IID_IMFAsyncResult, const IID *);
CHECK_TYPE(&IID_IMFAsyncCallback, const IID *);
CHECK_TYPE(&IID_IMFAsyncCallbackLogging, const IID *);
CHECK_TYPE(&IID_IMFRemoteAsyncCallback, const IID *);
CHECK_TYPE(&IID_IRtwqAsyncResult, const IID *);
CHECK_TYPE(&IID_IRtwqAsyncCallback, const IID *);
CHECK_TYPE(&IID_IRtwqPlatformEvents, const IID *);
CHECK_TYPE(S_OK, int32_t);
CHECK_TYPE(MF_E_SHUTDOWN, int32_t);
CHECK_TYPE(RTWQ_E_SHUTDOWN, int32_t);
CHECK_TYPE((MFPERIODICCALLBACK)0, void (*)(IUnknown *));
CHECK_TYPE((RTWQPERIODICCALLBACK)0, void (*)(IUnknown *));

/* mfapi.h */
CHECK_TYPE(&MFStartup, HRESULT (*)(ULONG, DWORD));
CHECK_TYPE(&MFShutdown, HRESULT (*)(void));
CHECK_TYPE(&MFLockPlatform, HRESULT (*)(void));
CHECK_TYPE(&MFUnlockPlatform, HRESULT (*)(void));
CHECK_TYPE(&MFAllocateWorkQueue, HRESULT (*)(DWORD *));
CHECK_TYPE(&MFAllocateWorkQueueEx, HRESULT (*)(MFASYNC_WORKQUEUE_TYPE, DWORD *));
CHECK_TYPE(&MFAllocateSerialWorkQueue, HRESULT (*)(DWORD, DWORD *));
CHECK_TYPE(&MFLockWorkQueue, HRESULT (*)(DWORD));
CHECK_TYPE(&MFUnlockWorkQueue, HRESULT (*)(DWORD));
CHECK_TYPE(&MFLockSharedWorkQueue, HRESULT (*)(PCWSTR, LONG, DWORD *, DWORD *));
CHECK_TYPE(&MFPutWorkItem, HRESULT (*)(DWORD, IMFAsyncCallback *, IUnknown *));
CHECK_TYPE(&MFPutWorkItem2, HRESULT (*)(DWORD, LONG, IMFAsyncCallback *, IUnknown *));
CHECK_TYPE(&MFPutWorkItemEx, HRESULT (*)(DWORD, IMFAsyncResult *));
CHECK_TYPE(&MFPutWorkItemEx2, HRESULT (*)(DWORD, LONG, IMFAsyncResult *));
CHECK_TYPE(&MFPutWaitingWorkItem, HRESULT (*)(HANDLE, LONG, IMFAsyncResult *, MFWORKITEM_KEY *));
CHECK_TYPE(&MFScheduleWorkItem, HRESULT (*)(IMFAsyncCallback *, IUnknown *, INT64, MFWORKITEM_KEY *));
CHECK_TYPE(&MFScheduleWorkItemEx, HRESULT (*)(IMFAsyncResult *, INT64, MFWORKITEM_KEY *));
CHECK_TYPE(&MFCancelWorkItem, HRESULT (*)(MFWORKITEM_KEY));
CHECK_TYPE(&MFCreateAsyncResult, HRESULT (*)(IUnknown *, IMFAsyncCallback *, IUnknown *, IMFAsyncResult **));
CHECK_TYPE(&MFInvokeCallback, HRESULT (*)(IMFAsyncResult *));
CHECK_TYPE(&MFGetTimerPeriodicity, HRESULT (*)(DWORD *));
CHECK_TYPE(&MFAddPeriodicCallback, HRESULT (*)(MFPERIODICCALLBACK, IUnknown *, DWORD *));
CHECK_TYPE(&MFRemovePeriodicCallback, HRESULT (*)(DWORD));
CHECK_TYPE(&MFBeginRegisterWorkQueueWithMMCSS,
           HRESULT (*)(DWORD, LPCWSTR, DWORD, IMFAsyncCallback *, IUnknown *));
CHECK_TYPE(&MFBeginRegisterWorkQueueWithMMCSSEx,
           HRESULT (*)(DWORD, LPCWSTR, DWORD, LONG, IMFAsyncCallback *, IUnknown *));
CHECK_TYPE(&MFEndRegisterWorkQueueWithMMCSS, HRESULT (*)(IMFAsyncResult *, DWORD *));
CHECK_TYPE(&MFBeginUnregisterWorkQueueWithMMCSS, HRESULT (*)(DWORD, IMFAsyncCallback *, IUnknown *));
CHECK_TYPE(&MFEndUnregisterWorkQueueWithMMCSS, HRESULT (*)(IMFAsyncResult *));
CHECK_TYPE(&MFGetWorkQueueMMCSSClass, HRESULT (*)(DWORD, LPWSTR, DWORD *));
CHECK_TYPE(&MFGetWorkQueueMMCSSTaskId, HRESULT (*)(DWORD, LPDWORD));
CHECK_TYPE(&MFGetWorkQueueMMCSSPriority, HRESULT (*)(DWORD, LONG *));
CHECK_TYPE(&MFRegisterPlatformWithMMCSS, HRESULT (*)(PCWSTR, DWORD *, LONG));
CHECK_TYPE(&MFUnregisterPlatformFromMMCSS, HRESULT (*)(void));

/* rtworkq.h */
CHECK_TYPE(&RtwqStartup, HRESULT (*)(void));
CHECK_TYPE(&RtwqShutdown, HRESULT (*)(void));
CHECK_TYPE(&RtwqLockPlatform, HRESULT (*)(void));
CHECK_TYPE(&RtwqUnlockPlatform, HRESULT (*)(void));
CHECK_TYPE(&RtwqRegisterPlatformEvents, HRESULT (*)(IRtwqPlatformEvents *));
CHECK_TYPE(&RtwqUnregisterPlatformEvents, HRESULT (*)(IRtwqPlatformEvents *));
CHECK_TYPE(&RtwqAllocateWorkQueue, HRESULT (*)(RTWQ_WORKQUEUE_TYPE, DWORD *));
CHECK_TYPE(&RtwqAllocateSerialWorkQueue, HRESULT (*)(DWORD, DWORD *));
CHECK_TYPE(&RtwqLockWorkQueue, HRESULT (*)(DWORD));
CHECK_TYPE(&RtwqUnlockWorkQueue, HRESULT (*)(DWORD));
CHECK_TYPE(&RtwqLockSharedWorkQueue, HRESULT (*)(const WCHAR *, LONG, DWORD *, DWORD *));
CHECK_TYPE(&RtwqJoinWorkQueue, HRESULT (*)(DWORD, HANDLE, HANDLE *));
CHECK_TYPE(&RtwqUnjoinWorkQueue, HRESULT (*)(DWORD, HANDLE));
CHECK_TYPE(&RtwqSetLongRunning, HRESULT (*)(DWORD, WINBOOL));
CHECK_TYPE(&RtwqCreateAsyncResult,
           HRESULT (*)(IUnknown *, IRtwqAsyncCallback *, IUnknown *, IRtwqAsyncResult **));
CHECK_TYPE(&RtwqInvokeCallback, HRESULT (*)(IRtwqAsyncResult *));
CHECK_TYPE(&RtwqPutWorkItem, HRESULT (*)(DWORD, LONG, IRtwqAsyncResult *));
CHECK_TYPE(&RtwqPutWaitingWorkItem, HRESULT (*)(HANDLE, LONG, IRtwqAsyncResult *, RTWQWORKITEM_KEY *));
CHECK_TYPE(&RtwqScheduleWorkItem, HRESULT (*)(IRtwqAsyncResult *, INT64, RTWQWORKITEM_KEY *));
CHECK_TYPE(&RtwqCancelWorkItem, HRESULT (*)(RTWQWORKITEM_KEY));
CHECK_TYPE(&RtwqAddPeriodicCallback, HRESULT (*)(RTWQPERIODICCALLBACK, IUnknown *, DWORD *));
CHECK_TYPE(&RtwqRemovePeriodicCallback, HRESULT (*)(DWORD));
CHECK_TYPE(&RtwqBeginRegisterWorkQueueWithMMCSS,
           HRESULT (*)(DWORD, const WCHAR *, DWORD, LONG, IRtwqAsyncCallback *, IUnknown *));
CHECK_TYPE(&RtwqEndRegisterWorkQueueWithMMCSS, HRESULT (*)(IRtwqAsyncResult *, DWORD *));
CHECK_TYPE(&RtwqBeginUnregisterWorkQueueWithMMCSS, HRESULT (*)(DWORD, IRtwqAsyncCallback *, IUnknown *));
CHECK_TYPE(&RtwqEndUnregisterWorkQueueWithMMCSS, HRESULT (*)(IRtwqAsyncResult *));
CHECK_TYPE(&RtwqGetWorkQueueMMCSSClass, HRESULT (*)(DWORD, WCHAR *, DWORD *));
CHECK_TYPE(&RtwqGetWorkQueueMMCSSTaskId, HRESULT (*)(DWORD, DWORD *));
CHECK_TYPE(&RtwqGetWorkQueueMMCSSPriority, HRESULT (*)(DWORD, LONG *));
CHECK_TYPE(&RtwqRegisterPlatformWithMMCSS, HRESULT (*)(const WCHAR *, DWORD *, LONG));
CHECK_TYPE(&RtwqUnregisterPlatformFromMMCSS, HRESULT (*)(void));
CHECK_TYPE(&RtwqSetDeadline, HRESULT (*)(DWORD, LONGLONG, HANDLE *));
CHECK_TYPE(&RtwqSetDeadline2, HRESULT (*)(DWORD, LONGLONG, LONGLONG, HANDLE *));
CHECK_TYPE(&RtwqCancelDeadline, HRESULT (*)(HANDLE));

/* the Win32 event subset */
CHECK_TYPE(&CreateEventA, HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCSTR));
CHECK_TYPE(&CreateEventW, HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCWSTR));
CHECK_TYPE(&CreateEventExA, HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCSTR, DWORD, DWORD));
CHECK_TYPE(&CreateEventExW, HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCWSTR, DWORD, DWORD));
CHECK_TYPE(&SetEvent, BOOL (*)(HANDLE));
CHECK_TYPE(&ResetEvent, BOOL (*)(HANDLE));
CHECK_TYPE(&WaitForSingleObject, DWORD (*)(HANDLE, DWORD));
CHECK_TYPE(&CloseHandle, BOOL (*)(HANDLE));
CHECK_TYPE(&GetHandleInformation, BOOL (*)(HANDLE, LPDWORD));
CHECK_TYPE(&GetLastError, DWORD (*)(void));
CHECK_TYPE(&Sleep, void (*)(DWORD));

/* mfwq_synch.h */
CHECK_TYPE(&InterlockedIncrement, LONG (*)(LONG volatile *));
CHECK_TYPE(&InterlockedDecrement, LONG (*)(LONG volatile *));
CHECK_TYPE(&InterlockedExchange, LONG (*)(LONG volatile *, LONG));
CHECK_TYPE(&InterlockedExchangeAdd, LONG (*)(LONG volatile *, LONG));
CHECK_TYPE(&InterlockedCompareExchange, LONG (*)(LONG volatile *, LONG, LONG));
CHECK_TYPE(&InterlockedExchangePointer, PVOID (*)(PVOID volatile *, PVOID));
CHECK_TYPE(&InterlockedCompareExchangePointer, PVOID (*)(PVOID volatile *, PVOID, PVOID));
CHECK_TYPE(&InterlockedIncrement64, LONG64 (*)(LONG64 volatile *));
CHECK_TYPE(&InterlockedCompareExchange64, LONG64 (*)(LONG64 volatile *, LONG64, LONG64));
CHECK_TYPE(&InitializeCriticalSection, void (*)(LPCRITICAL_SECTION));
CHECK_TYPE(&InitializeCriticalSectionAndSpinCount, BOOL (*)(LPCRITICAL_SECTION, DWORD));
CHECK_TYPE(&InitializeCriticalSectionEx, BOOL (*)(LPCRITICAL_SECTION, DWORD, DWORD));
CHECK_TYPE(&EnterCriticalSection, void (*)(LPCRITICAL_SECTION));
CHECK_TYPE(&TryEnterCriticalSection, BOOL (*)(LPCRITICAL_SECTION));
CHECK_TYPE(&LeaveCriticalSection, void (*)(LPCRITICAL_SECTION));
CHECK_TYPE(&DeleteCriticalSection, void (*)(LPCRITICAL_SECTION));
CHECK_TYPE(&GetCurrentThreadId, DWORD (*)(void));
CHECK_TYPE(&GetCurrentProcessId, DWORD (*)(void));
CHECK_TYPE(&GetTickCount, DWORD (*)(void));
CHECK_TYPE(&GetTickCount64, ULONGLONG (*)(void));
CHECK_TYPE(&QueryPerformanceCounter, BOOL (*)(LARGE_INTEGER *));
CHECK_TYPE(&QueryPerformanceFrequency, BOOL (*)(LARGE_INTEGER *));
CHECK_TYPE(&WaitForMultipleObjects, DWORD (*)(DWORD, const HANDLE *, BOOL, DWORD));
CHECK_TYPE(&WaitForMultipleObjectsEx, DWORD (*)(DWORD, const HANDLE *, BOOL, DWORD, BOOL));
#ifdef UNICODE
CHECK_TYPE(&CreateEvent, HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCWSTR));
CHECK_TYPE(&CreateEventEx, HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCWSTR, DWORD, DWORD));
#else
CHECK_TYPE(&CreateEvent, HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCSTR));
CHECK_TYPE(&CreateEventEx, HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCSTR, DWORD, DWORD));
#endif

/* a u"" literal is an LPCWSTR */
CHECK_TYPE(&u"Audio"[0], WCHAR *);
#endif /* MFWQ_C11 */

/* ======================================================================== */
/* Runtime: objects implemented in C, called through the COBJMACROS        */
/* ======================================================================== */

static int failures;

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

/* A callback: records which slot was called. */
typedef struct TestCallback {
    IMFAsyncCallback iface;
    LONG refs;
    IMFAsyncResult *invoked_with;
    int last_slot;
} TestCallback;

static TestCallback *callback_impl(IMFAsyncCallback *iface)
{
    return (TestCallback *)((char *)iface - offsetof(TestCallback, iface));
}

static HRESULT MFWQ_STDCALL cb_QueryInterface(IMFAsyncCallback *This, REFIID riid, void **ppv)
{
    static const IID unknown = { 0x00000000, 0x0000, 0x0000, { 0xC0, 0, 0, 0, 0, 0, 0, 0x46 } };
    static const IID callback = { 0xA27003CF, 0x2354, 0x4F2A, { 0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E } };
    callback_impl(This)->last_slot = 0;
    if (!ppv)
        return E_POINTER;
    if (IsEqualIID(riid, &unknown) || IsEqualIID(riid, &callback)) {
        *ppv = This;
        IMFAsyncCallback_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL cb_AddRef(IMFAsyncCallback *This)
{
    callback_impl(This)->last_slot = 1;
    return (ULONG)++callback_impl(This)->refs;
}

static ULONG MFWQ_STDCALL cb_Release(IMFAsyncCallback *This)
{
    callback_impl(This)->last_slot = 2;
    return (ULONG)--callback_impl(This)->refs;
}

static HRESULT MFWQ_STDCALL cb_GetParameters(IMFAsyncCallback *This, DWORD *pdwFlags, DWORD *pdwQueue)
{
    callback_impl(This)->last_slot = 3;
    *pdwFlags = MFASYNC_FAST_IO_PROCESSING_CALLBACK;
    *pdwQueue = MFASYNC_CALLBACK_QUEUE_MULTITHREADED;
    return S_OK;
}

static HRESULT MFWQ_STDCALL cb_Invoke(IMFAsyncCallback *This, IMFAsyncResult *pAsyncResult)
{
    callback_impl(This)->last_slot = 4;
    callback_impl(This)->invoked_with = pAsyncResult;
    return S_OK;
}

static const IMFAsyncCallbackVtbl test_callback_vtbl = {
    cb_QueryInterface, cb_AddRef, cb_Release, cb_GetParameters, cb_Invoke,
};

/* A custom result object: MFASYNCRESULT first, own fields after byte 64. */
typedef struct TestResult {
    MFASYNCRESULT header;
    LONG refs;
    IUnknown *state;
    IUnknown *object;
    int last_slot;
} TestResult;

CHECK(offsetof(TestResult, refs) == 64);

static TestResult *result_impl(IMFAsyncResult *iface)
{
    return (TestResult *)iface; /* the header is at offset 0 */
}

static HRESULT MFWQ_STDCALL res_QueryInterface(IMFAsyncResult *This, REFIID riid, void **ppv)
{
    (void)riid;
    result_impl(This)->last_slot = 0;
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG MFWQ_STDCALL res_AddRef(IMFAsyncResult *This)
{
    result_impl(This)->last_slot = 1;
    return (ULONG)++result_impl(This)->refs;
}

static ULONG MFWQ_STDCALL res_Release(IMFAsyncResult *This)
{
    result_impl(This)->last_slot = 2;
    return (ULONG)--result_impl(This)->refs;
}

static HRESULT MFWQ_STDCALL res_GetState(IMFAsyncResult *This, IUnknown **ppunkState)
{
    result_impl(This)->last_slot = 3;
    if (!result_impl(This)->state)
        return E_POINTER;
    *ppunkState = result_impl(This)->state;
    return S_OK;
}

static HRESULT MFWQ_STDCALL res_GetStatus(IMFAsyncResult *This)
{
    result_impl(This)->last_slot = 4;
    return result_impl(This)->header.hrStatusResult;
}

static HRESULT MFWQ_STDCALL res_SetStatus(IMFAsyncResult *This, HRESULT hrStatus)
{
    result_impl(This)->last_slot = 5;
    result_impl(This)->header.hrStatusResult = hrStatus;
    return S_OK;
}

static HRESULT MFWQ_STDCALL res_GetObject(IMFAsyncResult *This, IUnknown **ppObject)
{
    result_impl(This)->last_slot = 6;
    if (!result_impl(This)->object)
        return E_POINTER;
    *ppObject = result_impl(This)->object;
    return S_OK;
}

static IUnknown *MFWQ_STDCALL res_GetStateNoAddRef(IMFAsyncResult *This)
{
    result_impl(This)->last_slot = 7;
    return result_impl(This)->state;
}

static const IMFAsyncResultVtbl test_result_vtbl = {
    res_QueryInterface, res_AddRef, res_Release, res_GetState,
    res_GetStatus, res_SetStatus, res_GetObject, res_GetStateNoAddRef,
};

int main(void)
{
    /* GUID helpers */
    {
        const GUID a = { 0xAC6B7889, 0x0740, 0x4D51, { 0x86, 0x19, 0x90, 0x59, 0x94, 0xA5, 0x5C, 0xC6 } };
        GUID b = a;
        const unsigned char bytes[16] = { 0x89, 0x78, 0x6B, 0xAC, 0x40, 0x07, 0x51, 0x4D,
                                          0x86, 0x19, 0x90, 0x59, 0x94, 0xA5, 0x5C, 0xC6 };
        EXPECT(IsEqualGUID(&a, &b));
        EXPECT(IsEqualIID(&a, &b));
        EXPECT(IsEqualCLSID(&a, &b));
        b.Data4[7] ^= 1;
        EXPECT(!IsEqualGUID(&a, &b));
        b = a;
        b.Data1 ^= 1;
        EXPECT(!IsEqualGUID(&a, &b));
        /* little-endian in-memory form, as the library's 16-byte GUIDs */
        EXPECT(memcmp(&a, bytes, 16) == 0);
    }

    /* OVERLAPPED's union */
    {
        OVERLAPPED o;
        memset(&o, 0, sizeof o);
        o.Offset = 0x11223344u;
        o.OffsetHigh = 0x55667788u;
        EXPECT((uintptr_t)o.Pointer == (uintptr_t)0x5566778811223344ull);
        EXPECT(o.hEvent == NULL);
    }

    EXPECT(INVALID_HANDLE_VALUE == (HANDLE)(LONG_PTR)-1);
    EXPECT((uintptr_t)INVALID_HANDLE_VALUE == UINTPTR_MAX);

    /* A C callback through the COBJMACROS, slot by slot. */
    {
        TestCallback cb;
        IMFAsyncCallback *iface = &cb.iface;
        DWORD flags = 0, queue = 0;
        void *out = NULL;
        const IID iid_callback = { 0xA27003CF, 0x2354, 0x4F2A, { 0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E } };
        const IID iid_other = { 0xC7A4DCA1, 0xF5F0, 0x47B6, { 0xB9, 0x2B, 0xBF, 0x01, 0x06, 0xD2, 0x57, 0x91 } };

        memset(&cb, 0, sizeof cb);
        cb.iface.lpVtbl = &test_callback_vtbl;
        cb.refs = 1;
        cb.last_slot = -1;

        EXPECT(IMFAsyncCallback_AddRef(iface) == 2 && cb.last_slot == 1);
        EXPECT(IMFAsyncCallback_Release(iface) == 1 && cb.last_slot == 2);
        EXPECT(IMFAsyncCallback_QueryInterface(iface, &iid_callback, &out) == S_OK && out == iface);
        EXPECT(cb.refs == 2);
        EXPECT(IUnknown_Release((IUnknown *)out) == 1);
        EXPECT(IMFAsyncCallback_QueryInterface(iface, &iid_other, &out) == E_NOINTERFACE && out == NULL);
        EXPECT(IMFAsyncCallback_GetParameters(iface, &flags, &queue) == S_OK && cb.last_slot == 3);
        EXPECT(flags == MFASYNC_FAST_IO_PROCESSING_CALLBACK);
        EXPECT(queue == MFASYNC_CALLBACK_QUEUE_MULTITHREADED);

        /* the same object seen as IUnknown and as IRtwqAsyncCallback */
        EXPECT(IUnknown_AddRef((IUnknown *)iface) == 2 && cb.last_slot == 1);
        EXPECT(IUnknown_Release((IUnknown *)iface) == 1 && cb.last_slot == 2);
        flags = queue = 0;
        EXPECT(IRtwqAsyncCallback_GetParameters((IRtwqAsyncCallback *)iface, &flags, &queue) == S_OK);
        EXPECT(cb.last_slot == 3 && flags == MFASYNC_FAST_IO_PROCESSING_CALLBACK);

        /* A C result object, slot by slot. */
        {
            TestResult r;
            IMFAsyncResult *res = &r.header.AsyncResult;
            IUnknown *got = NULL;
            IUnknown *state = (IUnknown *)iface;

            memset(&r, 0, sizeof r);
            r.header.AsyncResult.lpVtbl = &test_result_vtbl;
            r.header.pCallback = iface;
            r.refs = 1;
            r.last_slot = -1;

            EXPECT((void *)res == (void *)&r);
            EXPECT(IMFAsyncResult_QueryInterface(res, &iid_other, (void **)&got) == E_NOINTERFACE);
            EXPECT(r.last_slot == 0);
            EXPECT(IMFAsyncResult_AddRef(res) == 2 && r.last_slot == 1);
            EXPECT(IMFAsyncResult_Release(res) == 1 && r.last_slot == 2);
            EXPECT(IMFAsyncResult_GetState(res, &got) == E_POINTER && r.last_slot == 3);
            r.state = state;
            EXPECT(IMFAsyncResult_GetState(res, &got) == S_OK && got == state);
            EXPECT(IMFAsyncResult_SetStatus(res, MF_E_OPERATION_CANCELLED) == S_OK && r.last_slot == 5);
            EXPECT(r.header.hrStatusResult == MF_E_OPERATION_CANCELLED);
            EXPECT(IMFAsyncResult_GetStatus(res) == MF_E_OPERATION_CANCELLED && r.last_slot == 4);
            EXPECT(IMFAsyncResult_GetObject(res, &got) == E_POINTER && r.last_slot == 6);
            EXPECT(IMFAsyncResult_GetStateNoAddRef(res) == state && r.last_slot == 7);

            /* RTWQ view of the same object */
            EXPECT(IRtwqAsyncResult_GetStatus((IRtwqAsyncResult *)res) == RTWQ_E_OPERATION_CANCELLED);
            EXPECT(r.last_slot == 4);
            {
                IRtwqAsyncCallback *rtwq_callback = NULL;
                memcpy(&rtwq_callback, (char *)&r + offsetof(RTWQASYNCRESULT, pCallback), sizeof rtwq_callback);
                EXPECT(rtwq_callback == (IRtwqAsyncCallback *)iface);
            }

            /* what the platform does when the item runs */
            EXPECT(IMFAsyncCallback_Invoke(r.header.pCallback, res) == S_OK);
            EXPECT(cb.last_slot == 4 && cb.invoked_with == res);
        }
    }

    if (failures) {
        fprintf(stderr, "layout.c: %d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
