/* Optional C accelerator for pyws: WebSocket masking (RFC 6455 section 5.3).
 *
 * apply_mask(data, mask) -> bytes XORs a bytes-like payload with a 4-byte
 * masking key, 32 or 8 bytes at a time; mask_frame(b0, payload, mask) builds
 * a whole masked frame in one allocation. pyws.buffer_util falls back to its
 * pure Python implementations when this module is missing or
 * PYWS_NO_SPEEDUPS is set; both give the same bytes (test/unit/
 * test_buffer_util.py and test_speedups.py check it).
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

static PyMethodDef speedups_methods[] = {
    {"apply_mask", (PyCFunction)(void (*)(void))apply_mask, METH_FASTCALL,
     "apply_mask(data, mask) -> bytes: XOR data with the 4-byte mask."},
    {"mask_frame", (PyCFunction)(void (*)(void))mask_frame, METH_FASTCALL,
     "mask_frame(b0, payload, mask) -> bytes: a whole masked frame."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "pyws.speedups",
    "Optional C accelerator for pyws (masking, masked frames).",
    -1,
    speedups_methods,
};

PyMODINIT_FUNC
PyInit_speedups(void)
{
    return PyModule_Create(&speedups_module);
}
