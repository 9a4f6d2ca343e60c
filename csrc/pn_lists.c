/*
 * pn_lists.c: the CPython extension plainnet._pn_lists, which moves Python
 * lists of numbers into the C core and its results back out, at C speed.
 *
 * Why it exists: cffi, which builds the C core's Python module (plainnet._pn_c),
 * converts C values, not Python objects.  So a Python list reaches the core
 * through Python-level checks (is each value a float, not a bool, finite?) and
 * packing, which cost about 35 ns per value: for one row of 64 inputs that is
 * three times what the C core then spends on it.  Here the same checks are one
 * C loop over the list.
 *
 * Like markupsafe's speedups, this is only a shortcut for the common case: it
 * accepts a list or tuple of exact Python floats and ints, all finite, and
 * returns None for anything else, and the caller then takes its checked path,
 * which converts what it can and raises the error that names the bad value.
 * So every input gives the same result, or the same exception, with or
 * without this module.  It is built for CPython only (on PyPy, cffi is the
 * fast way in) and compiled with the same core source and flags as
 * plainnet._pn_c, so its results are the same bits.
 *
 *   forward(net, x)        the outputs (a list of floats) of one row x, or None
 *   pack_rows(data, width) a bytearray of float64 rows, or None
 *
 * `net` is the writable buffer that holds a network (plainnet._c_backend's
 * memory); pn_net_check makes sure it is one before it is used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>

#include "plainnet.h"

/* Doubles of input, output and scratch that forward keeps on the stack; a
 * bigger network allocates. */
#define STACK_DOUBLES 1024
/* forward releases the GIL for networks with at least this many parameters
 * (about 5 us of work); below that, releasing it costs more than it frees. */
#define RELEASE_GIL_PARAMS 8192

/* *out = v if v is an exact float or int with a finite double value; returns
 * 0 for anything else (bool, str, numpy scalars, NaN, huge ints), which the
 * caller's checked path handles. */
static int exact_number(PyObject *v, double *out)
{
    double d;
    if (PyFloat_CheckExact(v)) {
        d = PyFloat_AS_DOUBLE(v);
    } else if (PyLong_CheckExact(v)) {
        d = PyLong_AsDouble(v); /* rounds as float(v) does */
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear(); /* OverflowError: the checked path words it */
            return 0;
        }
    } else {
        return 0;
    }
    if (!isfinite(d)) return 0;
    *out = d;
    return 1;
}

/* Copy a list or tuple of exactly `width` numbers into out; 0 if it is not one. */
static int read_row(PyObject *row, size_t width, double *out)
{
    PyObject **items;
    size_t i;
    if (!PyList_CheckExact(row) && !PyTuple_CheckExact(row)) return 0;
    if ((size_t)PySequence_Fast_GET_SIZE(row) != width) return 0;
    items = PySequence_Fast_ITEMS(row);
    for (i = 0; i < width; i++)
        if (!exact_number(items[i], &out[i])) return 0;
    return 1;
}

static int core_error(int rc)
{
    PyErr_Format(rc == PN_ESTATE ? PyExc_RuntimeError : PyExc_ValueError,
                 "plainnet C core: %s", pn_strerror(rc));
    return -1;
}

static PyObject *forward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    const pn_net *net;
    double stack[STACK_DOUBLES], *block = stack, *x, *y, *scratch;
    size_t n_in, n_out, scratch_len, need;
    PyObject *result = NULL;
    int rc;
    (void)module;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "forward(net, x) takes 2 arguments");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_WRITABLE) < 0) return NULL;
    rc = pn_net_check(view.buf, (size_t)view.len);
    if (rc != PN_OK) {
        PyErr_Format(PyExc_ValueError, "forward: net is not a plainnet network (%s)",
                     pn_strerror(rc));
        goto done;
    }
    net = (const pn_net *)view.buf;
    n_in = pn_n_inputs(net);
    n_out = pn_n_outputs(net);
    scratch_len = pn_scratch_len(net);
    need = n_in + n_out + scratch_len; /* no overflow: all three fit in the block */
    if (need > STACK_DOUBLES) {
        block = PyMem_Malloc(need * sizeof(double));
        if (block == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    x = block;
    y = x + n_in;
    scratch = y + n_out;
    if (!read_row(args[1], n_in, x)) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    if (pn_n_params(net) >= RELEASE_GIL_PARAMS) {
        Py_BEGIN_ALLOW_THREADS
        rc = pn_forward(net, x, n_in, y, n_out, scratch, scratch_len);
        Py_END_ALLOW_THREADS
    } else {
        rc = pn_forward(net, x, n_in, y, n_out, scratch, scratch_len);
    }
    if (rc != PN_OK) {
        core_error(rc);
        goto done;
    }
    result = PyList_New((Py_ssize_t)n_out);
    if (result != NULL) {
        size_t j;
        for (j = 0; j < n_out; j++) {
            PyObject *v = PyFloat_FromDouble(y[j]);
            if (v == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, (Py_ssize_t)j, v);
        }
    }
done:
    if (block != stack) PyMem_Free(block);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *pack_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *data, *out, **rows;
    Py_ssize_t width;
    size_t n, r, values;
    double *flat;
    (void)module;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pack_rows(data, width) takes 2 arguments");
        return NULL;
    }
    data = args[0];
    width = PyLong_AsSsize_t(args[1]);
    if (width == -1 && PyErr_Occurred()) return NULL;
    if (width <= 0) {
        PyErr_SetString(PyExc_ValueError, "pack_rows: width must be positive");
        return NULL;
    }
    if (!PyList_CheckExact(data) && !PyTuple_CheckExact(data)) Py_RETURN_NONE;
    n = (size_t)PySequence_Fast_GET_SIZE(data);
    if (n == 0) Py_RETURN_NONE;
    if (n > (size_t)PY_SSIZE_T_MAX / sizeof(double) / (size_t)width) return PyErr_NoMemory();
    values = n * (size_t)width;
    out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(values * sizeof(double)));
    if (out == NULL) return NULL;
    flat = (double *)(void *)PyByteArray_AS_STRING(out);
    rows = PySequence_Fast_ITEMS(data);
    for (r = 0; r < n; r++) {
        if (!read_row(rows[r], (size_t)width, flat + r * (size_t)width)) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"forward", (PyCFunction)(void (*)(void))forward, METH_FASTCALL,
     "forward(net, x): the outputs of one row x (a list or tuple of finite\n"
     "floats and ints) as a list of floats, or None to take the checked path."},
    {"pack_rows", (PyCFunction)(void (*)(void))pack_rows, METH_FASTCALL,
     "pack_rows(data, width): a list of rows, each a list or tuple of `width`\n"
     "finite floats and ints, as a bytearray of float64 values row after row;\n"
     "None to take the checked path."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "plainnet._pn_lists",
    "Python lists into plainnet's C core and back, at C speed (CPython only).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pn_lists(void)
{
    return PyModule_Create(&module_def);
}
