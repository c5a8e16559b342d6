/*
 * shlwapi.h - QISearch and its table, the part of the Windows shell helper
 * API that Media Foundation client code uses: Microsoft's MF samples write
 * a callback's QueryInterface as
 *
 *     static const QITAB qit[] = { QITABENT(CMyCallback, IMFAsyncCallback), { 0 } };
 *     return QISearch(this, qit, riid, ppv);
 *
 * and `#include <shlwapi.h>` for it, as here. Nothing else of the Windows
 * header is provided. QISearch is exported by libmfplat; include/README.md
 * ("QISearch") states its rules.
 */
#ifndef MFWQ_SHLWAPI_H_
#define MFWQ_SHLWAPI_H_

#include "mfwq_win32.h"

/* One interface of an object: its IID and the byte offset of its vtable
 * pointer inside the object. An entry whose piid is NULL ends a table
 * ({ 0 }). 16 bytes, offsets 0 and 8, as in the Windows SDK. From C++14 on,
 * dwOffset has a default of 0 (a C++14 aggregate may have one; the layout
 * is the same), so that the samples' `{ 0 }` terminator does not trip GCC's
 * -Wmissing-field-initializers (-Wextra); C++11 code writes { 0, 0 }. */
typedef struct QITAB {
    const IID *piid;
#if defined(__cplusplus) && __cplusplus >= 201402L
    int dwOffset = 0;
#else
    int dwOffset;
#endif
} QITAB, *LPQITAB;
typedef const QITAB *LPCQITAB;

/* The offset of base class `base` inside class `derived` (a pointer to
 * `derived` at address 8, converted to a pointer to `base`, minus 8). In C,
 * where a struct has no base classes, it is 0: the object begins with the
 * interface's vtable pointer; write the entry of an interface further in by
 * hand with offsetof. */
#ifndef OFFSETOFCLASS
#  ifdef __cplusplus
#    define OFFSETOFCLASS(base, derived) ((int)((DWORD_PTR)(static_cast<base *>((derived *)8)) - 8))
#  else
#    define OFFSETOFCLASS(base, derived) ((int)((DWORD_PTR)((base *)((derived *)8)) - 8))
#  endif
#endif

/* An entry for interface Ifoo of class Cthis, reached through its base
 * Iimpl (for an interface that derives from another one the class
 * implements, e.g. IUnknown through IMFAsyncCallback). C++ takes the IID
 * from __uuidof(Ifoo) (see include/README.md for a user's own interfaces);
 * C from IID_Ifoo. */
#ifdef __cplusplus
#  define QITABENTMULTI(Cthis, Ifoo, Iimpl) { &__uuidof(Ifoo), OFFSETOFCLASS(Iimpl, Cthis) }
#else
#  define QITABENTMULTI(Cthis, Ifoo, Iimpl) { (IID *)&IID_##Ifoo, OFFSETOFCLASS(Iimpl, Cthis) }
#endif
/* As QITABENTMULTI, with the IID given by name (the IID variable itself). */
#define QITABENTMULTI2(Cthis, Ifoo, Iimpl) { (IID *)&Ifoo, OFFSETOFCLASS(Iimpl, Cthis) }
/* An entry for interface Ifoo, a base of class Cthis. */
#define QITABENT(Cthis, Ifoo) QITABENTMULTI(Cthis, Ifoo, Ifoo)

/* Looks riid up in the table pqit of the object `that`:
 * - IID_IUnknown is the first entry's interface (COM's identity rule);
 * - another IID is searched in table order, the first match winning;
 * - found: *ppv = (char *)that + dwOffset, AddRef'd through it; S_OK;
 * - not found: *ppv = NULL; E_NOINTERFACE.
 * NULL ppv: E_POINTER. NULL that, pqit or riid: E_INVALIDARG, *ppv = NULL. */
MFWQ_STDAPI QISearch(void *that, LPCQITAB pqit, REFIID riid, void **ppv);

#endif /* MFWQ_SHLWAPI_H_ */
