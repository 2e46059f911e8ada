/* Optional C accelerator for pyws: masking (RFC 6455 section 5.3) and the
 * receiver's common case.
 *
 * apply_mask(data, mask) -> bytes XORs a bytes-like payload with a 4-byte
 * masking key, 32 or 8 bytes at a time; mask_frame(b0, payload, mask) builds
 * a whole masked frame in one allocation; deliver_frames(...) hands every
 * plain message frame at the front of a buffer to the receiver's
 * on_message (see its comment). pyws.buffer_util falls back to its pure
 * Python implementations when this module is missing or PYWS_NO_SPEEDUPS is
 * set, and pyws.receiver then parses every frame itself; both give the same
 * bytes and the same events (test/unit/test_speedups.py and
 * test_receiver_fast.py check it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Below this size the GIL is kept: releasing it costs more than the XOR. */
#define RELEASE_GIL_ABOVE 65536

/* 32 bytes per step through the compiler's vector extension (GCC, Clang):
 * two SSE2 operations on any x86-64, one AVX2 operation where the CPU has it
 * (picked at load time by target_clones). Elsewhere, 8 bytes per step. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
#define PYWS_VECTOR 1
typedef uint64_t pyws_v4 __attribute__((vector_size(32)));
#endif

#if defined(PYWS_VECTOR) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
__attribute__((target_clones("avx2", "default")))
#endif
#endif
static void
xor_mask(const unsigned char *in, unsigned char *out, Py_ssize_t n,
         const unsigned char *key)
{
    uint32_t k32;
    uint64_t k64;
    Py_ssize_t i = 0;

    memcpy(&k32, key, 4);
    k64 = ((uint64_t)k32 << 32) | k32;
    /* i advances by multiples of 4, so the key stays aligned with i. */
#ifdef PYWS_VECTOR
    {
        pyws_v4 kv = {k64, k64, k64, k64};
        for (; i + 64 <= n; i += 64) {
            pyws_v4 a, b;
            memcpy(&a, in + i, 32);
            memcpy(&b, in + i + 32, 32);
            a ^= kv;
            b ^= kv;
            memcpy(out + i, &a, 32);
            memcpy(out + i + 32, &b, 32);
        }
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, in + i, 8);
        v ^= k64;
        memcpy(out + i, &v, 8);
    }
    for (; i < n; i++) {
        out[i] = in[i] ^ key[i & 3];
    }
}

/* xor_mask, with the GIL released for a big payload. */
static void
xor_mask_released(const unsigned char *in, unsigned char *out, Py_ssize_t n,
                  const unsigned char *key)
{
    if (n > RELEASE_GIL_ABOVE) {
        Py_BEGIN_ALLOW_THREADS
        xor_mask(in, out, n, key);
        Py_END_ALLOW_THREADS
    } else {
        xor_mask(in, out, n, key);
    }
}

/* The payload's and the key's buffers; the key must hold 4 bytes. Returns
 * -1 with an exception set and nothing held, or 0 with both held. */
static int
get_data_and_key(PyObject *data_obj, PyObject *key_obj, Py_buffer *data,
                 Py_buffer *mask)
{
    if (PyObject_GetBuffer(data_obj, data, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (PyObject_GetBuffer(key_obj, mask, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(data);
        return -1;
    }
    if (mask->len != 4) {
        PyBuffer_Release(data);
        PyBuffer_Release(mask);
        PyErr_SetString(PyExc_ValueError, "mask must contain 4 bytes");
        return -1;
    }
    return 0;
}

static PyObject *
apply_mask(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, mask;
    PyObject *result;
    uint32_t key;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "apply_mask expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (get_data_and_key(args[0], args[1], &data, &mask) < 0) {
        return NULL;
    }
    memcpy(&key, mask.buf, 4);
    if (key == 0) {
        /* An all-zero key leaves the data as it is (ws skips the XOR). */
        if (PyBytes_CheckExact(args[0])) {
            Py_INCREF(args[0]);
            result = args[0];
        } else {
            result = PyBytes_FromStringAndSize(data.buf, data.len);
        }
    } else {
        result = PyBytes_FromStringAndSize(NULL, data.len);
        if (result != NULL) {
            xor_mask_released(data.buf,
                              (unsigned char *)PyBytes_AS_STRING(result),
                              data.len, mask.buf);
        }
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&mask);
    return result;
}

/* mask_frame(b0, payload, mask) -> bytes: a whole masked frame (RFC 6455
 * section 5.2): the first byte b0 (FIN, RSV1, opcode), the MASK bit and
 * length, the 4-byte key and the masked payload, in one allocation. */
static PyObject *
mask_frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, mask;
    PyObject *result;
    long b0;
    Py_ssize_t n, h;
    unsigned char *out;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "mask_frame expected 3 arguments, got %zd", nargs);
        return NULL;
    }
    b0 = PyLong_AsLong(args[0]);
    if (b0 == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (b0 < 0 || b0 > 255) {
        PyErr_SetString(PyExc_ValueError, "b0 must be a byte");
        return NULL;
    }
    if (get_data_and_key(args[1], args[2], &data, &mask) < 0) {
        return NULL;
    }
    n = data.len;
    h = n < 126 ? 2 : (n < 65536 ? 4 : 10);
    result = PyBytes_FromStringAndSize(NULL, h + 4 + n);
    if (result != NULL) {
        out = (unsigned char *)PyBytes_AS_STRING(result);
        out[0] = (unsigned char)b0;
        if (n < 126) {
            out[1] = (unsigned char)(0x80 | n);
        } else if (n < 65536) {
            out[1] = 0x80 | 126;
            out[2] = (unsigned char)(n >> 8);
            out[3] = (unsigned char)n;
        } else {
            uint64_t len = (uint64_t)n;
            int i;
            out[1] = 0x80 | 127;
            for (i = 0; i < 8; i++) {
                out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
            }
        }
        memcpy(out + h, mask.buf, 4);
        xor_mask_released(data.buf, out + h + 4, n, mask.buf);
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&mask);
    return result;
}


/* Largest payload length ws accepts: 2^53 - 1. */
#define MAX_FRAME_LENGTH ((((uint64_t)1) << 53) - 1)

/* Whether n bytes are all ASCII, 8 at a time. */
static int
is_ascii(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    uint64_t acc = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < n; i++) {
        acc |= p[i];
    }
    return (acc & 0x8080808080808080ULL) == 0;
}

/* Whether p[0:n] is UTF-8 as Python's strict codec (and RFC 3629) has it:
 * 1 yes, 0 no, -1 with an exception set (out of memory). */
static int
is_utf8(const unsigned char *p, Py_ssize_t n)
{
    PyObject *text;

    if (is_ascii(p, n)) {
        return 1;
    }
    text = PyUnicode_DecodeUTF8((const char *)p, n, "strict");
    if (text != NULL) {
        Py_DECREF(text);
        return 1;
    }
    if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

/* The receiver's attribute `name` is true: 1, 0, or -1 with an exception. */
static int
attr_true(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    int r;

    if (v == NULL) {
        return -1;
    }
    r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static PyObject *str_done, *str_held, *str_binary_type;

/* deliver_frames(buf, pos, is_server, max_payload, check_utf8, on_message,
 * receiver) -> int
 *
 * The common case of pyws.receiver.Receiver._parse, with no Python frame per
 * message: from buf[pos:], every complete frame that is a whole message on
 * its own (FIN set, RSV1-3 clear, opcode text or binary, masked exactly when
 * is_server, no longer than max_payload when max_payload > 0, valid UTF-8
 * when it is text and check_utf8, binary only while receiver.binary_type is
 * not 'fragments') is unmasked into new bytes and passed to
 * on_message(payload, is_binary). It stops at the first frame that is
 * anything else (incomplete, a control frame, a fragment, compressed, or
 * wrong in any way) and returns its offset: the Python parser takes it from
 * there, with every check and error of its own. It also stops, after the
 * message, once receiver.done or receiver._held is true (a listener closed,
 * failed or paused the connection). The caller runs it only when no
 * fragmented message is in progress and synchronous events are allowed. An
 * exception from on_message propagates, as from the Python parser. */
static PyObject *
deliver_frames(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    const unsigned char *p;
    Py_ssize_t n, pos, max_payload;
    int is_server, check_utf8;
    PyObject *on_message, *receiver;

    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError,
                     "deliver_frames expected 7 arguments, got %zd", nargs);
        return NULL;
    }
    pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred()) {
        return NULL;
    }
    is_server = PyObject_IsTrue(args[2]);
    if (is_server < 0) {
        return NULL;
    }
    {
        /* Any value past what a Py_ssize_t holds is no limit at all. */
        int overflow;
        long long limit = PyLong_AsLongLongAndOverflow(args[3], &overflow);
        if (limit == -1 && PyErr_Occurred()) {
            return NULL;
        }
        max_payload = overflow || limit > PY_SSIZE_T_MAX ? 0 : (Py_ssize_t)limit;
    }
    check_utf8 = PyObject_IsTrue(args[4]);
    if (check_utf8 < 0) {
        return NULL;
    }
    on_message = args[5];
    receiver = args[6];
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    p = view.buf;
    n = view.len;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pos out of range");
        return NULL;
    }
    for (;;) {
        unsigned char b0, b1;
        uint64_t length;
        Py_ssize_t start, hlen;
        int masked, binary, r;
        PyObject *payload, *result, *args2[2];

        if (n - pos < 2) {
            break;
        }
        b0 = p[pos];
        b1 = p[pos + 1];
        if ((b0 & 0xF0) != 0x80) {
            break; /* not FIN, or an RSV bit */
        }
        if ((b0 & 0x0F) == 2) {
            binary = 1;
        } else if ((b0 & 0x0F) == 1) {
            binary = 0;
        } else {
            break;
        }
        masked = (b1 & 0x80) != 0;
        if (masked != is_server) {
            break;
        }
        length = b1 & 0x7F;
        hlen = 2;
        if (length == 126) {
            if (n - pos < 4) {
                break;
            }
            length = ((uint64_t)p[pos + 2] << 8) | p[pos + 3];
            hlen = 4;
        } else if (length == 127) {
            int i;
            if (n - pos < 10) {
                break;
            }
            length = 0;
            for (i = 0; i < 8; i++) {
                length = (length << 8) | p[pos + 2 + i];
            }
            if (length > MAX_FRAME_LENGTH) {
                break;
            }
            hlen = 10;
        }
        if (max_payload > 0 && length > (uint64_t)max_payload) {
            break;
        }
        start = pos + hlen + (masked ? 4 : 0);
        if (length > (uint64_t)(n - start) || start > n) {
            break; /* incomplete */
        }
        if (binary) {
            PyObject *kind = PyObject_GetAttr(receiver, str_binary_type);
            if (kind == NULL) {
                goto error;
            }
            r = PyUnicode_Check(kind) &&
                PyUnicode_CompareWithASCIIString(kind, "fragments") == 0;
            Py_DECREF(kind);
            if (r) {
                break;
            }
        }
        if (masked) {
            payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
            if (payload == NULL) {
                goto error;
            }
            xor_mask_released(p + start,
                              (unsigned char *)PyBytes_AS_STRING(payload),
                              (Py_ssize_t)length, p + start - 4);
        } else {
            payload = PyBytes_FromStringAndSize((const char *)p + start,
                                                (Py_ssize_t)length);
            if (payload == NULL) {
                goto error;
            }
        }
        if (!binary && check_utf8) {
            r = is_utf8((const unsigned char *)PyBytes_AS_STRING(payload),
                        (Py_ssize_t)length);
            if (r <= 0) {
                Py_DECREF(payload);
                if (r < 0) {
                    goto error;
                }
                break; /* the Python parser fails the connection */
            }
        }
        pos = start + (Py_ssize_t)length;
        args2[0] = payload;
        args2[1] = binary ? Py_True : Py_False;
        result = PyObject_Vectorcall(on_message, args2, 2, NULL);
        Py_DECREF(payload);
        if (result == NULL) {
            goto error;
        }
        Py_DECREF(result);
        r = attr_true(receiver, str_done);
        if (r == 0) {
            r = attr_true(receiver, str_held);
        }
        if (r < 0) {
            goto error;
        }
        if (r) {
            break;
        }
    }
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(pos);
error:
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef speedups_methods[] = {
    {"apply_mask", (PyCFunction)(void (*)(void))apply_mask, METH_FASTCALL,
     "apply_mask(data, mask) -> bytes: XOR data with the 4-byte mask."},
    {"mask_frame", (PyCFunction)(void (*)(void))mask_frame, METH_FASTCALL,
     "mask_frame(b0, payload, mask) -> bytes: a whole masked frame."},
    {"deliver_frames", (PyCFunction)(void (*)(void))deliver_frames,
     METH_FASTCALL,
     "deliver_frames(buf, pos, is_server, max_payload, check_utf8, "
     "on_message, receiver) -> int: pass each plain message frame at "
     "buf[pos:] to on_message; the offset of the first other frame."},
    {NULL, NULL, 0, NULL},
};

/* The attribute names deliver_frames looks up, interned once by the first
 * module exec and never released: every later exec (a reload, a
 * subinterpreter) and every call only reads them. Python runs an import
 * under the module's import lock, so two threads never fill them at once,
 * even without a GIL. */
static int
speedups_exec(PyObject *module)
{
    (void)module;
    if (str_done == NULL) {
        str_done = PyUnicode_InternFromString("done");
        if (str_done == NULL) {
            return -1;
        }
    }
    if (str_held == NULL) {
        str_held = PyUnicode_InternFromString("_held");
        if (str_held == NULL) {
            return -1;
        }
    }
    if (str_binary_type == NULL) {
        str_binary_type = PyUnicode_InternFromString("binary_type");
        if (str_binary_type == NULL) {
            return -1;
        }
    }
    return 0;
}

/* Multi-phase init (PEP 489). The functions keep no state of their own: the
 * three strings above are read-only after the first exec, every call works
 * on its arguments and its own locals, and a payload's buffer is held
 * (PyObject_GetBuffer) while it is read. So a free-threaded CPython
 * (3.13t and later) may run them without the GIL (Py_mod_gil), and
 * subinterpreters that share the main GIL may import the module; one with a
 * GIL of its own may not (the strings belong to the first interpreter), and
 * pyws then runs on its pure Python fallback. */
static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, (void *)speedups_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "pyws.speedups",
    "Optional C accelerator for pyws (masking, masked frames, plain "
    "message frames).",
    0,
    speedups_methods,
    speedups_slots,
};

PyMODINIT_FUNC
PyInit_speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
