/*
 * mfwq_win32.h - the small Win32 / COM base under the mfwq public headers.
 *
 * mfwq is a Linux implementation of the Media Foundation work-queue platform
 * (libmfplat). Its headers <mfapi.h>, <mfobjects.h>, <mferror.h> and
 * <rtworkq.h> are written against the Windows type names; this file supplies
 * those names for a Linux compiler, so that no <windows.h> is needed.
 *
 * Data model. Windows is LLP64; Linux x86-64 and aarch64 are LP64. Every type
 * below keeps its Windows size, which is what the library's ABI uses:
 *   - LONG / ULONG / DWORD / HRESULT / BOOL are 32 bits (never the C `long`,
 *     which is 64 bits on Linux);
 *   - WCHAR is a 16-bit UTF-16 code unit (never `wchar_t`, which is 32 bits on
 *     Linux). In C it is uint16_t, the same type as C11's char16_t on glibc;
 *     in C++11 and later it is char16_t. Either way a u"..." literal (C11,
 *     C++11) can be passed wherever an LPCWSTR is expected.
 *
 * Calling convention. The library uses the native C calling convention of the
 * platform (System V on x86-64, AAPCS64 on aarch64): WINAPI,
 * STDMETHODCALLTYPE, STDAPICALLTYPE and CALLBACK expand to nothing. The mfwq
 * headers themselves declare the library's functions and interface methods
 * with their own MFWQ_STDCALL macro (always empty), so that a foreign
 * definition of WINAPI (for example one that means ms_abi) cannot silently
 * change the convention of a call into the library.
 *
 * MFWQ_NO_WIN32_BASE. Define it before including any mfwq header if another
 * header already supplies the Win32 base (types, GUID, IUnknown, OVERLAPPED,
 * the generic HRESULT and Win32 error codes and the event API). Those headers
 * must then give every type the sizes above and declare IUnknown with the
 * native calling convention. The language glue of part 1 (EXTERN_C,
 * STDAPI, ..., each defined only when not defined already) stays.
 *
 * MFWQ_NO_INTERFACE_KEYWORD. Define it to keep this header from defining the
 * macro `interface` (= struct), which some Linux headers use as an ordinary
 * identifier (sd-bus, for one). The mfwq headers never use it themselves.
 *
 * Language levels: C99 or later, C++11 or later (C++98 compiles too, without
 * char16_t). The unnamed union inside OVERLAPPED is C11; with GCC or Clang in
 * C99 mode it is marked __extension__ and compiles cleanly under -pedantic.
 */
#ifndef MFWQ_WIN32_H_
#define MFWQ_WIN32_H_

#include <stddef.h>
#include <stdint.h>

/* ======================================================================== */
/* Part 1: language glue (always; each macro only if not already defined)   */
/* ======================================================================== */

#ifndef EXTERN_C
#  ifdef __cplusplus
#    define EXTERN_C extern "C"
#  else
#    define EXTERN_C extern
#  endif
#endif

/* The convention mfwq's own declarations use: the native one. MFWQ_STDAPI
 * means what STDAPI means by default (EXTERN_C HRESULT, native convention). */
#define MFWQ_STDCALL
#define MFWQ_STDAPI EXTERN_C HRESULT MFWQ_STDCALL

/* Unnamed struct/union members: standard in C11 (unions also in C++); an
 * extension elsewhere, which GCC and Clang accept without a -pedantic warning
 * when it is marked. */
#if defined(__GNUC__) || defined(__clang__)
#  define MFWQ_ANONYMOUS __extension__
#else
#  define MFWQ_ANONYMOUS
#endif

/* C++ interfaces get a protected, non-virtual destructor: no vtable slot is
 * added (the layout stays the one C sees), objects are still destroyed only
 * through Release, and -Wnon-virtual-dtor has nothing to report. */
#ifdef __cplusplus
#  if __cplusplus >= 201103L
#    define MFWQ_INTERFACE_DTOR(name) protected: ~name() = default; public:
#  else
#    define MFWQ_INTERFACE_DTOR(name) protected: ~name() {} public:
#  endif
#endif

#ifndef WINAPI
#  define WINAPI
#endif
#ifndef APIENTRY
#  define APIENTRY
#endif
#ifndef CALLBACK
#  define CALLBACK
#endif
#ifndef STDMETHODCALLTYPE
#  define STDMETHODCALLTYPE
#endif
#ifndef STDAPICALLTYPE
#  define STDAPICALLTYPE
#endif
#ifndef STDAPI
#  define STDAPI EXTERN_C HRESULT STDAPICALLTYPE
#endif
#ifndef STDAPI_
#  define STDAPI_(type) EXTERN_C type STDAPICALLTYPE
#endif
#ifndef BEGIN_INTERFACE
#  define BEGIN_INTERFACE
#endif
#ifndef END_INTERFACE
#  define END_INTERFACE
#endif
#ifndef CONST_VTBL
#  define CONST_VTBL const
#endif
#ifndef DECLSPEC_UUID
#  define DECLSPEC_UUID(uuid_string)
#endif
#ifndef DECLSPEC_NOVTABLE
#  define DECLSPEC_NOVTABLE
#endif
#ifndef MIDL_INTERFACE
#  define MIDL_INTERFACE(uuid_string) struct
#endif

/* Declaration helpers as COM code uses them:
 *   C++: STDMETHOD(Invoke)(IMFAsyncResult *pAsyncResult) override;
 *        STDMETHODIMP Callback::Invoke(IMFAsyncResult *pAsyncResult) { ... }  */
#ifdef __cplusplus
#  ifndef STDMETHOD
#    define STDMETHOD(method) virtual HRESULT STDMETHODCALLTYPE method
#  endif
#  ifndef STDMETHOD_
#    define STDMETHOD_(type, method) virtual type STDMETHODCALLTYPE method
#  endif
#  ifndef PURE
#    define PURE = 0
#  endif
#else
#  ifndef STDMETHOD
#    define STDMETHOD(method) HRESULT (STDMETHODCALLTYPE *method)
#  endif
#  ifndef STDMETHOD_
#    define STDMETHOD_(type, method) type (STDMETHODCALLTYPE *method)
#  endif
#  ifndef PURE
#    define PURE
#  endif
#endif
#ifndef STDMETHODIMP
#  define STDMETHODIMP HRESULT STDMETHODCALLTYPE
#endif
#ifndef STDMETHODIMP_
#  define STDMETHODIMP_(type) type STDMETHODCALLTYPE
#endif
/* The IFACE forms mark an implementation of an interface method; the SDK
 * adds an annotation that means nothing to GCC or Clang. */
#ifndef IFACEMETHOD
#  define IFACEMETHOD(method) STDMETHOD(method)
#endif
#ifndef IFACEMETHOD_
#  define IFACEMETHOD_(type, method) STDMETHOD_(type, method)
#endif
#ifndef IFACEMETHODIMP
#  define IFACEMETHODIMP STDMETHODIMP
#endif
#ifndef IFACEMETHODIMP_
#  define IFACEMETHODIMP_(type) STDMETHODIMP_(type)
#endif

#ifndef MFWQ_NO_WIN32_BASE

#if !defined(interface) && !defined(MFWQ_NO_INTERFACE_KEYWORD)
#  define interface struct
#endif

/* ======================================================================== */
/* Part 2: Win32 base types, with their Windows (LLP64) sizes               */
/* ======================================================================== */

#ifndef VOID
#  define VOID void
#endif

typedef uint8_t   BYTE;
typedef uint16_t  WORD;
typedef uint32_t  DWORD;
typedef uint32_t  ULONG;
typedef uint32_t  UINT;
typedef int32_t   INT;
typedef int32_t   LONG;       /* 32-bit, as on Windows: not the Linux C long */
typedef int16_t   SHORT;
typedef uint16_t  USHORT;
typedef char      CHAR;
typedef uint8_t   UCHAR;
typedef int32_t   BOOL;
typedef int32_t   WINBOOL;
typedef uint8_t   BOOLEAN;
typedef int32_t   HRESULT;    /* failure iff negative */
typedef int64_t   INT64;
typedef uint64_t  UINT64;
typedef int64_t   LONGLONG;
typedef uint64_t  ULONGLONG;
typedef intptr_t  INT_PTR;
typedef uintptr_t UINT_PTR;
typedef intptr_t  LONG_PTR;
typedef uintptr_t ULONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef uintptr_t SIZE_T;

typedef void       *PVOID;
typedef void       *LPVOID;
typedef const void *LPCVOID;
typedef void       *HANDLE;
typedef HANDLE     *PHANDLE;
typedef HANDLE     *LPHANDLE;
typedef DWORD      *PDWORD;
typedef DWORD      *LPDWORD;
typedef LONG       *PLONG;
typedef LONG       *LPLONG;
typedef ULONG      *PULONG;
typedef BOOL       *PBOOL;
typedef BOOL       *LPBOOL;
typedef BYTE       *PBYTE;
typedef BYTE       *LPBYTE;

/* WCHAR: one UTF-16 code unit, 2 bytes. Not wchar_t (4 bytes on Linux).
 * C11: u"Audio" has type char16_t[], and char16_t is uint_least16_t, which
 * is uint16_t on glibc: it converts to LPCWSTR. C++11: WCHAR is char16_t
 * itself, so u"Audio" converts to LPCWSTR with no cast. */
#if defined(__cplusplus) && (__cplusplus >= 201103L)
typedef char16_t  WCHAR;
#else
typedef uint16_t  WCHAR;
#endif
typedef WCHAR       *PWCHAR;
typedef WCHAR       *PWSTR;
typedef WCHAR       *LPWSTR;
typedef const WCHAR *PCWSTR;
typedef const WCHAR *LPCWSTR;
typedef CHAR        *PSTR;
typedef CHAR        *LPSTR;
typedef const CHAR  *PCSTR;
typedef const CHAR  *LPCSTR;

/* Only NULL is meaningful to the library; the structure is never defined. */
typedef struct _SECURITY_ATTRIBUTES *PSECURITY_ATTRIBUTES;
typedef struct _SECURITY_ATTRIBUTES *LPSECURITY_ATTRIBUTES;

#ifndef TRUE
#  define TRUE 1
#endif
#ifndef FALSE
#  define FALSE 0
#endif

#ifndef MAKEWORD
#  define MAKEWORD(lo, hi) ((WORD)((WORD)(BYTE)((DWORD_PTR)(lo) & 0xffu) | ((WORD)(BYTE)((DWORD_PTR)(hi) & 0xffu) << 8)))
#endif
#ifndef MAKELONG
#  define MAKELONG(lo, hi) ((LONG)((DWORD)(WORD)((DWORD_PTR)(lo) & 0xffffu) | ((DWORD)(WORD)((DWORD_PTR)(hi) & 0xffffu) << 16)))
#endif
#ifndef LOWORD
#  define LOWORD(l) ((WORD)((DWORD_PTR)(l) & 0xffffu))
#endif
#ifndef HIWORD
#  define HIWORD(l) ((WORD)(((DWORD_PTR)(l) >> 16) & 0xffffu))
#endif

/* ======================================================================== */
/* GUID                                                                     */
/* ======================================================================== */

/* 16 bytes, alignment 4. */
typedef struct _GUID {
    DWORD Data1;
    WORD  Data2;
    WORD  Data3;
    BYTE  Data4[8];
} GUID;
#ifndef GUID_DEFINED
#  define GUID_DEFINED
#endif

typedef GUID  IID;
typedef GUID  CLSID;
typedef GUID *LPGUID;
typedef IID  *LPIID;
typedef CLSID *LPCLSID;

#ifdef __cplusplus
typedef const GUID  &REFGUID;
typedef const IID   &REFIID;
typedef const CLSID &REFCLSID;
#else
typedef const GUID  *REFGUID;
typedef const IID   *REFIID;
typedef const CLSID *REFCLSID;
#endif

#ifdef __cplusplus
extern "C++" {
inline BOOL IsEqualGUID(REFGUID a, REFGUID b)
{
    int i;
    if (a.Data1 != b.Data1 || a.Data2 != b.Data2 || a.Data3 != b.Data3)
        return FALSE;
    for (i = 0; i < 8; i++)
        if (a.Data4[i] != b.Data4[i])
            return FALSE;
    return TRUE;
}
inline bool operator==(REFGUID a, REFGUID b) { return IsEqualGUID(a, b) != FALSE; }
inline bool operator!=(REFGUID a, REFGUID b) { return IsEqualGUID(a, b) == FALSE; }
}
#else
static inline BOOL IsEqualGUID(REFGUID a, REFGUID b)
{
    int i;
    if (a->Data1 != b->Data1 || a->Data2 != b->Data2 || a->Data3 != b->Data3)
        return FALSE;
    for (i = 0; i < 8; i++)
        if (a->Data4[i] != b->Data4[i])
            return FALSE;
    return TRUE;
}
#endif
#ifndef IsEqualIID
#  define IsEqualIID(riid1, riid2) IsEqualGUID(riid1, riid2)
#endif
#ifndef IsEqualCLSID
#  define IsEqualCLSID(rclsid1, rclsid2) IsEqualGUID(rclsid1, rclsid2)
#endif

/* DEFINE_GUID(name, l, w1, w2, b1..b8): declares `extern const GUID name`;
 * in the one translation unit that defines INITGUID before including this
 * header, it defines the GUID instead. (The IIDs of the mfwq headers are
 * plain extern declarations: libmfplat exports them as data.) */
#ifndef DEFINE_GUID
#  ifdef INITGUID
#    ifdef __cplusplus
#      define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
         extern "C" const GUID name = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#    else
#      define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
         const GUID name = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#    endif
#  else
#    define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
       EXTERN_C const GUID name
#  endif
#endif

/* ======================================================================== */
/* HRESULT                                                                  */
/* ======================================================================== */

#ifndef SEVERITY_SUCCESS
#  define SEVERITY_SUCCESS 0
#endif
#ifndef SEVERITY_ERROR
#  define SEVERITY_ERROR 1
#endif
#ifndef FACILITY_WIN32
#  define FACILITY_WIN32 7
#endif

#ifndef SUCCEEDED
#  define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#endif
#ifndef FAILED
#  define FAILED(hr) (((HRESULT)(hr)) < 0)
#endif
#ifndef IS_ERROR
#  define IS_ERROR(hr) (((DWORD)(HRESULT)(hr) >> 31) == SEVERITY_ERROR)
#endif
#ifndef HRESULT_CODE
#  define HRESULT_CODE(hr) ((DWORD)(HRESULT)(hr) & 0xffffu)
#endif
#ifndef HRESULT_FACILITY
#  define HRESULT_FACILITY(hr) (((DWORD)(HRESULT)(hr) >> 16) & 0x1fffu)
#endif
#ifndef HRESULT_SEVERITY
#  define HRESULT_SEVERITY(hr) (((DWORD)(HRESULT)(hr) >> 31) & 0x1u)
#endif
#ifndef MAKE_HRESULT
#  define MAKE_HRESULT(sev, fac, code) \
     ((HRESULT)(((DWORD)(sev) << 31) | ((DWORD)(fac) << 16) | (DWORD)(code)))
#endif
/* A Win32 error code as an HRESULT: 0 stays 0 (S_OK), values that are already
 * HRESULT failures pass through, anything else becomes 0x8007xxxx. A constant
 * expression for constant x; x is evaluated twice. */
#ifndef HRESULT_FROM_WIN32
#  define HRESULT_FROM_WIN32(x) \
     ((HRESULT)(x) <= 0 ? (HRESULT)(x) \
                        : (HRESULT)(((DWORD)(x) & 0xffffu) | ((DWORD)FACILITY_WIN32 << 16) | 0x80000000u))
#endif

/* Generic codes. The cast makes each a 32-bit signed HRESULT, so that
 * `hr == E_FAIL` and `E_FAIL < 0` hold on LP64 Linux as on Windows. */
#ifndef S_OK
#  define S_OK                    ((HRESULT)0x00000000)
#endif
#ifndef S_FALSE
#  define S_FALSE                 ((HRESULT)0x00000001)
#endif
#ifndef E_NOTIMPL
#  define E_NOTIMPL               ((HRESULT)0x80004001)
#endif
#ifndef E_NOINTERFACE
#  define E_NOINTERFACE           ((HRESULT)0x80004002)
#endif
#ifndef E_POINTER
#  define E_POINTER               ((HRESULT)0x80004003)
#endif
#ifndef E_ABORT
#  define E_ABORT                 ((HRESULT)0x80004004)
#endif
#ifndef E_FAIL
#  define E_FAIL                  ((HRESULT)0x80004005)
#endif
#ifndef E_PENDING
#  define E_PENDING               ((HRESULT)0x8000000A)
#endif
#ifndef E_UNEXPECTED
#  define E_UNEXPECTED            ((HRESULT)0x8000FFFF)
#endif
#ifndef CO_E_NOTINITIALIZED
#  define CO_E_NOTINITIALIZED     ((HRESULT)0x800401F0)
#endif
#ifndef E_ACCESSDENIED
#  define E_ACCESSDENIED          ((HRESULT)0x80070005)
#endif
#ifndef E_HANDLE
#  define E_HANDLE                ((HRESULT)0x80070006)
#endif
#ifndef E_OUTOFMEMORY
#  define E_OUTOFMEMORY           ((HRESULT)0x8007000E)
#endif
#ifndef E_INVALIDARG
#  define E_INVALIDARG            ((HRESULT)0x80070057)
#endif
#ifndef E_NOT_SUFFICIENT_BUFFER
#  define E_NOT_SUFFICIENT_BUFFER ((HRESULT)0x8007007A)
#endif

/* Win32 error codes (DWORD values, as GetLastError returns them). */
#ifndef ERROR_SUCCESS
#  define ERROR_SUCCESS             0
#endif
#ifndef ERROR_INVALID_HANDLE
#  define ERROR_INVALID_HANDLE      6
#endif
#ifndef ERROR_NOT_ENOUGH_MEMORY
#  define ERROR_NOT_ENOUGH_MEMORY   8
#endif
#ifndef ERROR_INVALID_PARAMETER
#  define ERROR_INVALID_PARAMETER   87
#endif
#ifndef ERROR_INSUFFICIENT_BUFFER
#  define ERROR_INSUFFICIENT_BUFFER 122
#endif
#ifndef ERROR_ALREADY_EXISTS
#  define ERROR_ALREADY_EXISTS      183
#endif
#ifndef ERROR_NOT_FOUND
#  define ERROR_NOT_FOUND           1168
#endif

/* ======================================================================== */
/* OVERLAPPED: 32 bytes, alignment 8 (the first 32 bytes after the vtable   */
/* pointer of every MFASYNCRESULT)                                          */
/* ======================================================================== */

typedef struct _OVERLAPPED {
    ULONG_PTR Internal;                 /*  0 */
    ULONG_PTR InternalHigh;             /*  8 */
    MFWQ_ANONYMOUS union {
        MFWQ_ANONYMOUS struct {
            DWORD Offset;               /* 16 */
            DWORD OffsetHigh;           /* 20 */
        };
        PVOID Pointer;                  /* 16 */
    };
    HANDLE hEvent;                      /* 24 */
} OVERLAPPED, *POVERLAPPED, *LPOVERLAPPED;

/* ======================================================================== */
/* IUnknown - IID {00000000-0000-0000-C000-000000000046}                    */
/* ======================================================================== */

typedef struct IUnknown IUnknown;
typedef IUnknown *LPUNKNOWN;

EXTERN_C const IID IID_IUnknown;

#ifdef __cplusplus
/* ======================================================================== */
/* __uuidof and IID_PPV_ARGS (C++)                                          */
/* ======================================================================== */
/* GCC and Clang have no __uuidof. Here it is a macro over a class template
 * that maps an interface type to its IID: __uuidof(IMFAsyncCallback),
 * __uuidof(*pCallback), __uuidof(pCallback) and __uuidof(**ppv) all give the
 * `const IID &` of IMFAsyncCallback (cv-qualifiers, references, pointers and
 * arrays are looked through, as with MSVC's operator). Every interface the
 * mfwq headers declare has its IID registered. A type with no IID registered
 * is a compile-time error (an incomplete type), never a wrong GUID.
 *
 * Registering an interface of your own, at global scope, after the type:
 *
 *     struct IMyThing : public IUnknown { ... };
 *     MFWQ_DECLARE_UUIDOF(IMyThing, 0x12345678, 0x1234, 0x5678,
 *                         0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78)
 *
 * or, when the IID already exists as a `const IID` object,
 * MFWQ_DECLARE_UUIDOF_IID(IMyThing, IID_IMyThing). MinGW's spelling,
 * __CRT_UUID_DECL(type, l, w1, w2, b1, ..., b8), is accepted too. */
extern "C++" {
namespace mfwq_uuidof_detail {
template <typename T> struct iid_of; /* specialised per interface */
template <typename T> struct bare { typedef T type; };
template <typename T> struct bare<const T> : bare<T> {};
template <typename T> struct bare<volatile T> : bare<T> {};
template <typename T> struct bare<const volatile T> : bare<T> {};
template <typename T> struct bare<T &> : bare<T> {};
template <typename T> struct bare<T *> : bare<T> {};
template <typename T> struct bare<T *const> : bare<T> {};
template <typename T> struct bare<T[]> : bare<T> {};
template <typename T, size_t N> struct bare<T[N]> : bare<T> {};
template <typename T> inline const IID &get()
{
    return iid_of<typename bare<T>::type>::value();
}
} /* namespace mfwq_uuidof_detail */
}
#  define MFWQ_DECLARE_UUIDOF_IID(type, iid)                               \
     extern "C++" {                                                        \
     namespace mfwq_uuidof_detail {                                        \
     template <> struct iid_of<type> {                                     \
         static const IID &value() { return iid; }                         \
     };                                                                    \
     }                                                                     \
     }
#  define MFWQ_DECLARE_UUIDOF(type, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
     extern "C++" {                                                        \
     namespace mfwq_uuidof_detail {                                        \
     template <> struct iid_of<type> {                                     \
         static const IID &value()                                         \
         {                                                                 \
             static const IID iid = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}; \
             return iid;                                                   \
         }                                                                 \
     };                                                                    \
     }                                                                     \
     }
#  ifndef __uuidof
#    define __uuidof(x) (::mfwq_uuidof_detail::get<__typeof__(x)>())
#  endif
#  ifndef __CRT_UUID_DECL
#    define __CRT_UUID_DECL(type, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
       MFWQ_DECLARE_UUIDOF(type, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)
#  endif

extern "C++" {
/* Slots 0..2 of every COM vtable. No virtual destructor: one would add
 * slots and break the layout shared with C. */
struct IUnknown {
    virtual HRESULT MFWQ_STDCALL QueryInterface(REFIID riid, void **ppvObject) = 0;
    virtual ULONG MFWQ_STDCALL AddRef(void) = 0;
    virtual ULONG MFWQ_STDCALL Release(void) = 0;
    /* The typed helper of the SDK's unknwn.h: p->QueryInterface(&pOther)
     * asks for the IID of pOther's interface. Not virtual: no vtable slot. */
    template <class Q> HRESULT QueryInterface(Q **pp)
    {
        return QueryInterface(__uuidof(Q), reinterpret_cast<void **>(pp));
    }
    MFWQ_INTERFACE_DTOR(IUnknown)
};
}
MFWQ_DECLARE_UUIDOF_IID(IUnknown, IID_IUnknown)

/* IID_PPV_ARGS(&p): the IID of p's interface and p's address as void **, for
 * QueryInterface-style calls; p must point to a COM interface. */
extern "C++" {
template <typename T> inline void **IID_PPV_ARGS_Helper(T **pp)
{
    /* Only COM interfaces: a T that is not an IUnknown fails to compile. */
    (void)static_cast<IUnknown *>(*pp);
    return reinterpret_cast<void **>(pp);
}
}
#  ifndef IID_PPV_ARGS
#    define IID_PPV_ARGS(ppType) __uuidof(**(ppType)), IID_PPV_ARGS_Helper(ppType)
#  endif

#else
typedef struct IUnknownVtbl {
    BEGIN_INTERFACE
    HRESULT (MFWQ_STDCALL *QueryInterface)(IUnknown *This, REFIID riid, void **ppvObject);
    ULONG (MFWQ_STDCALL *AddRef)(IUnknown *This);
    ULONG (MFWQ_STDCALL *Release)(IUnknown *This);
    END_INTERFACE
} IUnknownVtbl;

struct IUnknown {
    CONST_VTBL IUnknownVtbl *lpVtbl;
};

#ifdef COBJMACROS
#define IUnknown_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IUnknown_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IUnknown_Release(This) ((This)->lpVtbl->Release(This))
#endif
#endif /* __cplusplus */

/* ======================================================================== */
/* The Win32 event subset libmfplat exports (the handles MFPutWaitingWorkItem */
/* waits on and MFASYNCRESULT.hEvent signals)                               */
/* ======================================================================== */

#ifndef INFINITE
#  define INFINITE 0xFFFFFFFFu
#endif
#ifndef WAIT_OBJECT_0
#  define WAIT_OBJECT_0 0x00000000u
#endif
#ifndef WAIT_ABANDONED
#  define WAIT_ABANDONED 0x00000080u
#endif
#ifndef WAIT_TIMEOUT
#  define WAIT_TIMEOUT 0x00000102u
#endif
#ifndef WAIT_FAILED
#  define WAIT_FAILED 0xFFFFFFFFu
#endif
#ifndef INVALID_HANDLE_VALUE
#  define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)
#endif
#ifndef CREATE_EVENT_MANUAL_RESET
#  define CREATE_EVENT_MANUAL_RESET 0x00000001u
#endif
#ifndef CREATE_EVENT_INITIAL_SET
#  define CREATE_EVENT_INITIAL_SET 0x00000002u
#endif
#ifndef EVENT_MODIFY_STATE
#  define EVENT_MODIFY_STATE 0x00000002u
#endif
#ifndef SYNCHRONIZE
#  define SYNCHRONIZE 0x00100000u
#endif
#ifndef EVENT_ALL_ACCESS
#  define EVENT_ALL_ACCESS 0x001F0003u
#endif

#ifdef __cplusplus
extern "C" {
#endif

HANDLE MFWQ_STDCALL CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                                 BOOL bInitialState, LPCSTR lpName);
HANDLE MFWQ_STDCALL CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
                                 BOOL bInitialState, LPCWSTR lpName);
HANDLE MFWQ_STDCALL CreateEventExA(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCSTR lpName,
                                   DWORD dwFlags, DWORD dwDesiredAccess);
HANDLE MFWQ_STDCALL CreateEventExW(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCWSTR lpName,
                                   DWORD dwFlags, DWORD dwDesiredAccess);
BOOL MFWQ_STDCALL SetEvent(HANDLE hEvent);
BOOL MFWQ_STDCALL ResetEvent(HANDLE hEvent);
DWORD MFWQ_STDCALL WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
BOOL MFWQ_STDCALL CloseHandle(HANDLE hObject);
BOOL MFWQ_STDCALL GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags);
DWORD MFWQ_STDCALL GetLastError(void);
void MFWQ_STDCALL Sleep(DWORD dwMilliseconds);

#ifdef __cplusplus
}
#endif

#ifdef UNICODE
#  ifndef CreateEvent
#    define CreateEvent CreateEventW
#  endif
#  ifndef CreateEventEx
#    define CreateEventEx CreateEventExW
#  endif
#else
#  ifndef CreateEvent
#    define CreateEvent CreateEventA
#  endif
#  ifndef CreateEventEx
#    define CreateEventEx CreateEventExA
#  endif
#endif

/* Synchronisation and time as work-queue client code uses them (Interlocked*,
 * critical sections, tick counts, WaitForMultipleObjects) and the COM
 * apartment bookkeeping (CoInitializeEx, CoGetApartmentType, CoTaskMem*). */
#include "mfwq_synch.h"
#include "mfwq_combase.h"

#endif /* MFWQ_NO_WIN32_BASE */

#endif /* MFWQ_WIN32_H_ */
