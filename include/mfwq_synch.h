/*
 * mfwq_synch.h - the Win32 synchronisation and time functions that Media
 * Foundation work-queue client code uses next to mfapi.h: the Interlocked
 * family, critical sections, thread and process ids, tick counts, the
 * performance counter and WaitForMultipleObjects over libmfplat's events.
 *
 * This is what work-queue client code touches, not a Win32 emulator. The
 * Linux semantics of each function are described in include/README.md
 * ("Synchronisation and time").
 *
 * Included by mfwq_win32.h (and so by mfapi.h); it can also be included on
 * its own. Like the rest of the Win32 base, it is skipped when
 * MFWQ_NO_WIN32_BASE is defined, and every macro is defined only if not
 * already defined.
 *
 * The Interlocked functions are static inline here (on Windows they are
 * compiler intrinsics), built on the GCC/Clang __atomic builtins with
 * sequentially consistent ordering, which is a full barrier as on Windows.
 * Everything else is exported by libmfplat.
 */
#ifndef MFWQ_SYNCH_H_
#define MFWQ_SYNCH_H_

/* Defined before this include: when this header is included first,
 * mfwq_win32.h's own include of it at its end is then a no-op. */
#include "mfwq_win32.h"

#ifndef MFWQ_NO_WIN32_BASE

/* ======================================================================== */
/* Interlocked operations (LONG is 32-bit; LONG64 / LONGLONG 64-bit)        */
/* ======================================================================== */

typedef int64_t LONG64;
typedef LONG64 *PLONG64;

#ifndef MemoryBarrier
#  define MemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* Each returns what Windows returns: Increment/Decrement the new value,
 * Exchange/ExchangeAdd/CompareExchange the value before the operation. */
#ifndef InterlockedIncrement
static inline LONG InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedDecrement
static inline LONG InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedExchange
static inline LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedExchangeAdd
static inline LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedCompareExchange
static inline LONG InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comperand)
{
    LONG initial = Comperand;
    __atomic_compare_exchange_n(Destination, &initial, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return initial;
}
#endif
#ifndef InterlockedExchangePointer
static inline PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedCompareExchangePointer
static inline PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange,
                                                      PVOID Comperand)
{
    PVOID initial = Comperand;
    __atomic_compare_exchange_n(Destination, &initial, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return initial;
}
#endif
#ifndef InterlockedIncrement64
static inline LONG64 InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedDecrement64
static inline LONG64 InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedExchange64
static inline LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedExchangeAdd64
static inline LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
#endif
#ifndef InterlockedCompareExchange64
static inline LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 Exchange,
                                                  LONG64 Comperand)
{
    LONG64 initial = Comperand;
    __atomic_compare_exchange_n(Destination, &initial, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return initial;
}
#endif

/* ------------------------------------------------------------------------ */
/* `long` counters. Microsoft's samples often declare `long m_cRef` and call  */
/* InterlockedIncrement(&m_cRef): on Windows `long` is LONG (32 bits), here  */
/* it is 64 bits, so that call would not compile (C++) or would pass the     */
/* wrong pointer type (C). These forms take the counter as it is declared:  */
/* the same full-barrier operations on a 64-bit `long`, returning what the   */
/* LONG forms return (the new value for Increment/Decrement, the old one     */
/* for Exchange/ExchangeAdd/CompareExchange), as a `long`.                   */
/* ------------------------------------------------------------------------ */

#define MFWQ_INTERLOCKED_FORMS_(type, suffix)                                                          \
    static inline type mfwq_InterlockedIncrement_##suffix(type volatile *Addend)                       \
    {                                                                                                  \
        return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);                                        \
    }                                                                                                  \
    static inline type mfwq_InterlockedDecrement_##suffix(type volatile *Addend)                       \
    {                                                                                                  \
        return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);                                        \
    }                                                                                                  \
    static inline type mfwq_InterlockedExchange_##suffix(type volatile *Target, type Value)            \
    {                                                                                                  \
        return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);                                   \
    }                                                                                                  \
    static inline type mfwq_InterlockedExchangeAdd_##suffix(type volatile *Addend, type Value)         \
    {                                                                                                  \
        return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);                                    \
    }                                                                                                  \
    static inline type mfwq_InterlockedCompareExchange_##suffix(type volatile *Destination,            \
                                                                type Exchange, type Comperand)         \
    {                                                                                                  \
        type initial = Comperand;                                                                      \
        __atomic_compare_exchange_n(Destination, &initial, Exchange, 0, __ATOMIC_SEQ_CST,              \
                                    __ATOMIC_SEQ_CST);                                                 \
        return initial;                                                                                \
    }

MFWQ_INTERLOCKED_FORMS_(long, long)

#ifdef __cplusplus
/* C++: overloads, as the Windows SDK's winnt.h adds for the unsigned types
 * (extern "C++", like the SDK's): `long` and `unsigned long` (64 bits here),
 * and `unsigned` (ULONG here is 32 bits, as on Windows). */
MFWQ_INTERLOCKED_FORMS_(unsigned long, ulong)
MFWQ_INTERLOCKED_FORMS_(unsigned, uint)
#  define MFWQ_INTERLOCKED_OVERLOADS_(type, suffix)                                                    \
    inline type InterlockedIncrement(type volatile *Addend)                                            \
    {                                                                                                  \
        return mfwq_InterlockedIncrement_##suffix(Addend);                                             \
    }                                                                                                  \
    inline type InterlockedDecrement(type volatile *Addend)                                            \
    {                                                                                                  \
        return mfwq_InterlockedDecrement_##suffix(Addend);                                             \
    }                                                                                                  \
    inline type InterlockedExchange(type volatile *Target, type Value)                                 \
    {                                                                                                  \
        return mfwq_InterlockedExchange_##suffix(Target, Value);                                       \
    }                                                                                                  \
    inline type InterlockedExchangeAdd(type volatile *Addend, type Value)                              \
    {                                                                                                  \
        return mfwq_InterlockedExchangeAdd_##suffix(Addend, Value);                                    \
    }                                                                                                  \
    inline type InterlockedCompareExchange(type volatile *Destination, type Exchange, type Comperand)  \
    {                                                                                                  \
        return mfwq_InterlockedCompareExchange_##suffix(Destination, Exchange, Comperand);             \
    }
extern "C++" {
#  if !defined(InterlockedIncrement) && !defined(InterlockedDecrement) && !defined(InterlockedExchange) && \
      !defined(InterlockedExchangeAdd) && !defined(InterlockedCompareExchange)
MFWQ_INTERLOCKED_OVERLOADS_(long, long)
MFWQ_INTERLOCKED_OVERLOADS_(unsigned long, ulong)
MFWQ_INTERLOCKED_OVERLOADS_(unsigned, uint)
#  endif
}
#  undef MFWQ_INTERLOCKED_OVERLOADS_
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* C11: the five names become macros that pick the `long` form for a
 * `long *` and the LONG function for anything else (_Generic). Only a call
 * is redirected: `&InterlockedIncrement` still names the LONG function. C99
 * has no _Generic: there a `long` counter must be declared LONG (or use the
 * mfwq_Interlocked*_long functions above). */
#  define MFWQ_INTERLOCKED_PICK_(name, p)                                                              \
    _Generic((p), long *: mfwq_##name##_long, long volatile *: mfwq_##name##_long, default: name)
#  ifndef InterlockedIncrement
#    define InterlockedIncrement(Addend) MFWQ_INTERLOCKED_PICK_(InterlockedIncrement, Addend)(Addend)
#  endif
#  ifndef InterlockedDecrement
#    define InterlockedDecrement(Addend) MFWQ_INTERLOCKED_PICK_(InterlockedDecrement, Addend)(Addend)
#  endif
#  ifndef InterlockedExchange
#    define InterlockedExchange(Target, Value) MFWQ_INTERLOCKED_PICK_(InterlockedExchange, Target)(Target, Value)
#  endif
#  ifndef InterlockedExchangeAdd
#    define InterlockedExchangeAdd(Addend, Value)                                                        \
        MFWQ_INTERLOCKED_PICK_(InterlockedExchangeAdd, Addend)(Addend, Value)
#  endif
#  ifndef InterlockedCompareExchange
#    define InterlockedCompareExchange(Destination, Exchange, Comperand)                                 \
        MFWQ_INTERLOCKED_PICK_(InterlockedCompareExchange, Destination)(Destination, Exchange, Comperand)
#  endif
#endif
#undef MFWQ_INTERLOCKED_FORMS_

/* ======================================================================== */
/* LARGE_INTEGER: 8 bytes, alignment 8                                      */
/* ======================================================================== */

typedef union _LARGE_INTEGER {
    MFWQ_ANONYMOUS struct {
        DWORD LowPart;                  /* 0 */
        LONG HighPart;                  /* 4 */
    };
    struct {
        DWORD LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;                  /* 0 */
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    MFWQ_ANONYMOUS struct {
        DWORD LowPart;
        DWORD HighPart;
    };
    struct {
        DWORD LowPart;
        DWORD HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

/* ======================================================================== */
/* Critical sections: the Windows x64 layout, 40 bytes, alignment 8         */
/* ======================================================================== */

/* DebugInfo is always NULL here; the type exists for the field's sake. */
typedef struct _RTL_CRITICAL_SECTION_DEBUG *PRTL_CRITICAL_SECTION_DEBUG;

typedef struct _RTL_CRITICAL_SECTION {
    PRTL_CRITICAL_SECTION_DEBUG DebugInfo; /*  0: NULL */
    LONG LockCount;                        /*  8: -1, not maintained */
    LONG RecursionCount;                   /* 12: the owner's entries */
    HANDLE OwningThread;                   /* 16: the owner's thread id, 0 when free */
    HANDLE LockSemaphore;                  /* 24: holds the lock itself */
    ULONG_PTR SpinCount;                   /* 32: stored, no effect */
} RTL_CRITICAL_SECTION, *PRTL_CRITICAL_SECTION;

typedef RTL_CRITICAL_SECTION CRITICAL_SECTION;
typedef PRTL_CRITICAL_SECTION PCRITICAL_SECTION;
typedef PRTL_CRITICAL_SECTION LPCRITICAL_SECTION;

#ifndef CRITICAL_SECTION_NO_DEBUG_INFO
#  define CRITICAL_SECTION_NO_DEBUG_INFO 0x01000000u
#endif

/* ======================================================================== */
/* Waits                                                                    */
/* ======================================================================== */

#ifndef MAXIMUM_WAIT_OBJECTS
#  define MAXIMUM_WAIT_OBJECTS 64
#endif
#ifndef STATUS_WAIT_0
#  define STATUS_WAIT_0 ((DWORD)0x00000000u)
#endif
#ifndef STATUS_ABANDONED_WAIT_0
#  define STATUS_ABANDONED_WAIT_0 ((DWORD)0x00000080u)
#endif
#ifndef STATUS_USER_APC
#  define STATUS_USER_APC ((DWORD)0x000000C0u)
#endif
#ifndef WAIT_ABANDONED_0
#  define WAIT_ABANDONED_0 0x00000080u
#endif
#ifndef WAIT_IO_COMPLETION
#  define WAIT_IO_COMPLETION 0x000000C0u
#endif

/* ======================================================================== */
/* Exported by libmfplat                                                    */
/* ======================================================================== */

#ifdef __cplusplus
extern "C" {
#endif

void MFWQ_STDCALL InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
BOOL MFWQ_STDCALL InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection,
                                                        DWORD dwSpinCount);
BOOL MFWQ_STDCALL InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount,
                                              DWORD Flags);
DWORD MFWQ_STDCALL SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount);
void MFWQ_STDCALL EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
BOOL MFWQ_STDCALL TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
void MFWQ_STDCALL LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
void MFWQ_STDCALL DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection);

DWORD MFWQ_STDCALL GetCurrentThreadId(void);
DWORD MFWQ_STDCALL GetCurrentProcessId(void);
DWORD MFWQ_STDCALL GetTickCount(void);
ULONGLONG MFWQ_STDCALL GetTickCount64(void);
BOOL MFWQ_STDCALL QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
BOOL MFWQ_STDCALL QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);

DWORD MFWQ_STDCALL WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                          DWORD dwMilliseconds);
DWORD MFWQ_STDCALL WaitForMultipleObjectsEx(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                            DWORD dwMilliseconds, BOOL bAlertable);

#ifdef __cplusplus
}
#endif

#endif /* MFWQ_NO_WIN32_BASE */

#endif /* MFWQ_SYNCH_H_ */
