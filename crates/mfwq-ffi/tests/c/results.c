/*
 * results.c - the stock async result of MFCreateAsyncResult /
 * RtwqCreateAsyncResult.
 *
 * docs/behaviour.md#results: #w17 to #w23, #d35 (NULL out pointer is
 * E_POINTER); docs/behaviour.md#layout (the interfaces and the MFASYNCRESULT
 * fields, read through an MFASYNCRESULT pointer).
 */
#include "mfwq_test.h"

/* A GUID no object implements. */
static const GUID IID_unknown_to_all = {
    0x12345678, 0x9abc, 0xdef0, {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}};

static int all_zero(const void *memory, size_t size)
{
    const unsigned char *bytes = memory;
    for (size_t i = 0; i < size; i++)
        if (bytes[i] != 0)
            return 0;
    return 1;
}

/* docs/behaviour.md#w17: a NULL out pointer fails with E_POINTER (docs/behaviour.md#d35), started or not. */
static void test_null_out_pointer(void)
{
    tcb *cb = tcb_create();
    tunk *state = tunk_create(1);

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, NULL), E_POINTER);
    CHECK_HR(RtwqCreateAsyncResult(NULL, NULL, NULL, NULL), E_POINTER);
    /* Nothing was taken from the inputs of a refused call. */
    CHECK_HR(MFCreateAsyncResult(&state->iface, &cb->iface, &state->iface, NULL), E_POINTER);
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* docs/behaviour.md#w18: all-NULL creation, and the public field defaults. */
static void test_field_defaults(void)
{
    IMFAsyncResult *result = NULL;
    IRtwqAsyncResult *rtwq = NULL;
    tcb *cb = tcb_create();

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK(result != NULL);
    if (result == NULL)
        return;
    CHECK_PTR(fields(result)->pCallback, NULL);
    CHECK_HR(fields(result)->hrStatusResult, S_OK);
    CHECK_U(fields(result)->dwBytesTransferred, 0);
    CHECK_PTR(fields(result)->hEvent, NULL);
    CHECK_MSG(all_zero(&fields(result)->overlapped, sizeof(OVERLAPPED)),
              "18: the OVERLAPPED part of a fresh result is zeroed");
    CHECK_PTR(fields(result)->AsyncResult.lpVtbl, result->lpVtbl);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);

    /* With a callback, pCallback is that callback (AddRef'd), and still no
     * event is created. */
    CHECK_HR(MFCreateAsyncResult(NULL, &cb->iface, NULL, &result), S_OK);
    CHECK_PTR(fields(result)->pCallback, &cb->iface);
    CHECK_PTR(fields(result)->hEvent, NULL);
    CHECK_HR(fields(result)->hrStatusResult, S_OK);
    CHECK_EQ(tcb_refs(cb), 2);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tcb_refs(cb), 1);

    /* The Rtwq twin makes the same object. */
    CHECK_HR(RtwqCreateAsyncResult(NULL, (IRtwqAsyncCallback *)&cb->iface, NULL, &rtwq), S_OK);
    CHECK_PTR(((RTWQASYNCRESULT *)rtwq)->pCallback, &cb->iface);
    CHECK_HR(((RTWQASYNCRESULT *)rtwq)->hrStatusResult, S_OK);
    CHECK_U(((RTWQASYNCRESULT *)rtwq)->dwBytesTransferred, 0);
    CHECK_PTR(((RTWQASYNCRESULT *)rtwq)->hEvent, NULL);
    CHECK_HR(IRtwqAsyncResult_GetStatus(rtwq), S_OK);
    CHECK_EQ(IRtwqAsyncResult_Release(rtwq), 0);
    CHECK_EQ(tcb_release(cb), 0);
}

/* docs/behaviour.md#w19: GetState / GetStateNoAddRef. */
static void test_get_state(void)
{
    IMFAsyncResult *result = NULL;
    IUnknown *out;
    tunk *state = tunk_create(7);

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_HR(IMFAsyncResult_GetState(result, NULL), E_POINTER);
    /* No state: E_POINTER, and the out pointer is left untouched. */
    out = (IUnknown *)(uintptr_t)0xdeadbeef;
    CHECK_HR(IMFAsyncResult_GetState(result, &out), E_POINTER);
    CHECK_PTR(out, (IUnknown *)(uintptr_t)0xdeadbeef);
    CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(result), NULL);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);

    /* With a state: GetState gives it AddRef'd, GetStateNoAddRef without. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, &state->iface, &result), S_OK);
    CHECK_EQ(tunk_refs(state), 2);
    CHECK_HR(IMFAsyncResult_GetState(result, NULL), E_POINTER);
    out = NULL;
    CHECK_HR(IMFAsyncResult_GetState(result, &out), S_OK);
    CHECK_PTR(out, &state->iface);
    CHECK_EQ(tunk_refs(state), 3);
    if (out != NULL)
        IUnknown_Release(out);
    CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(result), &state->iface);
    CHECK_EQ(tunk_refs(state), 2);
    /* GetObject does not see the state. */
    out = (IUnknown *)(uintptr_t)0xdeadbeef;
    CHECK_HR(IMFAsyncResult_GetObject(result, &out), E_POINTER);
    CHECK_PTR(out, (IUnknown *)(uintptr_t)0xdeadbeef);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* docs/behaviour.md#w20: GetObject. */
static void test_get_object(void)
{
    IMFAsyncResult *result = NULL;
    IUnknown *out;
    tunk *object = tunk_create(9);

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_HR(IMFAsyncResult_GetObject(result, NULL), E_POINTER);
    out = (IUnknown *)(uintptr_t)0xfeedface;
    CHECK_HR(IMFAsyncResult_GetObject(result, &out), E_POINTER);
    CHECK_PTR(out, (IUnknown *)(uintptr_t)0xfeedface);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);

    CHECK_HR(MFCreateAsyncResult(&object->iface, NULL, NULL, &result), S_OK);
    CHECK_EQ(tunk_refs(object), 2);
    CHECK_HR(IMFAsyncResult_GetObject(result, NULL), E_POINTER);
    out = NULL;
    CHECK_HR(IMFAsyncResult_GetObject(result, &out), S_OK);
    CHECK_PTR(out, &object->iface);
    CHECK_EQ(tunk_refs(object), 3);
    if (out != NULL)
        IUnknown_Release(out);
    /* The object is not the state. */
    CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(result), NULL);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tunk_refs(object), 1);
    CHECK_EQ(IUnknown_Release(&object->iface), 0);
}

/* docs/behaviour.md#w21: the status lives in the public hrStatusResult field. */
static void test_status_field(void)
{
    IMFAsyncResult *result = NULL;

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    CHECK_HR(IMFAsyncResult_GetStatus(result), S_OK);
    fields(result)->hrStatusResult = 123;
    CHECK_HR(IMFAsyncResult_GetStatus(result), 123);
    CHECK_HR(IMFAsyncResult_SetStatus(result, E_FAIL), S_OK);
    CHECK_HR(fields(result)->hrStatusResult, E_FAIL);
    CHECK_HR(IMFAsyncResult_GetStatus(result), E_FAIL);
    CHECK_HR(IMFAsyncResult_SetStatus(result, MF_E_OPERATION_CANCELLED), S_OK);
    CHECK_HR(fields(result)->hrStatusResult, MF_E_OPERATION_CANCELLED);
    /* dwBytesTransferred is a plain field too; GetStatus ignores it. */
    fields(result)->dwBytesTransferred = 42;
    CHECK_HR(IMFAsyncResult_GetStatus(result), MF_E_OPERATION_CANCELLED);
    CHECK_U(fields(result)->dwBytesTransferred, 42);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
}

/* docs/behaviour.md#w22, #w23: the final release releases object, state and callback, and closes
 * hEvent; Release returns 0 for the last reference. */
static void test_final_release(void)
{
    IMFAsyncResult *result = NULL, *inner = NULL, *outer = NULL;
    tcb *cb = tcb_create();
    tunk *object = tunk_create(1);
    tunk *state = tunk_create(2);
    HANDLE event;
    DWORD info;

    CHECK_HR(MFCreateAsyncResult(&object->iface, &cb->iface, &state->iface, &result), S_OK);
    CHECK_EQ(tcb_refs(cb), 2);
    CHECK_EQ(tunk_refs(object), 2);
    CHECK_EQ(tunk_refs(state), 2);
    /* AddRef/Release return the new count. */
    CHECK_EQ(IMFAsyncResult_AddRef(result), 2);
    CHECK_EQ(IMFAsyncResult_Release(result), 1);
    /* docs/behaviour.md#w23: the caller's last reference: 0. */
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    /* docs/behaviour.md#w22: everything held is released. */
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(object), 1);
    CHECK_EQ(tunk_refs(state), 1);

    /* docs/behaviour.md#w22: an inner result used as object or state drops to 0 with the outer. */
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &inner), S_OK);
    CHECK_HR(MFCreateAsyncResult((IUnknown *)inner, NULL, NULL, &outer), S_OK);
    CHECK_EQ(result_refs(inner), 2);
    CHECK_EQ(IMFAsyncResult_Release(outer), 0);
    CHECK_EQ(IMFAsyncResult_Release(inner), 0);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &inner), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, (IUnknown *)inner, &outer), S_OK);
    CHECK_EQ(result_refs(inner), 2);
    CHECK_EQ(IMFAsyncResult_Release(outer), 0);
    CHECK_EQ(IMFAsyncResult_Release(inner), 0);

    /* docs/behaviour.md#w22: hEvent is closed by the final release, without a callback ... */
    event = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK(event != NULL);
    CHECK(GetHandleInformation(event, &info));
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    fields(result)->hEvent = event;
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_MSG(!GetHandleInformation(event, &info), "22: hEvent still open after the final release");
    CHECK_MSG(!CloseHandle(event), "22: CloseHandle succeeded on the hEvent the result closed");
    CHECK_U(GetLastError(), ERROR_INVALID_HANDLE);

    /* ... and with a callback. */
    event = CreateEventW(NULL, TRUE, FALSE, NULL);
    CHECK(event != NULL);
    CHECK_HR(MFCreateAsyncResult(&object->iface, &cb->iface, &state->iface, &result), S_OK);
    fields(result)->hEvent = event;
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK(!GetHandleInformation(event, &info));
    CHECK(!CloseHandle(event));
    CHECK_EQ(tcb_refs(cb), 1);
    CHECK_EQ(tunk_refs(object), 1);
    CHECK_EQ(tunk_refs(state), 1);

    /* A release that is not the last one closes nothing. */
    event = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    fields(result)->hEvent = event;
    IMFAsyncResult_AddRef(result);
    CHECK_EQ(IMFAsyncResult_Release(result), 1);
    CHECK(GetHandleInformation(event, &info));
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK(!GetHandleInformation(event, &info));

    CHECK_EQ(tcb_release(cb), 0);
    CHECK_EQ(IUnknown_Release(&object->iface), 0);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

/* docs/behaviour.md#layout: QueryInterface of the stock result. */
static void test_query_interface(void)
{
    IMFAsyncResult *result = NULL;
    void *out;

    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, &result), S_OK);
    out = NULL;
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_IUnknown, &out), S_OK);
    CHECK_PTR(out, result);
    CHECK_EQ(result_refs(result), 2);
    IMFAsyncResult_Release(result);
    out = NULL;
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_IMFAsyncResult, &out), S_OK);
    CHECK_PTR(out, result);
    IMFAsyncResult_Release(result);
    /* IRtwqAsyncResult has the same IID. */
    CHECK(IsEqualIID(&IID_IRtwqAsyncResult, &IID_IMFAsyncResult));
    out = NULL;
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_IRtwqAsyncResult, &out), S_OK);
    CHECK_PTR(out, result);
    IMFAsyncResult_Release(result);
    /* Not a callback. */
    out = (void *)(uintptr_t)1;
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_IMFAsyncCallback, &out), E_NOINTERFACE);
    CHECK_PTR(out, NULL);
    out = (void *)(uintptr_t)1;
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_unknown_to_all, &out), E_NOINTERFACE);
    CHECK_PTR(out, NULL);
    CHECK_HR(IMFAsyncResult_QueryInterface(result, &IID_IUnknown, NULL), E_POINTER);
    CHECK_EQ(result_refs(result), 1);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
}

/* The stock result works the same while the platform is up. */
static void test_while_started(void)
{
    IMFAsyncResult *result = NULL;
    tunk *state = tunk_create(3);

    CHECK_HR(MFStartup(MF_VERSION, MFSTARTUP_FULL), S_OK);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, NULL, NULL), E_POINTER);
    CHECK_HR(MFCreateAsyncResult(NULL, NULL, &state->iface, &result), S_OK);
    CHECK_PTR(IMFAsyncResult_GetStateNoAddRef(result), &state->iface);
    CHECK_HR(IMFAsyncResult_GetStatus(result), S_OK);
    CHECK_EQ(IMFAsyncResult_Release(result), 0);
    CHECK_EQ(tunk_refs(state), 1);
    CHECK_HR(MFShutdown(), S_OK);
    CHECK_EQ(IUnknown_Release(&state->iface), 0);
}

int main(void)
{
    /* Results work before any startup (docs/behaviour.md#w12, #w13): the first tests
     * run with the platform down. */
    test_null_out_pointer();
    test_field_defaults();
    test_get_state();
    test_get_object();
    test_status_field();
    test_final_release();
    test_query_interface();
    test_while_started();
    return test_finish("results");
}
