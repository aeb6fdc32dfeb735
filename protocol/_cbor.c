/*
 * protocol._cbor: the strict deterministic-CBOR decoder and encoder of protocol/cbor.py, in C.
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
 * It also holds the encoder (``encode``), for the same two reasons.  Order: every signature is made
 * over RFC 8949 core deterministic bytes, whose map keys sort by the bytewise order of their
 * encodings; cbor2's C encoder with canonical=True sorts them length-first (the RFC 7049 rule:
 * key 100 before -1, where RFC 8949 puts -1 = 0x20 before 100 = 0x1864), so the Python path has to
 * rebuild every map in order and refuse foreign values in a walk before cbor2 writes the bytes.
 * Speed: that walk was most of the cost of signing a credential and of writing each usage
 * receipt.  The C encoder does the walk, the checks and the writing in one pass.  It is held to
 * the reference (protocol.cbor._canon then cbor2.dumps) the same way as the decoder: the same
 * bytes for every accepted value and the same refusal, message included, for every refused one
 * (tests/protocol/test_cbor_encode_differential.py).
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

/* ---------------------------------------------------------------- the encoder */

/* encode() is protocol.cbor._canon followed by cbor2.dumps, in one pass: the same bytes for
 * every value the reference accepts, the same refusal (Invalid with the reference's message)
 * for every value it refuses, checked in the same order (depth first, map entries in the
 * dict's order, each key before its value, duplicate keys only once the whole map is written).
 *
 * Values are written into one growing buffer.  A map's entries are written as they come, each
 * remembered as (start, end of key, end); once the map is complete the entries are sorted by
 * their key bytes (RFC 8949 4.2.1) and moved into that order, so a map nested in a map is sorted
 * before its parent is.  Arbitrary Python code can run during the walk only through values that
 * are not of the exact built-in types (int(x) of an int subclass, isinstance through a
 * __class__ property, a tag collection's __contains__), so every item is held by a reference
 * while it is used and a map or list that changes size meanwhile is handled as the reference's
 * iteration handles it. */

#define STACK_BUFFER 2048
#define STACK_ENTRIES 32

typedef struct {
    unsigned char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
    int on_heap;
    PyObject *tags;
} Writer;

typedef struct {
    Py_ssize_t start;    /* offset of the key's first byte */
    Py_ssize_t key_end;  /* offset just after the key */
    Py_ssize_t end;      /* offset just after the value */
} Entry;

static PyObject *StrStr;   /* str.__str__, which the reference applies to str subclasses */

static int
refuse_int(const char *why)
{
    PyErr_SetString(Invalid, why);
    return -1;
}

/* Make room for ``need`` more bytes. */
static int
reserve(Writer *w, Py_ssize_t need)
{
    if (need <= w->cap - w->len) {
        return 0;
    }
    if (need > PY_SSIZE_T_MAX - w->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = w->cap;
    while (cap - w->len < need) {
        cap = cap > PY_SSIZE_T_MAX / 2 ? PY_SSIZE_T_MAX : cap * 2;
    }
    unsigned char *data;
    if (w->on_heap) {
        data = PyMem_Realloc(w->data, (size_t)cap);
    }
    else {
        data = PyMem_Malloc((size_t)cap);
        if (data != NULL) {
            memcpy(data, w->data, (size_t)w->len);
        }
    }
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->data = data;
    w->cap = cap;
    w->on_heap = 1;
    return 0;
}

/* The minimal head of ``major`` with argument ``n`` at ``out`` (at least 9 bytes); its length. */
static Py_ssize_t
put_head(unsigned char *out, int major, uint64_t n)
{
    unsigned char type = (unsigned char)(major << 5);
    if (n < 24) {
        out[0] = (unsigned char)(type | n);
        return 1;
    }
    int width = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000ULL ? 4 : 8;
    out[0] = (unsigned char)(type | (width == 1 ? 24 : width == 2 ? 25 : width == 4 ? 26 : 27));
    for (int i = 0; i < width; i++) {
        out[1 + i] = (unsigned char)(n >> (8 * (width - 1 - i)));
    }
    return 1 + width;
}

static int
write_head(Writer *w, int major, uint64_t n)
{
    if (reserve(w, 9) < 0) {
        return -1;
    }
    w->len += put_head(w->data + w->len, major, n);
    return 0;
}

static int
write_string(Writer *w, int major, const char *bytes, Py_ssize_t size)
{
    if (write_head(w, major, (uint64_t)size) < 0 || reserve(w, size) < 0) {
        return -1;
    }
    memcpy(w->data + w->len, bytes, (size_t)size);
    w->len += size;
    return 0;
}

/* An exact int, or refuse it as the reference does if it is outside [-2**64, 2**64 - 1]. */
static int
write_int(Writer *w, PyObject *value)
{
    int overflow;
    long long small = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow == 0) {
        if (small == -1 && PyErr_Occurred()) {
            return -1;
        }
        return small >= 0 ? write_head(w, 0, (uint64_t)small) : write_head(w, 1, (uint64_t)(-1 - small));
    }
    /* beyond the signed 64-bit range: n itself, or -1 - n (which is ~n) for a negative n */
    PyObject *magnitude = overflow > 0 ? Py_NewRef(value) : PyNumber_Invert(value);
    if (magnitude == NULL) {
        return -1;
    }
    unsigned long long n = PyLong_AsUnsignedLongLong(magnitude);
    Py_DECREF(magnitude);
    if (n == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        return refuse_int("integer out of 64-bit range");
    }
    return write_head(w, overflow > 0 ? 0 : 1, (uint64_t)n);
}

/* A str (or str subclass) as UTF-8; a lone surrogate cannot be, so it is refused. */
static int
write_text(Writer *w, PyObject *text)
{
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return refuse_int("text strings must be valid Unicode (no lone surrogates)");
        }
        return -1;
    }
    return write_string(w, 3, utf8, size);
}

/* Raise Invalid(f"{template % str(part)}") the way the reference formats its f-strings. */
static int
refuse_with(const char *template, PyObject *part)
{
    PyObject *text = PyObject_Format(part, NULL);
    if (text == NULL) {
        return -1;
    }
    PyObject *message = PyUnicode_FromFormat(template, text);
    Py_DECREF(text);
    if (message == NULL) {
        return -1;
    }
    PyErr_SetObject(Invalid, message);
    Py_DECREF(message);
    return -1;
}

static int write_item(Writer *w, PyObject *value, int depth);

/* Does key ``a`` sort before key ``b`` (bytewise, a shorter prefix first)?  0 if equal. */
static int
compare_keys(const unsigned char *data, const Entry *a, const Entry *b)
{
    Py_ssize_t a_len = a->key_end - a->start, b_len = b->key_end - b->start;
    int order = memcmp(data + a->start, data + b->start, (size_t)(a_len < b_len ? a_len : b_len));
    if (order != 0) {
        return order;
    }
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* Merge sort of ``entries`` by key bytes, using ``scratch`` (as many entries); sets *duplicate
 * when it finds two keys equal and *moved when the order changes. */
static void
sort_entries(const unsigned char *data, Entry *entries, Entry *scratch, Py_ssize_t n, int *duplicate, int *moved)
{
    if (n < 2) {
        return;
    }
    Py_ssize_t half = n / 2;
    sort_entries(data, entries, scratch, half, duplicate, moved);
    sort_entries(data, entries + half, scratch, n - half, duplicate, moved);
    Py_ssize_t i = 0, j = half, k = 0;
    int last = compare_keys(data, &entries[half - 1], &entries[half]);
    if (last < 0) {
        return;  /* already in order, as most maps are */
    }
    *moved = 1;
    while (i < half && j < n) {
        int order = compare_keys(data, &entries[i], &entries[j]);
        if (order == 0) {
            *duplicate = 1;
        }
        scratch[k++] = order <= 0 ? entries[i++] : entries[j++];
    }
    while (i < half) {
        scratch[k++] = entries[i++];
    }
    while (j < n) {
        scratch[k++] = entries[j++];
    }
    memcpy(entries, scratch, (size_t)n * sizeof(Entry));
}

/* A map key converted as the reference converts it: an exact int or str as it is, an int
 * subclass (IntEnum) through int(), a str subclass (StrEnum) through str.__str__, anything else
 * (booleans included) refused.  Returns a new reference. */
static PyObject *
convert_key(PyObject *key)
{
    if (PyLong_CheckExact(key) || PyUnicode_CheckExact(key)) {
        return Py_NewRef(key);
    }
    int is_int = PyObject_IsInstance(key, (PyObject *)&PyLong_Type);
    if (is_int < 0) {
        return NULL;
    }
    int ok = is_int;
    if (!ok) {
        ok = PyObject_IsInstance(key, (PyObject *)&PyUnicode_Type);
        if (ok < 0) {
            return NULL;
        }
    }
    if (ok) {
        int is_bool = PyObject_IsInstance(key, (PyObject *)&PyBool_Type);
        if (is_bool < 0) {
            return NULL;
        }
        ok = !is_bool;
    }
    if (!ok) {
        return refuse("map keys must be integers or text");
    }
    is_int = PyObject_IsInstance(key, (PyObject *)&PyLong_Type);
    if (is_int < 0) {
        return NULL;
    }
    return is_int ? PyNumber_Long(key) : PyObject_CallOneArg(StrStr, key);
}

static int
write_map(Writer *w, PyObject *map, int depth)
{
    Py_ssize_t count = PyDict_GET_SIZE(map);
    if (write_head(w, 5, (uint64_t)count) < 0) {
        return -1;
    }
    Entry stack_entries[2 * STACK_ENTRIES];
    Entry *entries = stack_entries;
    if (count > STACK_ENTRIES) {
        if ((size_t)count > PY_SSIZE_T_MAX / (2 * sizeof(Entry))) {
            PyErr_NoMemory();
            return -1;
        }
        entries = PyMem_Malloc(2 * (size_t)count * sizeof(Entry));
        if (entries == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    int status = -1;
    Py_ssize_t first = w->len, pos = 0, seen = 0;
    PyObject *key, *item;
    while (PyDict_Next(map, &pos, &key, &item)) {
        if (seen == count) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            goto done;
        }
        Py_INCREF(key);
        Py_INCREF(item);
        Entry *entry = &entries[seen];
        entry->start = w->len;
        PyObject *plain = convert_key(key);
        int ok = plain != NULL
            && (PyLong_CheckExact(plain) ? write_int(w, plain) : write_text(w, plain)) == 0;
        Py_XDECREF(plain);
        Py_DECREF(key);
        if (ok) {
            entry->key_end = w->len;
            ok = write_item(w, item, depth + 1) == 0;
            entry->end = w->len;
        }
        Py_DECREF(item);
        if (!ok) {
            goto done;
        }
        seen++;
        if (PyDict_GET_SIZE(map) != count) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            goto done;
        }
    }
    if (seen != count) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
        goto done;
    }
    int duplicate = 0, moved = 0;
    sort_entries(w->data, entries, entries + count, count, &duplicate, &moved);
    for (Py_ssize_t i = 1; i < count && !duplicate; i++) {
        duplicate = compare_keys(w->data, &entries[i - 1], &entries[i]) == 0;
    }
    if (duplicate) {
        refuse("duplicate map keys");
        goto done;
    }
    if (moved) {
        Py_ssize_t size = w->len - first;  /* the entries, written one after the other */
        unsigned char *sorted = PyMem_Malloc((size_t)size);
        if (sorted == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_ssize_t at = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            Py_ssize_t length = entries[i].end - entries[i].start;
            memcpy(sorted + at, w->data + entries[i].start, (size_t)length);
            at += length;
        }
        memcpy(w->data + first, sorted, (size_t)size);
        PyMem_Free(sorted);
    }
    status = 0;
done:
    if (entries != stack_entries) {
        PyMem_Free(entries);
    }
    return status;
}

/* A list or tuple.  A list whose length changes while it is walked (only code run by a
 * non-built-in element can do that) is written as the reference's list comprehension sees it:
 * the head is rewritten for the number of elements actually written. */
static int
write_array(Writer *w, PyObject *sequence, int depth)
{
    int is_list = PyList_CheckExact(sequence);
    Py_ssize_t count = is_list ? PyList_GET_SIZE(sequence) : PyTuple_GET_SIZE(sequence);
    Py_ssize_t head_at = w->len;
    if (write_head(w, 4, (uint64_t)count) < 0) {
        return -1;
    }
    Py_ssize_t head_len = w->len - head_at;
    Py_ssize_t i = 0;
    for (; i < (is_list ? PyList_GET_SIZE(sequence) : count); i++) {
        PyObject *item = is_list ? PyList_GET_ITEM(sequence, i) : PyTuple_GET_ITEM(sequence, i);
        Py_INCREF(item);
        int status = write_item(w, item, depth + 1);
        Py_DECREF(item);
        if (status < 0) {
            return -1;
        }
    }
    if (i != count) {
        unsigned char head[9];
        Py_ssize_t new_len = put_head(head, 4, (uint64_t)i);
        if (new_len > head_len && reserve(w, new_len - head_len) < 0) {
            return -1;
        }
        Py_ssize_t body = w->len - head_at - head_len;
        memmove(w->data + head_at + new_len, w->data + head_at + head_len, (size_t)body);
        memcpy(w->data + head_at, head, (size_t)new_len);
        w->len += new_len - head_len;
    }
    return 0;
}

static int
write_tag(Writer *w, PyObject *tag_object, int depth)
{
    PyObject *tag = PyObject_GetAttrString(tag_object, "tag");
    if (tag == NULL) {
        return -1;
    }
    int allowed = PySequence_Contains(w->tags, tag);
    if (allowed <= 0) {
        if (allowed == 0) {
            refuse_with("CBOR tag %U is not allowed here", tag);
        }
        Py_DECREF(tag);
        return -1;
    }
    unsigned long long number = PyLong_AsUnsignedLongLong(tag);
    Py_DECREF(tag);
    if (number == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    if (write_head(w, 6, (uint64_t)number) < 0) {
        return -1;
    }
    PyObject *content = PyObject_GetAttrString(tag_object, "value");
    if (content == NULL) {
        return -1;
    }
    int status = write_item(w, content, depth + 1);
    Py_DECREF(content);
    return status;
}

/* Values of no exact built-in type: int and str subclasses (IntEnum, StrEnum) become plain ints
 * and strs as the reference converts them; everything else is refused with its type's name. */
static int
write_other(Writer *w, PyObject *value, int depth)
{
    int is_int = PyObject_IsInstance(value, (PyObject *)&PyLong_Type);
    if (is_int < 0) {
        return -1;
    }
    if (is_int) {
        int is_bool = PyObject_IsInstance(value, (PyObject *)&PyBool_Type);
        if (is_bool < 0) {
            return -1;
        }
        if (!is_bool) {
            PyObject *plain = PyNumber_Long(value);
            if (plain == NULL) {
                return -1;
            }
            int status = write_item(w, plain, depth);
            Py_DECREF(plain);
            return status;
        }
    }
    int is_str = PyObject_IsInstance(value, (PyObject *)&PyUnicode_Type);
    if (is_str < 0) {
        return -1;
    }
    if (is_str) {
        PyObject *plain = PyObject_CallOneArg(StrStr, value);
        if (plain == NULL) {
            return -1;
        }
        int status = write_text(w, plain);
        Py_DECREF(plain);
        return status;
    }
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(value), "__name__");
    if (name == NULL) {
        return -1;
    }
    refuse_with("%U values are not part of the CopyMe data model", name);
    Py_DECREF(name);
    return -1;
}

static int
write_item(Writer *w, PyObject *value, int depth)
{
    PyTypeObject *kind = Py_TYPE(value);
    if (depth >= MAX_DEPTH && (kind == &PyDict_Type || kind == &PyList_Type || kind == &PyTuple_Type
                               || (PyObject *)kind == TagType)) {
        return refuse_int("nesting deeper than 8 levels");
    }
    if (kind == &PyLong_Type) {
        return write_int(w, value);
    }
    if (kind == &PyUnicode_Type) {
        return write_text(w, value);
    }
    if (kind == &PyBytes_Type) {
        return write_string(w, 2, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    }
    if (kind == &PyBool_Type || value == Py_None) {
        if (reserve(w, 1) < 0) {
            return -1;
        }
        w->data[w->len++] = value == Py_None ? 0xf6 : value == Py_True ? 0xf5 : 0xf4;
        return 0;
    }
    if (kind == &PyDict_Type) {
        return write_map(w, value, depth);
    }
    if (kind == &PyList_Type || kind == &PyTuple_Type) {
        return write_array(w, value, depth);
    }
    if (kind == &PyByteArray_Type) {
        return write_string(w, 2, PyByteArray_AS_STRING(value), PyByteArray_GET_SIZE(value));
    }
    if (kind == &PyMemoryView_Type) {
        PyObject *copy = PyBytes_FromObject(value);  /* what bytes(value) does */
        if (copy == NULL) {
            return -1;
        }
        int status = write_string(w, 2, PyBytes_AS_STRING(copy), PyBytes_GET_SIZE(copy));
        Py_DECREF(copy);
        return status;
    }
    if ((PyObject *)kind == TagType) {
        return write_tag(w, value, depth);
    }
    return write_other(w, value, depth);
}

PyDoc_STRVAR(encode_doc,
"encode(value: Any, tags: Collection[int]) -> bytes\n\n"
"``value`` in RFC 8949 core deterministic encoding, exactly as protocol.cbor's reference encoder\n"
"writes it (tags allowed: those in ``tags``), or raise ``Invalid`` with the reference's message.");

static PyObject *
encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode(value, tags)");
        return NULL;
    }
    unsigned char stack_buffer[STACK_BUFFER];
    Writer w = {stack_buffer, 0, STACK_BUFFER, 0, args[1]};
    PyObject *result = NULL;
    if (write_item(&w, args[0], 0) == 0) {
        result = PyBytes_FromStringAndSize((const char *)w.data, w.len);
    }
    if (w.on_heap) {
        PyMem_Free(w.data);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"base32", (PyCFunction)base32, METH_O, base32_doc},
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL, decode_doc},
    {"encode", (PyCFunction)(void (*)(void))encode, METH_FASTCALL, encode_doc},
    {"sign1_parts", (PyCFunction)sign1_parts, METH_O, sign1_parts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "protocol._cbor",
    "The strict deterministic-CBOR decoder and encoder of protocol.cbor, in C (an optional accelerator).",
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
    StrStr = PyObject_GetAttrString((PyObject *)&PyUnicode_Type, "__str__");
    if (StrStr == NULL) {
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
