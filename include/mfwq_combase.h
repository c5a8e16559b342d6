/*
 * mfwq_combase.h - the COM apartment bookkeeping and task allocator that
 * libmfplat exports for Media Foundation client code: CoInitialize,
 * CoInitializeEx, CoUninitialize, CoGetApartmentType, CoTaskMemAlloc,
 * CoTaskMemRealloc, CoTaskMemFree, with the APTTYPE, APTTYPEQUALIFIER and
 * COINIT enums and RPC_E_CHANGED_MODE.
 *
 * Included by mfwq_win32.h (part of its Win32 base, so MFWQ_NO_WIN32_BASE
 * leaves it out); it can also be included on its own.
 *
 * Bookkeeping only: a thread records which apartment it is in and how many
 * initialisations it owes, with Windows' return codes; nothing is
 * marshalled, there are no class factories and no CoCreateInstance, and a
 * single-threaded apartment has no message pump. include/README.md ("COM
 * apartments") states the rules, including the apartments of work-queue
 * threads and every difference from Windows.
 */
#ifndef MFWQ_COMBASE_H_
#define MFWQ_COMBASE_H_

#include "mfwq_win32.h"

/* ---- enums (4 bytes each; do not build with -fshort-enums) --------------- */

/* Left out where a Windows-style objidl/objbase header already defined them. */
#if !defined(MFWQ_COM_APARTMENT_ENUMS_DEFINED) && !defined(__objidl_h__) && !defined(__objidlbase_h__)
#define MFWQ_COM_APARTMENT_ENUMS_DEFINED

typedef enum _APTTYPE {
    APTTYPE_CURRENT = -1, /* written with CO_E_NOTINITIALIZED */
    APTTYPE_STA = 0,
    APTTYPE_MTA = 1,
    APTTYPE_NA = 2,       /* never reported by libmfplat */
    APTTYPE_MAINSTA = 3
} APTTYPE;

typedef enum _APTTYPEQUALIFIER {
    APTTYPEQUALIFIER_NONE = 0,
    APTTYPEQUALIFIER_IMPLICIT_MTA = 1,
    APTTYPEQUALIFIER_NA_ON_MTA = 2,          /* the others are never reported */
    APTTYPEQUALIFIER_NA_ON_STA = 3,
    APTTYPEQUALIFIER_NA_ON_IMPLICIT_MTA = 4,
    APTTYPEQUALIFIER_NA_ON_MAINSTA = 5,
    APTTYPEQUALIFIER_APPLICATION_STA = 6,
    APTTYPEQUALIFIER_RESERVED_1 = 7
} APTTYPEQUALIFIER;

#endif

#if !defined(MFWQ_COINIT_DEFINED) && !defined(__objbase_h__) && !defined(_OBJBASE_H_) && !defined(__combaseapi_h__) && !defined(_COMBASEAPI_H_)
#define MFWQ_COINIT_DEFINED

typedef enum tagCOINITBASE {
    COINITBASE_MULTITHREADED = 0x0
} COINITBASE;

typedef enum tagCOINIT {
    COINIT_APARTMENTTHREADED = 0x2, /* a single-threaded apartment (STA) */
    COINIT_MULTITHREADED = COINITBASE_MULTITHREADED, /* the multithreaded apartment (MTA) */
    COINIT_DISABLE_OLE1DDE = 0x4,   /* accepted, ignored */
    COINIT_SPEED_OVER_MEMORY = 0x8  /* accepted, ignored */
} COINIT;

#endif

/* ---- HRESULTs ------------------------------------------------------------ */

#ifndef RPC_E_CHANGED_MODE
#  define RPC_E_CHANGED_MODE ((HRESULT)0x80010106)
#endif
#ifndef CO_E_NOTINITIALIZED
#  define CO_E_NOTINITIALIZED ((HRESULT)0x800401F0)
#endif

/* ---- functions ------------------------------------------------------------ */

#ifdef __cplusplus
extern "C" {
#endif

/* S_OK: first initialisation of this thread; S_FALSE: already in that
 * apartment (counted: balance it with CoUninitialize); RPC_E_CHANGED_MODE:
 * the thread is in the other apartment (not counted); E_INVALIDARG:
 * pvReserved is not NULL, or dwCoInit has a bit other than
 * COINIT_APARTMENTTHREADED, COINIT_DISABLE_OLE1DDE, COINIT_SPEED_OVER_MEMORY. */
HRESULT MFWQ_STDCALL CoInitializeEx(LPVOID pvReserved, DWORD dwCoInit);
/* CoInitializeEx(pvReserved, COINIT_APARTMENTTHREADED). */
HRESULT MFWQ_STDCALL CoInitialize(LPVOID pvReserved);
/* Balances one successful CoInitialize[Ex]; with none to balance, nothing. */
void MFWQ_STDCALL CoUninitialize(void);
/* S_OK with the calling thread's apartment; CO_E_NOTINITIALIZED with
 * APTTYPE_CURRENT / APTTYPEQUALIFIER_NONE on a thread that has none (no
 * initialisation and the platform not started); E_INVALIDARG (nothing
 * written) if either pointer is NULL. */
HRESULT MFWQ_STDCALL CoGetApartmentType(APTTYPE *pAptType, APTTYPEQUALIFIER *pAptQualifier);

/* The C heap (malloc/realloc/free): a block from CoTaskMemAlloc may be freed
 * with CoTaskMemFree or free(). CoTaskMemAlloc(0) returns a valid unique
 * block; CoTaskMemRealloc(NULL, n) allocates; CoTaskMemRealloc(p, 0) frees p
 * and returns NULL; CoTaskMemFree(NULL) does nothing. NULL when out of
 * memory (a failed realloc leaves the block as it was). */
LPVOID MFWQ_STDCALL CoTaskMemAlloc(SIZE_T cb);
LPVOID MFWQ_STDCALL CoTaskMemRealloc(LPVOID pv, SIZE_T cb);
void MFWQ_STDCALL CoTaskMemFree(LPVOID pv);

#ifdef __cplusplus
}
#endif

#endif /* MFWQ_COMBASE_H_ */
