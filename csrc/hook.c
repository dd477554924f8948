/* xcs._hook: a PEP 523 frame-evaluation hook that hands each function to Python once.
 *
 * It knows nothing about loops. For every code object it keeps one decision in co_extra:
 *   unseen  (NULL)   - call the Python callback once with the function about to run;
 *   SKIP             - run as usual (the fast path: one co_extra read and a branch);
 *   a code object    - the function's variant: calls of this function object switch to it.
 * The callback returns a variant code object (same signature, cells and free variables) or
 * None. A function object whose code has a variant gets the variant as its __code__ before
 * the frame runs as usual, so the frame in hand - owned and cleared by CPython as always -
 * runs the original code once, and every later call of that function runs the variant with
 * no hook involvement (its code's decision is SKIP). Frames are never replaced, so frame
 * ownership (3.11 caller-cleared, 3.12+ evaluator-cleared) stays CPython's business.
 *
 * API (module functions; xcs/auto.py is the Python side):
 *   install(callback)  install the hook, calling callback(function) for unseen code
 *   install_bare()     install a hook that only reads co_extra (to measure the floor)
 *   uninstall()        restore the previous evaluator, if the installed one is ours
 *   installed()        "callback", "bare" or None
 *   set_decision(code, variant_or_None)   overwrite a code object's decision
 *   decision(code)     None (unseen), False (skip) or the variant code object
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "pycore_frame.h"
#include "pycore_interp.h"
#include "pycore_pystate.h"

/* Version differences: 3.13 renamed f_code to f_executable; 3.12 renamed f_func to
 * f_funcobj and the co_extra API to PyUnstable_*; 3.12 added PyErr_GetRaisedException. */
#if PY_VERSION_HEX >= 0x030D0000
#  define FRAME_CODE(f) ((f)->f_executable)
#else
#  define FRAME_CODE(f) ((PyObject *)(f)->f_code)
#endif
#if PY_VERSION_HEX >= 0x030C0000
#  define FRAME_FUNC(f) ((PyObject *)(f)->f_funcobj)
#  define GET_EXTRA PyUnstable_Code_GetExtra
#  define SET_EXTRA PyUnstable_Code_SetExtra
#  define REQUEST_INDEX PyUnstable_Eval_RequestCodeExtraIndex
#  define SAVE_ERROR(name) PyObject *name = PyErr_GetRaisedException()
#  define RESTORE_ERROR(name) PyErr_SetRaisedException(name)
#else
#  define FRAME_FUNC(f) ((PyObject *)(f)->f_func)
#  define GET_EXTRA _PyCode_GetExtra
#  define SET_EXTRA _PyCode_SetExtra
#  define REQUEST_INDEX _PyEval_RequestCodeExtraIndex
#  define SAVE_ERROR(name) PyObject *name##_t, *name##_v, *name##_tb; PyErr_Fetch(&name##_t, &name##_v, &name##_tb)
#  define RESTORE_ERROR(name) PyErr_Restore(name##_t, name##_v, name##_tb)
#endif

#define SKIP ((void *)1)
#define CO_SUSPENDS (CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)

static Py_ssize_t extra_index = -1;
static PyObject *callback = NULL;            /* strong reference while installed */
static _PyFrameEvalFunction previous = NULL; /* the evaluator we replaced, if not the default */
static int mode = 0;                         /* 0 none, 1 callback, 2 bare */
static _Thread_local int inside_callback = 0;

static void
free_extra(void *extra)
{
    /* May run at any time, GC included: only drop the reference. */
    if (extra != NULL && extra != SKIP) {
        Py_DECREF((PyObject *)extra);
    }
}

static inline PyObject *
run_as_usual(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (previous != NULL) {
        return previous(tstate, frame, throwflag);
    }
    return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
}

static inline int
is_fresh_function_frame(_PyInterpreterFrame *frame, int throwflag)
{
    return !throwflag && frame->owner == FRAME_OWNED_BY_THREAD && frame->f_locals == NULL
        && frame->frame_obj == NULL && FRAME_FUNC(frame) != NULL
        && PyFunction_Check(FRAME_FUNC(frame));
}

/* Ask Python once about `code`; store and return the decision (SKIP or a new variant ref). */
static void *
decide(PyObject *code, PyObject *func)
{
    SET_EXTRA(code, extra_index, SKIP);   /* re-entry and failure both mean "as usual" */
    if (callback == NULL || (((PyCodeObject *)code)->co_flags & CO_SUSPENDS)) {
        return SKIP;
    }
    SAVE_ERROR(exc);
    inside_callback = 1;
    PyObject *variant = PyObject_CallOneArg(callback, func);
    inside_callback = 0;
    if (variant == NULL) {
        PyErr_Clear();   /* XCS must never break the program: run the original code */
        RESTORE_ERROR(exc);
        return SKIP;
    }
    RESTORE_ERROR(exc);
    if (!PyCode_Check(variant)) {
        Py_DECREF(variant);
        return SKIP;
    }
    if (SET_EXTRA(code, extra_index, variant) < 0) {   /* the extra now owns the reference */
        PyErr_Clear();
        Py_DECREF(variant);
        return SKIP;
    }
    return variant;
}

static PyObject *
xcs_eval(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (!is_fresh_function_frame(frame, throwflag)) {
        return run_as_usual(tstate, frame, throwflag);
    }
    PyObject *code = FRAME_CODE(frame);
    void *extra = NULL;
    if (GET_EXTRA(code, extra_index, &extra) < 0) {
        PyErr_Clear();
        return run_as_usual(tstate, frame, throwflag);
    }
    if (extra == SKIP || (extra == NULL && inside_callback)) {
        return run_as_usual(tstate, frame, throwflag);
    }
    PyObject *func = FRAME_FUNC(frame);
    if (extra == NULL) {
        extra = decide(code, func);
        if (extra == SKIP) {
            return run_as_usual(tstate, frame, throwflag);
        }
        if (((PyFunctionObject *)func)->func_code != (PyObject *)extra) {
            void *variant_extra = NULL;
            if (GET_EXTRA((PyObject *)extra, extra_index, &variant_extra) == 0 && variant_extra == NULL) {
                SET_EXTRA((PyObject *)extra, extra_index, SKIP);
            }
            SAVE_ERROR(exc);
            if (PyObject_SetAttrString(func, "__code__", (PyObject *)extra) < 0) {
                PyErr_Clear();
            }
            RESTORE_ERROR(exc);
        }
        return run_as_usual(tstate, frame, throwflag);
    }
    /* A variant: this function object runs it from its next call on. The callback is asked
     * for each function object (it keeps a list, so disable() can put the original back). */
    PyObject *variant = (PyObject *)extra;
    if (((PyFunctionObject *)func)->func_code != variant && callback != NULL) {
        SAVE_ERROR(exc);
        void *variant_extra = NULL;
        if (GET_EXTRA(variant, extra_index, &variant_extra) == 0 && variant_extra == NULL) {
            SET_EXTRA(variant, extra_index, SKIP);
        }
        inside_callback = 1;
        PyObject *chosen = PyObject_CallOneArg(callback, func);
        inside_callback = 0;
        if (chosen == NULL) {
            PyErr_Clear();
        }
        else {
            if (chosen == variant && PyObject_SetAttrString(func, "__code__", variant) < 0) {
                PyErr_Clear();
            }
            Py_DECREF(chosen);
        }
        RESTORE_ERROR(exc);
    }
    return run_as_usual(tstate, frame, throwflag);
}

static PyObject *
xcs_eval_bare(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    void *extra = NULL;
    if (GET_EXTRA(FRAME_CODE(frame), extra_index, &extra) < 0) {
        PyErr_Clear();
    }
    return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
}

static int
set_evaluator(_PyFrameEvalFunction function, int new_mode)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current != xcs_eval && current != xcs_eval_bare) {
        previous = current == _PyEval_EvalFrameDefault ? NULL : current;
    }
    _PyInterpreterState_SetEvalFrameFunc(interp, function);
    mode = new_mode;
    return 0;
}

static PyObject *
hook_install(PyObject *module, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "install() needs a callable");
        return NULL;
    }
    Py_XSETREF(callback, Py_NewRef(fn));
    set_evaluator(xcs_eval, 1);
    Py_RETURN_NONE;
}

static PyObject *
hook_install_bare(PyObject *module, PyObject *unused)
{
    set_evaluator(xcs_eval_bare, 2);
    Py_RETURN_NONE;
}

static PyObject *
hook_uninstall(PyObject *module, PyObject *unused)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == xcs_eval || current == xcs_eval_bare) {
        _PyInterpreterState_SetEvalFrameFunc(interp, previous != NULL ? previous : _PyEval_EvalFrameDefault);
        previous = NULL;
    }
    mode = 0;
    Py_CLEAR(callback);
    Py_RETURN_NONE;
}

static PyObject *
hook_installed(PyObject *module, PyObject *unused)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == xcs_eval) {
        return PyUnicode_FromString("callback");
    }
    if (current == xcs_eval_bare) {
        return PyUnicode_FromString("bare");
    }
    Py_RETURN_NONE;
}

static PyObject *
hook_set_decision(PyObject *module, PyObject *args)
{
    PyObject *code, *variant;
    if (!PyArg_ParseTuple(args, "O!O", &PyCode_Type, &code, &variant)) {
        return NULL;
    }
    if (variant != Py_None && !PyCode_Check(variant)) {
        PyErr_SetString(PyExc_TypeError, "the decision is a code object or None");
        return NULL;
    }
    /* SetExtra hands the value it replaces to free_extra itself: no release here. */
    void *value = variant == Py_None ? SKIP : (void *)Py_NewRef(variant);
    if (SET_EXTRA(code, extra_index, value) < 0) {
        if (value != SKIP) {
            Py_DECREF(variant);
        }
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
hook_decision(PyObject *module, PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "decision() needs a code object");
        return NULL;
    }
    void *extra = NULL;
    if (GET_EXTRA(code, extra_index, &extra) < 0) {
        return NULL;
    }
    if (extra == NULL) {
        Py_RETURN_NONE;
    }
    if (extra == SKIP) {
        Py_RETURN_FALSE;
    }
    return Py_NewRef((PyObject *)extra);
}

static PyMethodDef hook_methods[] = {
    {"install", hook_install, METH_O, "Install the hook; callback(function) -> variant code or None."},
    {"install_bare", hook_install_bare, METH_NOARGS, "Install a hook that only reads co_extra."},
    {"uninstall", hook_uninstall, METH_NOARGS, "Restore the previous evaluator if ours is installed."},
    {"installed", hook_installed, METH_NOARGS, "'callback', 'bare' or None."},
    {"set_decision", hook_set_decision, METH_VARARGS, "set_decision(code, variant_or_None)."},
    {"decision", hook_decision, METH_O, "None (unseen), False (skip) or the variant code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef hook_module = {
    PyModuleDef_HEAD_INIT, "xcs._hook",
    "PEP 523 frame-evaluation hook for XCS: one decision per code object, kept in co_extra.", -1,
    hook_methods,
};

PyMODINIT_FUNC
PyInit__hook(void)
{
    if (extra_index < 0) {
        extra_index = REQUEST_INDEX(free_extra);
        if (extra_index < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no co_extra index left for XCS");
            return NULL;
        }
    }
    return PyModule_Create(&hook_module);
}
