/*
 * protocol._cbor: the strict deterministic-CBOR decoder of protocol/cbor.py, in C.
 *
 * Why hand-written: every signed object a data holder receives is decoded on its hot path, and
 * the decoder must accept exactly one encoding per value (RFC 8949 section 4.2.1: shortest
 * heads, definite lengths, map keys unique and in bytewise order of their encodings) and only
 * the CopyMe data model.  No maintained library does both: cbor2's C decoder accepts every
 * encoding (the Python reference path re-encodes to compare), and the libraries that check
 * canonical form are pure Python.  So this module decodes and checks in one pass over the bytes.
 *
 * It is an optional accelerator, never a second definition: protocol/cbor.py keeps the pure
 * Python decoder as the reference (and as the fallback when this module could not be built),
 * and the tests decode random, mutated and hostile inputs with both and require the same value
 * or the same refusal.  The caller (protocol.cbor.decode) has already checked the input type,
 * the size cap and emptiness; this module sees a non-empty ``bytes`` object.
 *
 * The module also splits a COSE_Sign1 envelope of the one shape CopyMe produces and builds the
 * Sig_structure its signature covers (``sign1_parts``), the other fixed cost around a verify, and
 * writes the base32 text of a content id (``base32``): a data holder names every consent it
 * verifies by that id, and the standard library's base32 is written in Python.
 *
 * Accepted: unsigned and negative integers (major types 0 and 1, the full 64-bit range), byte
 * and text strings (text must be valid UTF-8), arrays, maps whose keys are integers or text,
 * false, true, null, and tag 18 only when the caller allows it (anywhere a value may be, as the
 * reference does).  Arrays, maps and tags are levels; a container at a level above MAX_DEPTH is
 * refused.  Everything else raises ``Invalid`` (a ValueError), which the caller turns into
 * ``malformed``.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 8

static PyObject *Invalid;   /* protocol._cbor.Invalid, a ValueError subclass */
static PyObject *TagType;   /* cbor2.CBORTag */

typedef struct {
    const unsigned char *data;
    Py_ssize_t pos;
    Py_ssize_t len;
    int allow_tag18;
} Reader;

static PyObject *
refuse(const char *why)
{
    PyErr_SetString(Invalid, why);
    return NULL;
}

/* Read a head at r->pos: its major type and argument, refusing every non-shortest form,
 * indefinite lengths and the reserved additional-information values.  Returns 0 on success. */
static int
read_head(Reader *r, int *major, uint64_t *arg)
{
    if (r->pos >= r->len) {
        PyErr_SetString(Invalid, "truncated CBOR");
        return -1;
    }
    unsigned char first = r->data[r->pos++];
    int info = first & 0x1f;
    *major = first >> 5;
    if (info < 24) {
        *arg = (uint64_t)info;
        return 0;
    }
    if (info > 27) {
        PyErr_SetString(Invalid, info == 31 ? "indefinite lengths are not deterministic CBOR"
                                            : "reserved CBOR additional information");
        return -1;
    }
    Py_ssize_t width = (Py_ssize_t)1 << (info - 24);
    if (r->len - r->pos < width) {
        PyErr_SetString(Invalid, "truncated CBOR");
        return -1;
    }
    uint64_t value = 0;
    for (Py_ssize_t i = 0; i < width; i++) {
        value = (value << 8) | r->data[r->pos + i];
    }
    r->pos += width;
    uint64_t lowest = info == 24 ? 24 : ((uint64_t)1 << (4 * width));
    if (value < lowest) {
        PyErr_SetString(Invalid, "non-minimal CBOR head (not deterministic CBOR)");
        return -1;
    }
    *arg = value;
    return 0;
}

static PyObject *
make_int(int major, uint64_t arg)
{
    if (major == 0) {
        return PyLong_FromUnsignedLongLong(arg);
    }
    if (arg <= (uint64_t)LLONG_MAX) {
        return PyLong_FromLongLong(-1 - (long long)arg);
    }
    /* -1 - arg for arguments beyond the signed 64-bit range, down to -2**64 */
    PyObject *magnitude = PyLong_FromUnsignedLongLong(arg);
    if (magnitude == NULL) {
        return NULL;
    }
    PyObject *negated = PyNumber_Negative(magnitude);
    Py_DECREF(magnitude);
    if (negated == NULL) {
        return NULL;
    }
    PyObject *minus_one = PyLong_FromLong(-1);
    if (minus_one == NULL) {
        Py_DECREF(negated);
        return NULL;
    }
    PyObject *result = PyNumber_Add(negated, minus_one);
    Py_DECREF(negated);
    Py_DECREF(minus_one);
    return result;
}

/* Bytes left after r->pos, unsigned, for comparing with a 64-bit length. */
static uint64_t
remaining(const Reader *r)
{
    return (uint64_t)(r->len - r->pos);
}

static PyObject *read_item(Reader *r, int depth);

static PyObject *
read_text(Reader *r, uint64_t size)
{
    if (size > remaining(r)) {
        return refuse("truncated CBOR");
    }
    const char *start = (const char *)r->data + r->pos;
    r->pos += (Py_ssize_t)size;
    PyObject *text = PyUnicode_DecodeUTF8(start, (Py_ssize_t)size, "strict");
    if (text == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyErr_Clear();
            return refuse("text string is not valid UTF-8");
        }
        return NULL;
    }
    return text;
}

static PyObject *
read_map(Reader *r, uint64_t count, int depth)
{
    /* every entry needs at least two bytes: refuse absurd counts before allocating anything */
    if (count > remaining(r) / 2) {
        return refuse("truncated CBOR");
    }
    PyObject *map = PyDict_New();
    if (map == NULL) {
        return NULL;
    }
    const unsigned char *previous = NULL;
    Py_ssize_t previous_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        Py_ssize_t key_start = r->pos;
        int major;
        uint64_t arg;
        if (read_head(r, &major, &arg) < 0) {
            goto fail;
        }
        PyObject *key;
        if (major == 0 || major == 1) {
            key = make_int(major, arg);
        }
        else if (major == 3) {
            key = read_text(r, arg);
        }
        else {
            refuse("map keys must be integers or text");
            goto fail;
        }
        if (key == NULL) {
            goto fail;
        }
        /* RFC 8949 4.2.1: keys sorted by the bytewise order of their (deterministic) encodings,
         * which the bytes just read are; strictly increasing also means no duplicates. */
        const unsigned char *encoded = r->data + key_start;
        Py_ssize_t encoded_len = r->pos - key_start;
        if (previous != NULL) {
            Py_ssize_t common = previous_len < encoded_len ? previous_len : encoded_len;
            int order = memcmp(previous, encoded, (size_t)common);
            if (order > 0 || (order == 0 && previous_len >= encoded_len)) {
                Py_DECREF(key);
                refuse(order == 0 && previous_len == encoded_len ? "duplicate map keys"
                                                                 : "map keys are not in deterministic order");
                goto fail;
            }
        }
        previous = encoded;
        previous_len = encoded_len;
        PyObject *value = read_item(r, depth + 1);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int status = PyDict_SetItem(map, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (status < 0) {
            goto fail;
        }
    }
    return map;
fail:
    Py_DECREF(map);
    return NULL;
}

static PyObject *
read_array(Reader *r, uint64_t count, int depth)
{
    if (count > remaining(r)) {  /* every element needs at least one byte */
        return refuse("truncated CBOR");
    }
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < (Py_ssize_t)count; i++) {
        PyObject *item = read_item(r, depth + 1);
        if (item == NULL) {
            Py_DECREF(list);  /* the unset slots are NULL, which list dealloc skips */
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *
read_item(Reader *r, int depth)
{
    int major;
    uint64_t arg;
    unsigned char first = r->pos < r->len ? r->data[r->pos] : 0;
    if (read_head(r, &major, &arg) < 0) {
        return NULL;
    }
    switch (major) {
    case 0:
    case 1:
        return make_int(major, arg);
    case 2:
        if (arg > remaining(r)) {
            return refuse("truncated CBOR");
        }
        r->pos += (Py_ssize_t)arg;
        return PyBytes_FromStringAndSize((const char *)r->data + r->pos - (Py_ssize_t)arg, (Py_ssize_t)arg);
    case 3:
        return read_text(r, arg);
    case 4:
    case 5:
    case 6:
        if (depth >= MAX_DEPTH) {
            return refuse("nesting deeper than 8 levels");
        }
        if (major == 4) {
            return read_array(r, arg, depth);
        }
        if (major == 5) {
            return read_map(r, arg, depth);
        }
        if (!r->allow_tag18 || arg != 18) {
            return refuse("CBOR tag is not allowed here");
        }
        {
            PyObject *content = read_item(r, depth + 1);
            if (content == NULL) {
                return NULL;
            }
            PyObject *tag = PyObject_CallFunction(TagType, "iO", 18, content);
            Py_DECREF(content);
            return tag;
        }
    default: /* major 7: only false, true and null, each its one head byte (never a float's last byte) */
        if (first == 0xf4) {
            Py_RETURN_FALSE;
        }
        if (first == 0xf5) {
            Py_RETURN_TRUE;
        }
        if (first == 0xf6) {
            Py_RETURN_NONE;
        }
        return refuse("floats and simple values other than false, true and null are not part of the data model");
    }
}

PyDoc_STRVAR(decode_doc,
"decode(data: bytes, allow_tag18: bool) -> Any\n\n"
"The value of ``data`` if it is the one deterministic encoding of a CopyMe data-model value,\n"
"else raise ``Invalid``.  ``data`` must be non-empty bytes within the caller's size cap.");

static PyObject *
decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "decode(data: bytes, allow_tag18: bool)");
        return NULL;
    }
    int allow = PyObject_IsTrue(args[1]);
    if (allow < 0) {
        return NULL;
    }
    Reader r = {(const unsigned char *)PyBytes_AS_STRING(args[0]), 0, PyBytes_GET_SIZE(args[0]), allow};
    if (r.len == 0) {
        return refuse("empty input");
    }
    PyObject *value = read_item(&r, 0);
    if (value != NULL && r.pos != r.len) {
        Py_DECREF(value);
        return refuse("bytes after the first data item (not deterministic CBOR)");
    }
    return value;
}

/* ---------------------------------------------------------------- the COSE_Sign1 envelope */

/* A byte string at *pos whose head is minimal and whose length fits in 1, 2 or 4 bytes (as
 * protocol.cose._read_bstr reads it); sets *start and *size and moves *pos past it. */
static int
envelope_bstr(const unsigned char *data, Py_ssize_t len, Py_ssize_t *pos, Py_ssize_t *start, Py_ssize_t *size)
{
    if (*pos >= len || data[*pos] >> 5 != 2) {
        return -1;
    }
    int info = data[*pos] & 0x1f;
    Py_ssize_t at = *pos + 1;
    uint64_t n;
    if (info < 24) {
        n = (uint64_t)info;
    }
    else if (info <= 26) {
        Py_ssize_t width = (Py_ssize_t)1 << (info - 24);
        if (len - at < width) {
            return -1;
        }
        n = 0;
        for (Py_ssize_t i = 0; i < width; i++) {
            n = (n << 8) | data[at + i];
        }
        if (n < (width == 1 ? 24 : ((uint64_t)1 << (4 * width)))) {
            return -1;
        }
        at += width;
    }
    else {
        return -1;
    }
    if (n > (uint64_t)(len - at)) {
        return -1;
    }
    *start = at;
    *size = (Py_ssize_t)n;
    *pos = at + (Py_ssize_t)n;
    return 0;
}

/* The minimal head of a byte string of ``size`` bytes, written at ``out``; returns its length. */
static Py_ssize_t
bstr_head(unsigned char *out, Py_ssize_t size)
{
    uint64_t n = (uint64_t)size;
    if (n < 24) {
        out[0] = (unsigned char)(0x40 | n);
        return 1;
    }
    int width = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000ULL ? 4 : 8;
    out[0] = (unsigned char)(0x40 | (width == 1 ? 24 : width == 2 ? 25 : width == 4 ? 26 : 27));
    for (int i = 0; i < width; i++) {
        out[1 + i] = (unsigned char)(n >> (8 * (width - 1 - i)));
    }
    return 1 + width;
}

PyDoc_STRVAR(sign1_parts_doc,
"sign1_parts(data: bytes) -> tuple[bytes, bytes, bytes, bytes] | None\n\n"
"(protected, payload, signature, Sig_structure) if ``data`` is exactly the deterministic\n"
"encoding of a tagged COSE_Sign1 with an empty unprotected header and a 64-byte signature\n"
"(what protocol.cose._split_fast accepts), else None.");

static PyObject *
sign1_parts(PyObject *module, PyObject *data_obj)
{
    (void)module;
    if (!PyBytes_Check(data_obj)) {
        PyErr_SetString(PyExc_TypeError, "sign1_parts(data: bytes)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(data_obj);
    Py_ssize_t len = PyBytes_GET_SIZE(data_obj);
    Py_ssize_t pos = 2, protected_at, protected_size, payload_at, payload_size;
    if (len < 2 || data[0] != 0xd2 || data[1] != 0x84
            || envelope_bstr(data, len, &pos, &protected_at, &protected_size) < 0
            || pos >= len || data[pos] != 0xa0) {
        Py_RETURN_NONE;
    }
    pos += 1;
    if (envelope_bstr(data, len, &pos, &payload_at, &payload_size) < 0
            || len - pos != 66 || data[pos] != 0x58 || data[pos + 1] != 0x40) {
        Py_RETURN_NONE;
    }
    /* Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052 section 4.4) */
    static const unsigned char context[] = "\x84\x6aSignature1";
    unsigned char head[9];
    Py_ssize_t context_len = (Py_ssize_t)sizeof(context) - 1;
    Py_ssize_t total = context_len + bstr_head(head, protected_size) + protected_size + 1
        + bstr_head(head, payload_size) + payload_size;
    PyObject *to_be_signed = PyBytes_FromStringAndSize(NULL, total);
    if (to_be_signed == NULL) {
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(to_be_signed);
    memcpy(out, context, (size_t)context_len);
    out += context_len;
    out += bstr_head(out, protected_size);
    memcpy(out, data + protected_at, (size_t)protected_size);
    out += protected_size;
    *out++ = 0x40;  /* external_aad: always empty */
    out += bstr_head(out, payload_size);
    memcpy(out, data + payload_at, (size_t)payload_size);
    PyObject *result = Py_BuildValue("(y#y#y#N)", (const char *)data + protected_at, protected_size,
                                     (const char *)data + payload_at, payload_size,
                                     (const char *)data + pos + 2, (Py_ssize_t)64, to_be_signed);
    return result;
}

/* ---------------------------------------------------------------- content ids */

PyDoc_STRVAR(base32_doc,
"base32(data: bytes) -> str\n\n"
"``data`` in RFC 4648 base32, lower case, without padding: the text of a CID after its\n"
"multibase prefix ``b`` (what protocol.cid.cid_text writes with base64.b32encode).");

static PyObject *
base32(PyObject *module, PyObject *data_obj)
{
    (void)module;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    if (!PyBytes_Check(data_obj)) {
        PyErr_SetString(PyExc_TypeError, "base32(data: bytes)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(data_obj);
    Py_ssize_t len = PyBytes_GET_SIZE(data_obj);
    if (len > PY_SSIZE_T_MAX / 8 - 4) {
        return PyErr_NoMemory();
    }
    Py_ssize_t chars = (len * 8 + 4) / 5;
    PyObject *text = PyUnicode_New(chars, 127);
    if (text == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    uint32_t buffer = 0;
    int bits = 0;
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        buffer = (buffer << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[at++] = (Py_UCS1)alphabet[(buffer >> bits) & 31];
        }
    }
    if (bits > 0) {
        out[at++] = (Py_UCS1)alphabet[(buffer << (5 - bits)) & 31];
    }
    return text;
}

static PyMethodDef methods[] = {
    {"base32", (PyCFunction)base32, METH_O, base32_doc},
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL, decode_doc},
    {"sign1_parts", (PyCFunction)sign1_parts, METH_O, sign1_parts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "protocol._cbor",
    "The strict deterministic-CBOR decoder of protocol.cbor, in C (an optional accelerator).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__cbor(void)
{
    PyObject *cbor2 = PyImport_ImportModule("cbor2");
    if (cbor2 == NULL) {
        return NULL;
    }
    TagType = PyObject_GetAttrString(cbor2, "CBORTag");
    Py_DECREF(cbor2);
    if (TagType == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    Invalid = PyErr_NewException("protocol._cbor.Invalid", PyExc_ValueError, NULL);
    if (Invalid == NULL || PyModule_AddObjectRef(module, "Invalid", Invalid) < 0
            || PyModule_AddIntConstant(module, "MAX_DEPTH", MAX_DEPTH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
