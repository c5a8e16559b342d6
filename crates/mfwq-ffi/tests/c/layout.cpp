/*
 * layout.cpp - the C++ view of the mfwq public headers against the Windows
 * SDK's definitions: every prototype, the vtable order of each interface,
 * the sizes and offsets of the structures (LLP64, include/README.md), and
 * the constants (summarised in docs/behaviour.md#layout).
 *
 * Compile-time: sizes, offsets, constants, the type of every prototype, the
 * class hierarchy. Run time: C++ classes implementing each interface are
 * called through the C view of their vtables (slot n = the n-th function
 * pointer, the object as first argument), which is how libmfplat calls them.
 * Nothing here references a symbol of libmfplat: the file builds and runs on
 * its own, and links with the library just as well.
 *
 *   c++ -std=c++11 -Wall -Wextra -Werror -I include crates/mfwq-ffi/tests/c/layout.cpp
 */
#ifndef INITGUID
#define INITGUID /* this translation unit defines the GUIDs it declares */
#endif
#include <rtworkq.h> /* the other order than layout.c */
#include <mfapi.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#define CHECK(expr) static_assert(expr, #expr)
#define SAME(a, b) CHECK((std::is_same<a, b>::value))

/* ======================================================================== */
/* Scalar types                                                             */
/* ======================================================================== */

CHECK(sizeof(void *) == 8);
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
CHECK(sizeof(WCHAR) == 2);
CHECK(sizeof(LPCWSTR) == 8);
CHECK(sizeof(MFWORKITEM_KEY) == 8);
CHECK(sizeof(RTWQWORKITEM_KEY) == 8);
CHECK(sizeof(MFASYNC_WORKQUEUE_TYPE) == 4);
CHECK(sizeof(RTWQ_WORKQUEUE_TYPE) == 4);
CHECK(sizeof(AVRT_PRIORITY) == 4);

SAME(LONG, std::int32_t);
SAME(ULONG, std::uint32_t);
SAME(DWORD, std::uint32_t);
SAME(HRESULT, std::int32_t);
SAME(BOOL, std::int32_t);
SAME(INT64, std::int64_t);
SAME(UINT64, std::uint64_t);
SAME(MFWORKITEM_KEY, std::uint64_t);
SAME(RTWQWORKITEM_KEY, std::uint64_t);
SAME(ULONG_PTR, std::uintptr_t);
SAME(LONG_PTR, std::intptr_t);
SAME(WCHAR, char16_t);            /* so that u"..." is an LPCWSTR */
SAME(LPCWSTR, const char16_t *);
SAME(REFIID, const IID &);
SAME(REFGUID, const GUID &);
SAME(MFPERIODICCALLBACK, void (*)(IUnknown *));
SAME(RTWQPERIODICCALLBACK, void (*)(IUnknown *));

/* ======================================================================== */
/* Structures                                                               */
/* ======================================================================== */

CHECK(sizeof(GUID) == 16);
CHECK(alignof(GUID) == 4);
CHECK(offsetof(GUID, Data1) == 0);
CHECK(offsetof(GUID, Data2) == 4);
CHECK(offsetof(GUID, Data3) == 6);
CHECK(offsetof(GUID, Data4) == 8);

CHECK(sizeof(OVERLAPPED) == 32);
CHECK(alignof(OVERLAPPED) == 8);
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
CHECK(alignof(LARGE_INTEGER) == 8);
CHECK(offsetof(LARGE_INTEGER, QuadPart) == 0);
CHECK(offsetof(LARGE_INTEGER, LowPart) == 0);
CHECK(offsetof(LARGE_INTEGER, HighPart) == 4);
CHECK(offsetof(LARGE_INTEGER, u.LowPart) == 0);
CHECK(offsetof(LARGE_INTEGER, u.HighPart) == 4);
CHECK(sizeof(ULARGE_INTEGER) == 8);
CHECK(sizeof(CRITICAL_SECTION) == 40);
CHECK(alignof(CRITICAL_SECTION) == 8);
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

CHECK(sizeof(MFASYNCRESULT) == 64);
CHECK(alignof(MFASYNCRESULT) == 8);
CHECK(sizeof(RTWQASYNCRESULT) == 64);
CHECK(alignof(RTWQASYNCRESULT) == 8);

/* MFASYNCRESULT derives from a polymorphic class, so it is not standard
 * layout and offsetof is only conditionally supported; GCC and Clang compute
 * it (for single, non-virtual inheritance) and only warn. main() checks the
 * same offsets on live objects. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
CHECK(offsetof(MFASYNCRESULT, overlapped) == 8);
CHECK(offsetof(MFASYNCRESULT, pCallback) == 40);
CHECK(offsetof(MFASYNCRESULT, hrStatusResult) == 48);
CHECK(offsetof(MFASYNCRESULT, dwBytesTransferred) == 52);
CHECK(offsetof(MFASYNCRESULT, hEvent) == 56);
CHECK(offsetof(RTWQASYNCRESULT, overlapped) == 8);
CHECK(offsetof(RTWQASYNCRESULT, pCallback) == 40);
CHECK(offsetof(RTWQASYNCRESULT, hrStatusResult) == 48);
CHECK(offsetof(RTWQASYNCRESULT, dwBytesTransferred) == 52);
CHECK(offsetof(RTWQASYNCRESULT, hEvent) == 56);
#pragma GCC diagnostic pop
#endif

SAME(decltype(MFASYNCRESULT::pCallback), IMFAsyncCallback *);
SAME(decltype(MFASYNCRESULT::hrStatusResult), HRESULT);
SAME(decltype(MFASYNCRESULT::dwBytesTransferred), DWORD);
SAME(decltype(MFASYNCRESULT::hEvent), HANDLE);
SAME(decltype(RTWQASYNCRESULT::pCallback), IRtwqAsyncCallback *);

/* ======================================================================== */
/* Interfaces: one vtable pointer, IUnknown first, no virtual destructor    */
/* ======================================================================== */

CHECK(sizeof(IUnknown) == 8);
CHECK(sizeof(IMFAsyncResult) == 8);
CHECK(sizeof(IMFAsyncCallback) == 8);
CHECK(sizeof(IMFAsyncCallbackLogging) == 8);
CHECK(sizeof(IMFRemoteAsyncCallback) == 8);
CHECK(sizeof(IRtwqAsyncResult) == 8);
CHECK(sizeof(IRtwqAsyncCallback) == 8);
CHECK(sizeof(IRtwqPlatformEvents) == 8);

CHECK(std::is_abstract<IUnknown>::value);
CHECK(std::is_abstract<IMFAsyncResult>::value);
CHECK(std::is_abstract<IMFAsyncCallback>::value);
CHECK(std::is_abstract<IMFAsyncCallbackLogging>::value);
CHECK(std::is_abstract<IMFRemoteAsyncCallback>::value);
CHECK(std::is_abstract<IRtwqAsyncResult>::value);
CHECK(std::is_abstract<IRtwqAsyncCallback>::value);
CHECK(std::is_abstract<IRtwqPlatformEvents>::value);
CHECK(std::is_abstract<MFASYNCRESULT>::value);
CHECK(std::is_abstract<RTWQASYNCRESULT>::value);

CHECK(!std::has_virtual_destructor<IUnknown>::value);
CHECK(!std::has_virtual_destructor<IMFAsyncResult>::value);
CHECK(!std::has_virtual_destructor<IMFAsyncCallback>::value);
CHECK(!std::has_virtual_destructor<IRtwqPlatformEvents>::value);
CHECK(!std::has_virtual_destructor<MFASYNCRESULT>::value);

CHECK((std::is_base_of<IUnknown, IMFAsyncResult>::value));
CHECK((std::is_base_of<IUnknown, IMFAsyncCallback>::value));
CHECK((std::is_base_of<IMFAsyncCallback, IMFAsyncCallbackLogging>::value));
CHECK((std::is_base_of<IUnknown, IMFRemoteAsyncCallback>::value));
CHECK((std::is_base_of<IUnknown, IRtwqAsyncResult>::value));
CHECK((std::is_base_of<IUnknown, IRtwqAsyncCallback>::value));
CHECK((std::is_base_of<IUnknown, IRtwqPlatformEvents>::value));
CHECK((std::is_base_of<IMFAsyncResult, MFASYNCRESULT>::value));
CHECK((std::is_base_of<IRtwqAsyncResult, RTWQASYNCRESULT>::value));

/* method signatures */
/* QueryInterface is overloaded (the typed template helper, as in the SDK's
 * unknwn.h): the cast compiles only if the virtual has exactly this type. */
static HRESULT (IUnknown::*const query_interface)(REFIID, void **) = &IUnknown::QueryInterface;
CHECK((std::is_polymorphic<IUnknown>::value));
SAME(decltype(&IUnknown::AddRef), ULONG (IUnknown::*)());
SAME(decltype(&IUnknown::Release), ULONG (IUnknown::*)());
SAME(decltype(&IMFAsyncResult::GetState), HRESULT (IMFAsyncResult::*)(IUnknown **));
SAME(decltype(&IMFAsyncResult::GetStatus), HRESULT (IMFAsyncResult::*)());
SAME(decltype(&IMFAsyncResult::SetStatus), HRESULT (IMFAsyncResult::*)(HRESULT));
SAME(decltype(&IMFAsyncResult::GetObject), HRESULT (IMFAsyncResult::*)(IUnknown **));
SAME(decltype(&IMFAsyncResult::GetStateNoAddRef), IUnknown *(IMFAsyncResult::*)());
SAME(decltype(&IMFAsyncCallback::GetParameters), HRESULT (IMFAsyncCallback::*)(DWORD *, DWORD *));
SAME(decltype(&IMFAsyncCallback::Invoke), HRESULT (IMFAsyncCallback::*)(IMFAsyncResult *));
SAME(decltype(&IMFAsyncCallbackLogging::GetObjectPointer), void *(IMFAsyncCallbackLogging::*)());
SAME(decltype(&IMFAsyncCallbackLogging::GetObjectTag), DWORD (IMFAsyncCallbackLogging::*)());
SAME(decltype(&IMFRemoteAsyncCallback::Invoke), HRESULT (IMFRemoteAsyncCallback::*)(HRESULT, IUnknown *));
SAME(decltype(&IRtwqAsyncResult::GetState), HRESULT (IRtwqAsyncResult::*)(IUnknown **));
SAME(decltype(&IRtwqAsyncResult::GetStatus), HRESULT (IRtwqAsyncResult::*)());
SAME(decltype(&IRtwqAsyncResult::SetStatus), HRESULT (IRtwqAsyncResult::*)(HRESULT));
SAME(decltype(&IRtwqAsyncResult::GetObject), HRESULT (IRtwqAsyncResult::*)(IUnknown **));
SAME(decltype(&IRtwqAsyncResult::GetStateNoAddRef), IUnknown *(IRtwqAsyncResult::*)());
SAME(decltype(&IRtwqAsyncCallback::GetParameters), HRESULT (IRtwqAsyncCallback::*)(DWORD *, DWORD *));
SAME(decltype(&IRtwqAsyncCallback::Invoke), HRESULT (IRtwqAsyncCallback::*)(IRtwqAsyncResult *));
SAME(decltype(&IRtwqPlatformEvents::InitializationComplete), HRESULT (IRtwqPlatformEvents::*)());
SAME(decltype(&IRtwqPlatformEvents::ShutdownStart), HRESULT (IRtwqPlatformEvents::*)());
SAME(decltype(&IRtwqPlatformEvents::ShutdownComplete), HRESULT (IRtwqPlatformEvents::*)());

/* ======================================================================== */
/* Constants                                                                */
/* ======================================================================== */

CHECK(MF_SDK_VERSION == 0x0002);
CHECK(MF_API_VERSION == 0x0070);
CHECK(MF_VERSION == 0x00020070);
CHECK(MFSTARTUP_NOSOCKET == 0x1);
CHECK(MFSTARTUP_LITE == 0x1);
CHECK(MFSTARTUP_FULL == 0x0);

CHECK(MFASYNC_FAST_IO_PROCESSING_CALLBACK == 0x00000001);
CHECK(MFASYNC_SIGNAL_CALLBACK == 0x00000002);
CHECK(MFASYNC_BLOCKING_CALLBACK == 0x00000004);
CHECK(MFASYNC_REPLY_CALLBACK == 0x00000008);
CHECK(MFASYNC_LOCALIZE_REMOTE_CALLBACK == 0x00000010);

CHECK(MFASYNC_CALLBACK_QUEUE_UNDEFINED == 0x00000000);
CHECK(MFASYNC_CALLBACK_QUEUE_STANDARD == 0x00000001);
CHECK(MFASYNC_CALLBACK_QUEUE_RT == 0x00000002);
CHECK(MFASYNC_CALLBACK_QUEUE_IO == 0x00000003);
CHECK(MFASYNC_CALLBACK_QUEUE_TIMER == 0x00000004);
CHECK(MFASYNC_CALLBACK_QUEUE_MULTITHREADED == 0x00000005);
CHECK(MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION == 0x00000007);
CHECK(MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK == 0xFFFF0000u);
CHECK(MFASYNC_CALLBACK_QUEUE_ALL == 0xFFFFFFFFu);

CHECK(MF_STANDARD_WORKQUEUE == 0);
CHECK(MF_WINDOW_WORKQUEUE == 1);
CHECK(MF_MULTITHREADED_WORKQUEUE == 2);
CHECK(RTWQ_STANDARD_WORKQUEUE == 0);
CHECK(RTWQ_WINDOW_WORKQUEUE == 1);
CHECK(RTWQ_MULTITHREADED_WORKQUEUE == 2);

CHECK(AVRT_PRIORITY_VERYLOW == -2);
CHECK(AVRT_PRIORITY_LOW == -1);
CHECK(AVRT_PRIORITY_NORMAL == 0);
CHECK(AVRT_PRIORITY_HIGH == 1);
CHECK(AVRT_PRIORITY_CRITICAL == 2);

SAME(decltype(S_OK), HRESULT);
SAME(decltype(E_FAIL), HRESULT);
SAME(decltype(MF_E_SHUTDOWN), HRESULT);
SAME(decltype(RTWQ_E_SHUTDOWN), HRESULT);
CHECK(E_FAIL < 0);
CHECK(MF_E_SHUTDOWN < 0);
CHECK(FAILED(MF_E_SHUTDOWN));
CHECK(FAILED(RTWQ_E_SHUTDOWN));
CHECK(SUCCEEDED(S_FALSE));
CHECK(SUCCEEDED(MF_S_MULTIPLE_BEGIN));

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

CHECK(RTWQ_E_ERROR(16005) == (HRESULT)0xC00D3E85);
CHECK(RTWQ_E_BUFFERTOOSMALL == MF_E_BUFFERTOOSMALL);
CHECK(RTWQ_E_NOT_INITIALIZED == MF_E_NOT_INITIALIZED);
CHECK(RTWQ_E_UNEXPECTED == MF_E_UNEXPECTED);
CHECK(RTWQ_E_NOT_FOUND == MF_E_NOT_FOUND);
CHECK(RTWQ_E_OPERATION_CANCELLED == MF_E_OPERATION_CANCELLED);
CHECK(RTWQ_E_INVALID_WORKQUEUE == MF_E_INVALID_WORKQUEUE);
CHECK(RTWQ_E_SHUTDOWN == MF_E_SHUTDOWN);

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
CHECK(MAKELONG(MF_API_VERSION, MF_SDK_VERSION) == MF_VERSION);
CHECK(LOWORD(MF_VERSION) == MF_API_VERSION);
CHECK(HIWORD(MF_VERSION) == MF_SDK_VERSION);

/* ======================================================================== */
/* Prototypes (decltype does not reference the functions)                   */
/* ======================================================================== */

SAME(decltype(IID_IUnknown), const IID);
SAME(decltype(IID_IMFAsyncResult), const IID);
SAME(decltype(IID_IMFAsyncCallback), const IID);
SAME(decltype(IID_IMFAsyncCallbackLogging), const IID);
SAME(decltype(IID_IMFRemoteAsyncCallback), const IID);
SAME(decltype(IID_IRtwqAsyncResult), const IID);
SAME(decltype(IID_IRtwqAsyncCallback), const IID);
SAME(decltype(IID_IRtwqPlatformEvents), const IID);

/* MFStartup's dwFlags has a default in C++ */
SAME(decltype(MFStartup(MF_VERSION)), HRESULT);
SAME(decltype(&MFStartup), HRESULT (*)(ULONG, DWORD));
SAME(decltype(&MFShutdown), HRESULT (*)());
SAME(decltype(&MFLockPlatform), HRESULT (*)());
SAME(decltype(&MFUnlockPlatform), HRESULT (*)());
SAME(decltype(&MFAllocateWorkQueue), HRESULT (*)(DWORD *));
SAME(decltype(&MFAllocateWorkQueueEx), HRESULT (*)(MFASYNC_WORKQUEUE_TYPE, DWORD *));
SAME(decltype(&MFAllocateSerialWorkQueue), HRESULT (*)(DWORD, DWORD *));
SAME(decltype(&MFLockWorkQueue), HRESULT (*)(DWORD));
SAME(decltype(&MFUnlockWorkQueue), HRESULT (*)(DWORD));
SAME(decltype(&MFLockSharedWorkQueue), HRESULT (*)(PCWSTR, LONG, DWORD *, DWORD *));
SAME(decltype(&MFPutWorkItem), HRESULT (*)(DWORD, IMFAsyncCallback *, IUnknown *));
SAME(decltype(&MFPutWorkItem2), HRESULT (*)(DWORD, LONG, IMFAsyncCallback *, IUnknown *));
SAME(decltype(&MFPutWorkItemEx), HRESULT (*)(DWORD, IMFAsyncResult *));
SAME(decltype(&MFPutWorkItemEx2), HRESULT (*)(DWORD, LONG, IMFAsyncResult *));
SAME(decltype(&MFPutWaitingWorkItem), HRESULT (*)(HANDLE, LONG, IMFAsyncResult *, MFWORKITEM_KEY *));
SAME(decltype(&MFScheduleWorkItem), HRESULT (*)(IMFAsyncCallback *, IUnknown *, INT64, MFWORKITEM_KEY *));
SAME(decltype(&MFScheduleWorkItemEx), HRESULT (*)(IMFAsyncResult *, INT64, MFWORKITEM_KEY *));
SAME(decltype(&MFCancelWorkItem), HRESULT (*)(MFWORKITEM_KEY));
SAME(decltype(&MFCreateAsyncResult), HRESULT (*)(IUnknown *, IMFAsyncCallback *, IUnknown *, IMFAsyncResult **));
SAME(decltype(&MFInvokeCallback), HRESULT (*)(IMFAsyncResult *));
SAME(decltype(&MFGetTimerPeriodicity), HRESULT (*)(DWORD *));
SAME(decltype(&MFAddPeriodicCallback), HRESULT (*)(MFPERIODICCALLBACK, IUnknown *, DWORD *));
SAME(decltype(&MFRemovePeriodicCallback), HRESULT (*)(DWORD));
SAME(decltype(&MFBeginRegisterWorkQueueWithMMCSS),
     HRESULT (*)(DWORD, LPCWSTR, DWORD, IMFAsyncCallback *, IUnknown *));
SAME(decltype(&MFBeginRegisterWorkQueueWithMMCSSEx),
     HRESULT (*)(DWORD, LPCWSTR, DWORD, LONG, IMFAsyncCallback *, IUnknown *));
SAME(decltype(&MFEndRegisterWorkQueueWithMMCSS), HRESULT (*)(IMFAsyncResult *, DWORD *));
SAME(decltype(&MFBeginUnregisterWorkQueueWithMMCSS), HRESULT (*)(DWORD, IMFAsyncCallback *, IUnknown *));
SAME(decltype(&MFEndUnregisterWorkQueueWithMMCSS), HRESULT (*)(IMFAsyncResult *));
SAME(decltype(&MFGetWorkQueueMMCSSClass), HRESULT (*)(DWORD, LPWSTR, DWORD *));
SAME(decltype(&MFGetWorkQueueMMCSSTaskId), HRESULT (*)(DWORD, LPDWORD));
SAME(decltype(&MFGetWorkQueueMMCSSPriority), HRESULT (*)(DWORD, LONG *));
SAME(decltype(&MFRegisterPlatformWithMMCSS), HRESULT (*)(PCWSTR, DWORD *, LONG));
SAME(decltype(&MFUnregisterPlatformFromMMCSS), HRESULT (*)());

SAME(decltype(&RtwqStartup), HRESULT (*)());
SAME(decltype(&RtwqShutdown), HRESULT (*)());
SAME(decltype(&RtwqLockPlatform), HRESULT (*)());
SAME(decltype(&RtwqUnlockPlatform), HRESULT (*)());
SAME(decltype(&RtwqRegisterPlatformEvents), HRESULT (*)(IRtwqPlatformEvents *));
SAME(decltype(&RtwqUnregisterPlatformEvents), HRESULT (*)(IRtwqPlatformEvents *));
SAME(decltype(&RtwqAllocateWorkQueue), HRESULT (*)(RTWQ_WORKQUEUE_TYPE, DWORD *));
SAME(decltype(&RtwqAllocateSerialWorkQueue), HRESULT (*)(DWORD, DWORD *));
SAME(decltype(&RtwqLockWorkQueue), HRESULT (*)(DWORD));
SAME(decltype(&RtwqUnlockWorkQueue), HRESULT (*)(DWORD));
SAME(decltype(&RtwqLockSharedWorkQueue), HRESULT (*)(const WCHAR *, LONG, DWORD *, DWORD *));
SAME(decltype(&RtwqJoinWorkQueue), HRESULT (*)(DWORD, HANDLE, HANDLE *));
SAME(decltype(&RtwqUnjoinWorkQueue), HRESULT (*)(DWORD, HANDLE));
SAME(decltype(&RtwqSetLongRunning), HRESULT (*)(DWORD, WINBOOL));
SAME(decltype(&RtwqCreateAsyncResult),
     HRESULT (*)(IUnknown *, IRtwqAsyncCallback *, IUnknown *, IRtwqAsyncResult **));
SAME(decltype(&RtwqInvokeCallback), HRESULT (*)(IRtwqAsyncResult *));
SAME(decltype(&RtwqPutWorkItem), HRESULT (*)(DWORD, LONG, IRtwqAsyncResult *));
SAME(decltype(&RtwqPutWaitingWorkItem), HRESULT (*)(HANDLE, LONG, IRtwqAsyncResult *, RTWQWORKITEM_KEY *));
SAME(decltype(&RtwqScheduleWorkItem), HRESULT (*)(IRtwqAsyncResult *, INT64, RTWQWORKITEM_KEY *));
SAME(decltype(&RtwqCancelWorkItem), HRESULT (*)(RTWQWORKITEM_KEY));
SAME(decltype(&RtwqAddPeriodicCallback), HRESULT (*)(RTWQPERIODICCALLBACK, IUnknown *, DWORD *));
SAME(decltype(&RtwqRemovePeriodicCallback), HRESULT (*)(DWORD));
SAME(decltype(&RtwqBeginRegisterWorkQueueWithMMCSS),
     HRESULT (*)(DWORD, const WCHAR *, DWORD, LONG, IRtwqAsyncCallback *, IUnknown *));
SAME(decltype(&RtwqEndRegisterWorkQueueWithMMCSS), HRESULT (*)(IRtwqAsyncResult *, DWORD *));
SAME(decltype(&RtwqBeginUnregisterWorkQueueWithMMCSS), HRESULT (*)(DWORD, IRtwqAsyncCallback *, IUnknown *));
SAME(decltype(&RtwqEndUnregisterWorkQueueWithMMCSS), HRESULT (*)(IRtwqAsyncResult *));
SAME(decltype(&RtwqGetWorkQueueMMCSSClass), HRESULT (*)(DWORD, WCHAR *, DWORD *));
SAME(decltype(&RtwqGetWorkQueueMMCSSTaskId), HRESULT (*)(DWORD, DWORD *));
SAME(decltype(&RtwqGetWorkQueueMMCSSPriority), HRESULT (*)(DWORD, LONG *));
SAME(decltype(&RtwqRegisterPlatformWithMMCSS), HRESULT (*)(const WCHAR *, DWORD *, LONG));
SAME(decltype(&RtwqUnregisterPlatformFromMMCSS), HRESULT (*)());
SAME(decltype(&RtwqSetDeadline), HRESULT (*)(DWORD, LONGLONG, HANDLE *));
SAME(decltype(&RtwqSetDeadline2), HRESULT (*)(DWORD, LONGLONG, LONGLONG, HANDLE *));
SAME(decltype(&RtwqCancelDeadline), HRESULT (*)(HANDLE));

SAME(decltype(&CreateEventA), HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCSTR));
SAME(decltype(&CreateEventW), HANDLE (*)(LPSECURITY_ATTRIBUTES, BOOL, BOOL, LPCWSTR));
SAME(decltype(&CreateEventExA), HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCSTR, DWORD, DWORD));
SAME(decltype(&CreateEventExW), HANDLE (*)(LPSECURITY_ATTRIBUTES, LPCWSTR, DWORD, DWORD));
SAME(decltype(&SetEvent), BOOL (*)(HANDLE));
SAME(decltype(&ResetEvent), BOOL (*)(HANDLE));
SAME(decltype(&WaitForSingleObject), DWORD (*)(HANDLE, DWORD));
SAME(decltype(&CloseHandle), BOOL (*)(HANDLE));
SAME(decltype(&GetHandleInformation), BOOL (*)(HANDLE, LPDWORD));
SAME(decltype(&GetLastError), DWORD (*)());
SAME(decltype(&Sleep), void (*)(DWORD));

/* mfwq_synch.h */
/* The five LONG operations are overloaded, as in the Windows SDK's winnt.h:
 * the LONG form, and the `long`, `unsigned long` and `unsigned` forms (a
 * `long m_cRef` of Microsoft's samples is 64 bits here). Each form exists
 * with its exact signature, and a call picks the one its counter's type
 * asks for. */
#define SAME_FORM(name, type, params) CHECK((static_cast<type(*) params>(&name) != nullptr))
#define INTERLOCKED_FORMS(type)                                                                  \
    SAME_FORM(InterlockedIncrement, type, (type volatile *));                                    \
    SAME_FORM(InterlockedDecrement, type, (type volatile *));                                    \
    SAME_FORM(InterlockedExchange, type, (type volatile *, type));                               \
    SAME_FORM(InterlockedExchangeAdd, type, (type volatile *, type));                            \
    SAME_FORM(InterlockedCompareExchange, type, (type volatile *, type, type));                  \
    SAME(decltype(InterlockedIncrement(static_cast<type *>(nullptr))), type);                    \
    SAME(decltype(InterlockedCompareExchange(static_cast<type *>(nullptr), static_cast<type>(0), static_cast<type>(0))), type)
INTERLOCKED_FORMS(LONG);
INTERLOCKED_FORMS(long);
INTERLOCKED_FORMS(unsigned long);
INTERLOCKED_FORMS(unsigned);
CHECK((std::is_same<ULONG, unsigned>::value)); /* so a ULONG counter takes the `unsigned` form */
#undef INTERLOCKED_FORMS
#undef SAME_FORM
SAME(decltype(&InterlockedExchangePointer), PVOID (*)(PVOID volatile *, PVOID));
SAME(decltype(&InterlockedCompareExchangePointer), PVOID (*)(PVOID volatile *, PVOID, PVOID));
SAME(decltype(&InterlockedIncrement64), LONG64 (*)(LONG64 volatile *));
SAME(decltype(&InterlockedCompareExchange64), LONG64 (*)(LONG64 volatile *, LONG64, LONG64));
SAME(decltype(&InitializeCriticalSection), void (*)(LPCRITICAL_SECTION));
SAME(decltype(&InitializeCriticalSectionAndSpinCount), BOOL (*)(LPCRITICAL_SECTION, DWORD));
SAME(decltype(&InitializeCriticalSectionEx), BOOL (*)(LPCRITICAL_SECTION, DWORD, DWORD));
SAME(decltype(&EnterCriticalSection), void (*)(LPCRITICAL_SECTION));
SAME(decltype(&TryEnterCriticalSection), BOOL (*)(LPCRITICAL_SECTION));
SAME(decltype(&LeaveCriticalSection), void (*)(LPCRITICAL_SECTION));
SAME(decltype(&DeleteCriticalSection), void (*)(LPCRITICAL_SECTION));
SAME(decltype(&GetCurrentThreadId), DWORD (*)());
SAME(decltype(&GetCurrentProcessId), DWORD (*)());
SAME(decltype(&GetTickCount), DWORD (*)());
SAME(decltype(&GetTickCount64), ULONGLONG (*)());
SAME(decltype(&QueryPerformanceCounter), BOOL (*)(LARGE_INTEGER *));
SAME(decltype(&QueryPerformanceFrequency), BOOL (*)(LARGE_INTEGER *));
SAME(decltype(&WaitForMultipleObjects), DWORD (*)(DWORD, const HANDLE *, BOOL, DWORD));
SAME(decltype(&WaitForMultipleObjectsEx), DWORD (*)(DWORD, const HANDLE *, BOOL, DWORD, BOOL));
#ifdef UNICODE
SAME(decltype(&CreateEvent), decltype(&CreateEventW));
SAME(decltype(&CreateEventEx), decltype(&CreateEventExW));
#else
SAME(decltype(&CreateEvent), decltype(&CreateEventA));
SAME(decltype(&CreateEventEx), decltype(&CreateEventExA));
#endif

/* wide literals pass as they are */
SAME(decltype(MFLockSharedWorkQueue(u"Audio", 0, nullptr, nullptr)), HRESULT);
SAME(decltype(RtwqLockSharedWorkQueue(u"Pro Audio", 0, nullptr, nullptr)), HRESULT);

/* ======================================================================== */
/* Runtime                                                                  */
/* ======================================================================== */

/* Defined here because of INITGUID: the same value as IID_IMFAsyncCallback. */
DEFINE_GUID(layout_iid_callback, 0xA27003CF, 0x2354, 0x4F2A, 0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E);
DEFINE_GUID(layout_iid_unknown, 0x00000000, 0x0000, 0x0000, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46);
DEFINE_GUID(layout_iid_other, 0x63D9255A, 0x7FF1, 0x4B61, 0x8F, 0xAF, 0xED, 0x64, 0x60, 0xDA, 0xCF, 0x2B);

/* A user's own interfaces, registered for __uuidof both ways. */
struct ILayoutOwn : public IUnknown {
    MFWQ_INTERFACE_DTOR(ILayoutOwn)
};
MFWQ_DECLARE_UUIDOF_IID(ILayoutOwn, layout_iid_other)
struct ILayoutLiteral : public IUnknown {
    MFWQ_INTERFACE_DTOR(ILayoutLiteral)
};
MFWQ_DECLARE_UUIDOF(ILayoutLiteral, 0x12345678, 0x1234, 0x5678, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78)

static int failures;

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

/* Call vtable slot `index` of a COM object the way C code (and libmfplat)
 * does: read the vtable pointer at offset 0, take the index-th function
 * pointer, pass the object as the first argument. */
template <typename R, typename... Args>
static R call_slot(const void *object, int index, Args... args)
{
    typedef R (*Fn)(const void *, Args...);
    const void *const *vtbl;
    std::memcpy(&vtbl, object, sizeof vtbl);
    Fn fn;
    std::memcpy(&fn, &vtbl[index], sizeof fn);
    return fn(object, args...);
}

/* Implementations that record the slot last called. */
template <typename Interface>
struct Recorder : public Interface {
    int last_slot = -1;
    LONG refs = 1;
    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void **ppv) override
    {
        last_slot = 0;
        if (!ppv)
            return E_POINTER;
        if (riid == layout_iid_unknown || IsEqualIID(riid, layout_iid_callback)) {
            *ppv = this;
            AddRef();
            return S_OK;
        }
        *ppv = nullptr;
        return E_NOINTERFACE;
    }
    ULONG STDMETHODCALLTYPE AddRef() override
    {
        last_slot = 1;
        return (ULONG)++refs;
    }
    ULONG STDMETHODCALLTYPE Release() override
    {
        last_slot = 2;
        return (ULONG)--refs;
    }

protected:
    ~Recorder() = default;
};

struct TestCallback final : public Recorder<IMFAsyncCallback> {
    IMFAsyncResult *invoked_with = nullptr;
    STDMETHOD(GetParameters)(DWORD *pdwFlags, DWORD *pdwQueue) override
    {
        last_slot = 3;
        *pdwFlags = MFASYNC_BLOCKING_CALLBACK;
        *pdwQueue = MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION;
        return S_OK;
    }
    STDMETHOD(Invoke)(IMFAsyncResult *pAsyncResult) override
    {
        last_slot = 4;
        invoked_with = pAsyncResult;
        return S_OK;
    }
};

struct TestLogging final : public Recorder<IMFAsyncCallbackLogging> {
    HRESULT STDMETHODCALLTYPE GetParameters(DWORD *, DWORD *) override { last_slot = 3; return E_NOTIMPL; }
    HRESULT STDMETHODCALLTYPE Invoke(IMFAsyncResult *) override { last_slot = 4; return S_OK; }
    void *STDMETHODCALLTYPE GetObjectPointer() override { last_slot = 5; return this; }
    DWORD STDMETHODCALLTYPE GetObjectTag() override { last_slot = 6; return 0x7A6u; }
};

struct TestRemote final : public Recorder<IMFRemoteAsyncCallback> {
    HRESULT seen = S_OK;
    HRESULT STDMETHODCALLTYPE Invoke(HRESULT hr, IUnknown *) override { last_slot = 3; seen = hr; return S_OK; }
};

struct TestEvents final : public Recorder<IRtwqPlatformEvents> {
    HRESULT STDMETHODCALLTYPE InitializationComplete() override { last_slot = 3; return S_OK; }
    HRESULT STDMETHODCALLTYPE ShutdownStart() override { last_slot = 4; return S_OK; }
    HRESULT STDMETHODCALLTYPE ShutdownComplete() override { last_slot = 5; return S_OK; }
};

struct TestRtwqCallback final : public Recorder<IRtwqAsyncCallback> {
    HRESULT STDMETHODCALLTYPE GetParameters(DWORD *f, DWORD *q) override { last_slot = 3; *f = 0; *q = 0; return S_OK; }
    HRESULT STDMETHODCALLTYPE Invoke(IRtwqAsyncResult *) override { last_slot = 4; return S_OK; }
};

/* A custom result: MFASYNCRESULT first, own fields from byte 64 on. */
template <typename Header>
struct TestResult final : public Recorder<Header> {
    IUnknown *state = nullptr;
    HRESULT STDMETHODCALLTYPE GetState(IUnknown **ppunkState) override
    {
        this->last_slot = 3;
        if (!state)
            return E_POINTER;
        *ppunkState = state;
        return S_OK;
    }
    HRESULT STDMETHODCALLTYPE GetStatus() override { this->last_slot = 4; return this->hrStatusResult; }
    HRESULT STDMETHODCALLTYPE SetStatus(HRESULT hr) override { this->last_slot = 5; this->hrStatusResult = hr; return S_OK; }
    HRESULT STDMETHODCALLTYPE GetObject(IUnknown **) override { this->last_slot = 6; return E_POINTER; }
    IUnknown *STDMETHODCALLTYPE GetStateNoAddRef() override { this->last_slot = 7; return state; }
};

static std::ptrdiff_t distance(const void *base, const void *field)
{
    return static_cast<const char *>(field) - static_cast<const char *>(base);
}

template <typename Header>
static void check_result_layout()
{
    TestResult<Header> r;
    Header *h = &r;
    std::memset(&h->overlapped, 0, sizeof h->overlapped);
    h->pCallback = nullptr;
    h->hrStatusResult = S_OK;
    h->dwBytesTransferred = 0;
    h->hEvent = nullptr;

    /* Offsets on a live object */
    EXPECT(static_cast<void *>(h) == static_cast<void *>(&r));
    EXPECT(distance(h, &h->overlapped) == 8);
    EXPECT(distance(h, &h->overlapped.Offset) == 24);
    EXPECT(distance(h, &h->overlapped.hEvent) == 32);
    EXPECT(distance(h, &h->pCallback) == 40);
    EXPECT(distance(h, &h->hrStatusResult) == 48);
    EXPECT(distance(h, &h->dwBytesTransferred) == 52);
    EXPECT(distance(h, &h->hEvent) == 56);
    EXPECT(distance(h, &r.last_slot) >= 64); /* own fields after the header */

    /* Slot order through the C view */
    IUnknown *state = reinterpret_cast<IUnknown *>(&r);
    IUnknown *got = nullptr;
    void *out = nullptr;
    EXPECT(call_slot<HRESULT>(h, 0, &layout_iid_unknown, &out) == S_OK && r.last_slot == 1 && out == h);
    EXPECT(call_slot<ULONG>(h, 1) == 3 && r.last_slot == 1);
    EXPECT(call_slot<ULONG>(h, 2) == 2 && r.last_slot == 2);
    EXPECT(call_slot<HRESULT>(h, 3, &got) == E_POINTER && r.last_slot == 3);
    r.state = state;
    EXPECT(call_slot<HRESULT>(h, 3, &got) == S_OK && got == state);
    EXPECT(call_slot<HRESULT>(h, 5, MF_E_OPERATION_CANCELLED) == S_OK && r.last_slot == 5);
    EXPECT(h->hrStatusResult == MF_E_OPERATION_CANCELLED);
    EXPECT(call_slot<HRESULT>(h, 4) == MF_E_OPERATION_CANCELLED && r.last_slot == 4);
    EXPECT(call_slot<HRESULT>(h, 6, &got) == E_POINTER && r.last_slot == 6);
    EXPECT(call_slot<IUnknown *>(h, 7) == state && r.last_slot == 7);
}

int main()
{
    /* GUID helpers and DEFINE_GUID with INITGUID */
    {
        const unsigned char bytes[16] = { 0xCF, 0x03, 0x70, 0xA2, 0x54, 0x23, 0x2A, 0x4F,
                                          0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E };
        GUID copy = layout_iid_callback;
        EXPECT(std::memcmp(&layout_iid_callback, bytes, 16) == 0);
        EXPECT(IsEqualGUID(copy, layout_iid_callback));
        EXPECT(IsEqualIID(copy, layout_iid_callback));
        EXPECT(copy == layout_iid_callback);
        EXPECT(!(copy != layout_iid_callback));
        copy.Data4[0] ^= 0x80;
        EXPECT(!IsEqualGUID(copy, layout_iid_callback));
        EXPECT(copy != layout_iid_callback);
        EXPECT(layout_iid_callback != layout_iid_other);
    }

    /* __uuidof: every interface of the headers, through a type, an object,
     * a pointer and a pointer to pointer; a user's own interface. */
    {
        IMFAsyncCallback *callback = nullptr;
        IRtwqAsyncResult **result = nullptr;
        EXPECT(&__uuidof(IUnknown) == &IID_IUnknown);
        EXPECT(&__uuidof(IMFAsyncResult) == &IID_IMFAsyncResult);
        EXPECT(&__uuidof(IMFAsyncCallback) == &IID_IMFAsyncCallback);
        EXPECT(&__uuidof(IMFAsyncCallbackLogging) == &IID_IMFAsyncCallbackLogging);
        EXPECT(&__uuidof(IMFRemoteAsyncCallback) == &IID_IMFRemoteAsyncCallback);
        EXPECT(&__uuidof(IRtwqAsyncResult) == &IID_IRtwqAsyncResult);
        EXPECT(&__uuidof(IRtwqAsyncCallback) == &IID_IRtwqAsyncCallback);
        EXPECT(&__uuidof(IRtwqPlatformEvents) == &IID_IRtwqPlatformEvents);
        EXPECT(&__uuidof(callback) == &IID_IMFAsyncCallback);
        EXPECT(&__uuidof(*callback) == &IID_IMFAsyncCallback);
        EXPECT(&__uuidof(**result) == &IID_IRtwqAsyncResult);
        EXPECT(&__uuidof(const IMFAsyncResult &) == &IID_IMFAsyncResult);
        EXPECT(__uuidof(ILayoutOwn) == layout_iid_other);
        EXPECT(__uuidof(ILayoutLiteral).Data1 == 0x12345678u && __uuidof(ILayoutLiteral).Data4[7] == 0x78);
        EXPECT(&__uuidof(ILayoutLiteral) == &__uuidof(ILayoutLiteral));
    }

    /* OVERLAPPED union */
    {
        OVERLAPPED o;
        std::memset(&o, 0, sizeof o);
        o.Offset = 0x11223344u;
        o.OffsetHigh = 0x55667788u;
        EXPECT(reinterpret_cast<std::uintptr_t>(o.Pointer) == static_cast<std::uintptr_t>(0x5566778811223344ull));
    }

    /* wide strings */
    {
        LPCWSTR audio = u"Audio";
        EXPECT(audio[0] == 'A' && audio[5] == 0);
    }

    /* IMFAsyncCallback: GetParameters is slot 3, Invoke slot 4 */
    TestCallback cb;
    {
        IMFAsyncCallback *iface = &cb;
        DWORD flags = 0, queue = 0;
        void *out = nullptr;
        EXPECT(static_cast<void *>(iface) == static_cast<void *>(static_cast<IUnknown *>(iface)));
        EXPECT(call_slot<HRESULT>(iface, 3, &flags, &queue) == S_OK && cb.last_slot == 3);
        EXPECT(flags == MFASYNC_BLOCKING_CALLBACK && queue == MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION);
        EXPECT(call_slot<ULONG>(iface, 1) == 2 && cb.last_slot == 1);
        EXPECT(call_slot<ULONG>(iface, 2) == 1 && cb.last_slot == 2);
        EXPECT(call_slot<HRESULT>(iface, 0, &layout_iid_callback, &out) == S_OK && out == iface);
        EXPECT(call_slot<HRESULT>(iface, 0, &layout_iid_other, &out) == E_NOINTERFACE && out == nullptr);
        EXPECT(cb.last_slot == 0 && cb.refs == 2);
        IMFAsyncResult *fake = reinterpret_cast<IMFAsyncResult *>(&cb);
        EXPECT(call_slot<HRESULT>(iface, 4, fake) == S_OK && cb.last_slot == 4 && cb.invoked_with == fake);
        /* and through C++ */
        flags = queue = 0;
        EXPECT(iface->GetParameters(&flags, &queue) == S_OK && flags == MFASYNC_BLOCKING_CALLBACK);
    }

    /* IMFAsyncCallbackLogging: slots 5 and 6 */
    {
        TestLogging log;
        IMFAsyncCallbackLogging *iface = &log;
        DWORD flags = 0, queue = 0;
        EXPECT(call_slot<HRESULT>(iface, 3, &flags, &queue) == E_NOTIMPL && log.last_slot == 3);
        EXPECT(call_slot<HRESULT>(iface, 4, static_cast<IMFAsyncResult *>(nullptr)) == S_OK && log.last_slot == 4);
        EXPECT(call_slot<void *>(iface, 5) == static_cast<void *>(&log) && log.last_slot == 5);
        EXPECT(call_slot<DWORD>(iface, 6) == 0x7A6u && log.last_slot == 6);
        /* usable as a plain IMFAsyncCallback */
        IMFAsyncCallback *base = iface;
        EXPECT(static_cast<void *>(base) == static_cast<void *>(iface));
    }

    /* IMFRemoteAsyncCallback: slot 3 */
    {
        TestRemote remote;
        EXPECT(call_slot<HRESULT>(static_cast<IMFRemoteAsyncCallback *>(&remote), 3, MF_E_SHUTDOWN,
                                  static_cast<IUnknown *>(nullptr)) == S_OK);
        EXPECT(remote.last_slot == 3 && remote.seen == MF_E_SHUTDOWN);
    }

    /* IRtwqPlatformEvents: slots 3, 4, 5 */
    {
        TestEvents events;
        IRtwqPlatformEvents *iface = &events;
        EXPECT(call_slot<HRESULT>(iface, 3) == S_OK && events.last_slot == 3);
        EXPECT(call_slot<HRESULT>(iface, 4) == S_OK && events.last_slot == 4);
        EXPECT(call_slot<HRESULT>(iface, 5) == S_OK && events.last_slot == 5);
    }

    /* IRtwqAsyncCallback */
    {
        TestRtwqCallback rcb;
        DWORD flags = 1, queue = 1;
        EXPECT(call_slot<HRESULT>(static_cast<IRtwqAsyncCallback *>(&rcb), 3, &flags, &queue) == S_OK);
        EXPECT(rcb.last_slot == 3 && flags == 0 && queue == 0);
        EXPECT(call_slot<HRESULT>(static_cast<IRtwqAsyncCallback *>(&rcb), 4,
                                  static_cast<IRtwqAsyncResult *>(nullptr)) == S_OK && rcb.last_slot == 4);
    }

    /* MFASYNCRESULT / RTWQASYNCRESULT */
    check_result_layout<MFASYNCRESULT>();
    check_result_layout<RTWQASYNCRESULT>();

    if (failures) {
        std::fprintf(stderr, "layout.cpp: %d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
