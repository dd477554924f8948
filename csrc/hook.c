/* xcs._hook: a PEP 523 frame-evaluation hook that hands each function to Python once.
 *
 * It knows nothing about loops. For every code object it keeps one decision in co_extra:
 *   unseen  (NULL)   - call the Python callback once with the function about to run;
 *   SKIP             - run as usual (the fast path: one co_extra read and a branch);
 *   a code object    - the function's variant: every call runs it instead.
 * The callback returns a variant code object (same signature, cells and free variables) or
 * None. For a variant, the hook calls a function made from it with the arguments already
 * bound in the frame, then removes the frame it never ran (3.12+ make that the eval-frame
 * function's job; on 3.11 the caller does it). The function object's __code__ never
 * changes, and a function runs its variant from its first call on.
 *
 * Two safety rules hold for every frame while either evaluator is installed (PEP 523 makes
 * each Python call a C call, which plain CPython 3.11-3.13 avoids by inlining):
 *   - 3.12 charges a hooked Python call two of its C-recursion units; the hook gives one back
 *     around the evaluator call, so recursion reaches the Python limit (~997 by default) as
 *     in plain CPython, and runaway recursion under a raised limit still stops at the C limit.
 *   - a stack guard: each thread's stack bounds are read once (pthread_getattr_np); a new
 *     frame that would start within max(1/8 of the stack, 256 KiB) of its end - at most half
 *     the stack - is refused with RecursionError instead of overflowing the C stack.
 *
 * References: every PyObject * below says who owns it - "strong" (this code must release
 * it), "borrowed" (someone else keeps it alive for as long as it is used here) or "stolen"
 * (handed to a callee that releases it).
 *
 * API (module functions; xcs/native.py is the one Python import site, xcs/_hook.pyi the stub):
 *   API_VERSION        the interface version below; xcs/native.py refuses a build that differs
 *   install(callback)  install the hook, calling callback(function) for unseen code
 *   install_bare()     install a hook that only reads co_extra (to measure the floor)
 *   uninstall()        restore the previous evaluator, if the installed one is ours
 *   installed()        "callback", "bare" or None
 *   set_decision(code, variant_or_None)   overwrite a code object's decision
 *   decision(code)     None (unseen), False (skip) or the variant code object
 *   frame_function(code)  (3.12+) the function object of the nearest frame of the calling
 *                      thread that runs `code` (read from _PyInterpreterFrame.f_funcobj), or None;
 *                      the sys.monitoring mechanism (xcs/api/monitoring.py) asks it in PY_START
 *   stack_guard()      (floor, margin) in bytes of this thread's guard, for the tests
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include "pycore_frame.h"
#include "pycore_interp.h"
#include "pycore_pystate.h"
#if PY_VERSION_HEX >= 0x030D0000
#  include "pycore_ceval.h"   /* _PyEval_FrameClearAndPop, exported since 3.13 */
#endif

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

/* Bump when a function, its arguments or its meaning changes; xcs/native.py checks it. */
#define XCS_HOOK_API_VERSION 2

#define SKIP ((void *)1)
/* Generators run between their consumer's requests: left alone. Coroutines are asked about:
 * calling one only makes its coroutine object, and the variant's call makes the variant's. */
#define CO_SUSPENDS (CO_GENERATOR | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)

static Py_ssize_t extra_index = -1;
static PyObject *callback = NULL;            /* strong: owned by this module while installed */
static _PyFrameEvalFunction previous = NULL; /* the evaluator we replaced, if not the default */
static _Thread_local int inside_callback = 0;

static void
free_extra(void *extra)
{
    /* May run at any time, GC included: only drop the reference. */
    if (extra != NULL && extra != SKIP) {
        Py_DECREF((PyObject *)extra);
    }
}

/* The stack guard. `stack_floor` is the lowest address at which this thread may start a
 * frame: its stack's low end plus the margin. 0 = not read yet, 1 = unknown (no guard). */
#define GUARD_MIN_MARGIN (256 * 1024)
static _Thread_local uintptr_t stack_floor = 0;
static _Thread_local size_t stack_margin = 0;

static void
read_stack_bounds(void)
{
    pthread_attr_t attr;
    void *low = NULL;
    size_t size = 0;
    stack_floor = 1;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return;
    }
    if (pthread_attr_getstack(&attr, &low, &size) == 0 && low != NULL && size > 0) {
        /* max(1/8, 256 KiB), but never more than half: a thread started with
         * threading.stack_size(256 KiB) must still be able to run its first frames
         * (threading's bootstrap is Python code; refusing it would hang Thread.start()). */
        size_t margin = size / 8 > GUARD_MIN_MARGIN ? size / 8 : GUARD_MIN_MARGIN;
        if (margin > size / 2) {
            margin = size / 2;
        }
        stack_margin = margin;
        stack_floor = (uintptr_t)low + margin;   /* the stack grows down on every supported target */
    }
    pthread_attr_destroy(&attr);
}

/* True when a frame started here could overflow the C stack. The Python frames of a hooked
 * call each take C stack (plain CPython runs them inlined in one C frame), so a recursion
 * limit sized for plain CPython can run out of stack first: in a thread with a small stack
 * on every version, and on 3.11 (no C-stack counter at all) under a raised limit. */
static inline int
stack_exhausted(void)
{
    if (stack_floor == 0) {
        read_stack_bounds();
    }
    return (uintptr_t)__builtin_frame_address(0) < stack_floor;
}

static inline PyObject *
run_as_usual(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    PyObject *result;   /* strong (new reference from the evaluator), or NULL with an error */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
    /* 3.12 charges a call that goes through an eval-frame function one C-recursion unit in
     * _PyEval_EvalFrameDefault and one on the way there, where plain CPython charges none
     * (the call is inlined). Giving back one unit makes deep recursion fail at the Python
     * limit as it does plain (depth ~997, not ~748); giving back both would let runaway
     * recursion under a raised limit run past the C limit (measured: a segfault). The stack
     * guard below covers what the units no longer do. */
    tstate->c_recursion_remaining++;
#endif
    if (previous != NULL) {
        result = previous(tstate, frame, throwflag);
    }
    else {
        result = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    }
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
    tstate->c_recursion_remaining--;
#endif
    return result;
}

static inline int
is_fresh_function_frame(_PyInterpreterFrame *frame, int throwflag)
{
    return !throwflag && frame->owner == FRAME_OWNED_BY_THREAD && frame->f_locals == NULL
        && frame->frame_obj == NULL && FRAME_FUNC(frame) != NULL
        && PyFunction_Check(FRAME_FUNC(frame));
}

/* Ask Python once about `code`; store and return the decision (SKIP or a borrowed variant,
 * owned by the code object's extra). The callback runs with tracing, profiling and
 * sys.monitoring suspended for this thread (PyThreadState_EnterTracing): its frames are
 * XCS's, not the program's, and a trace function must neither see nor interrupt them. */
static void *
decide(PyThreadState *tstate, PyObject *code /* borrowed: the frame's */, PyObject *func /* borrowed: the frame's */)
{
    SET_EXTRA(code, extra_index, SKIP);   /* re-entry and failure both mean "as usual" */
    if (callback == NULL || (((PyCodeObject *)code)->co_flags & CO_SUSPENDS)) {
        return SKIP;
    }
    SAVE_ERROR(exc);
    inside_callback = 1;
    PyThreadState_EnterTracing(tstate);
    PyObject *variant = PyObject_CallOneArg(callback, func);   /* strong, or NULL */
    PyThreadState_LeaveTracing(tstate);
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
    void *variant_extra = NULL;
    if (GET_EXTRA(variant, extra_index, &variant_extra) == 0 && variant_extra == NULL) {
        SET_EXTRA(variant, extra_index, SKIP);   /* the variant's own frames run as usual */
    }
    PyErr_Clear();
    if (SET_EXTRA(code, extra_index, variant) < 0) {   /* stolen: the extra now owns `variant` */
        PyErr_Clear();
        Py_DECREF(variant);
        return SKIP;
    }
    return variant;
}

/* Remove a frame the default evaluator never ran (3.12+ leave that to the eval-frame
 * function; on 3.11 the caller, _PyEval_Vector, clears and pops it). The frame is fresh:
 * no frame object, no f_locals, its value stack empty, arguments in localsplus. */
static void
discard_unstarted_frame(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
#if PY_VERSION_HEX >= 0x030D0000
    _PyEval_FrameClearAndPop(tstate, frame);
#elif PY_VERSION_HEX >= 0x030C0000
    /* 3.12 exports neither _PyFrame_ClearExceptCode nor _PyThreadState_PopFrame: this is
     * their body for a fresh thread-owned frame (as torch dynamo's eval_frame.c copies it). */
    for (int i = 0; i < frame->stacktop; i++) {
        Py_XDECREF(frame->localsplus[i]);
    }
    Py_XDECREF(frame->f_locals);
    Py_DECREF(frame->f_funcobj);
    Py_DECREF(frame->f_code);
    PyObject **base = (PyObject **)frame;
    if (base == &tstate->datastack_chunk->data[0]) {
        _PyStackChunk *chunk = tstate->datastack_chunk;
        _PyStackChunk *before = chunk->previous;
        tstate->datastack_top = &before->data[before->top];
        tstate->datastack_chunk = before;
        tstate->datastack_limit = (PyObject **)(((char *)before) + before->size);
        PyObjectArenaAllocator arena;
        PyObject_GetArenaAllocator(&arena);
        arena.free(arena.ctx, chunk, chunk->size);
    }
    else {
        tstate->datastack_top = base;
    }
#else
    (void)tstate;
    (void)frame;
#endif
}

/* Refuse a new thread-owned frame when the C stack is nearly full: RecursionError, and the
 * frame removed as the default evaluator removes one it cannot start. Returns 1 if refused. */
static int
refuse_if_stack_low(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (throwflag || frame->owner != FRAME_OWNED_BY_THREAD || frame->frame_obj != NULL || !stack_exhausted()) {
        return 0;
    }
    PyErr_SetString(PyExc_RecursionError,
                    "maximum recursion depth exceeded (C stack nearly full: XCS's auto-mode hook makes each "
                    "Python call use C stack; xcs.disable() or a larger threading.stack_size() allows deeper)");
    discard_unstarted_frame(tstate, frame);
    return 1;
}

/* Run `variant` in place of the fresh frame: a function made from it (the original's
 * globals, qualified name and closure) is called with the arguments already bound in the
 * frame - positional ones, the *args tuple spread after them, keyword-only ones and the
 * **kwargs dict as keywords (defaults are already applied). The hook runs before the
 * frame's first instruction, so captured arguments are still plain values (MAKE_CELL has
 * not run) and the closure comes from the function object (COPY_FREE_VARS has not run).
 * Returns NULL with no error set if the call could not be prepared: the caller then runs
 * the original frame as usual. */
static PyObject *
call_variant(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *variant, int *prepared)
{
    PyCodeObject *code = (PyCodeObject *)FRAME_CODE(frame);        /* borrowed: the frame's */
    PyFunctionObject *func = (PyFunctionObject *)FRAME_FUNC(frame);  /* borrowed: the frame's */
    PyObject **locals = frame->localsplus;   /* borrowed: the frame owns its argument slots */
    int positional = code->co_argcount, keyword_only = code->co_kwonlyargcount;
    int slot = positional + keyword_only;
    PyObject *varargs = (code->co_flags & CO_VARARGS) ? locals[slot++] : NULL;   /* borrowed */
    PyObject *varkw = (code->co_flags & CO_VARKEYWORDS) ? locals[slot] : NULL;    /* borrowed */
    Py_ssize_t spread = varargs != NULL ? PyTuple_GET_SIZE(varargs) : 0;
    Py_ssize_t extra_kw = varkw != NULL ? PyDict_GET_SIZE(varkw) : 0;
    Py_ssize_t npos = positional + spread, nkw = keyword_only + extra_kw;
    *prepared = 0;

    /* All four strong (released below; `result` is returned to the caller). */
    PyObject *names = NULL, *kwnames = NULL, *function = NULL, *result = NULL;
    /* Holds borrowed references only: the frame's slots, the *args tuple's items and the
     * **kwargs dict's values, all alive until discard_unstarted_frame after the call. */
    PyObject **stack = PyMem_Malloc((1 + npos + nkw) * sizeof(PyObject *));
    if (stack == NULL) {
        goto not_prepared;
    }
    PyObject **args = stack + 1;   /* room for PY_VECTORCALL_ARGUMENTS_OFFSET */
    for (int i = 0; i < positional; i++) {
        args[i] = locals[i];
    }
    for (Py_ssize_t i = 0; i < spread; i++) {
        args[positional + i] = PyTuple_GET_ITEM(varargs, i);
    }
    if (nkw > 0) {
        names = PyCode_GetVarnames(code);
        kwnames = PyTuple_New(nkw);
        if (names == NULL || kwnames == NULL) {
            goto not_prepared;
        }
        for (int i = 0; i < keyword_only; i++) {
            /* SET_ITEM steals the new reference */
            PyTuple_SET_ITEM(kwnames, i, Py_NewRef(PyTuple_GET_ITEM(names, positional + i)));
            args[npos + i] = locals[positional + i];
        }
        Py_ssize_t pos = 0, k = keyword_only;
        PyObject *key, *value;   /* borrowed from the dict */
        while (varkw != NULL && PyDict_Next(varkw, &pos, &key, &value) && k < nkw) {
            PyTuple_SET_ITEM(kwnames, k, Py_NewRef(key));
            args[npos + k] = value;
            k++;
        }
        if (k != nkw) {
            goto not_prepared;
        }
    }
    function = PyFunction_NewWithQualName(variant, func->func_globals, func->func_qualname);
    if (function == NULL || (func->func_closure != NULL && PyFunction_SetClosure(function, func->func_closure) < 0)) {
        goto not_prepared;
    }
    *prepared = 1;
    result = PyObject_Vectorcall(function, args, npos | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    goto done;
not_prepared:
    PyErr_Clear();
done:
    Py_XDECREF(function);
    Py_XDECREF(kwnames);
    Py_XDECREF(names);
    PyMem_Free(stack);
    return result;
}

static PyObject *
xcs_eval(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (refuse_if_stack_low(tstate, frame, throwflag)) {
        return NULL;
    }
    if (!is_fresh_function_frame(frame, throwflag)) {
        return run_as_usual(tstate, frame, throwflag);
    }
    PyObject *code = FRAME_CODE(frame);   /* borrowed: the frame's */
    void *extra = NULL;                    /* borrowed: SKIP, or a variant the extra owns */
    if (GET_EXTRA(code, extra_index, &extra) < 0) {
        PyErr_Clear();
        return run_as_usual(tstate, frame, throwflag);
    }
    if (extra == SKIP || (extra == NULL && inside_callback)) {
        return run_as_usual(tstate, frame, throwflag);
    }
    if (extra == NULL) {
        extra = decide(tstate, code, FRAME_FUNC(frame));
        if (extra == SKIP) {
            return run_as_usual(tstate, frame, throwflag);
        }
    }
    /* A variant: this call runs it instead of the frame in hand - unless a trace function
     * (a debugger, coverage) follows this thread: it must see the loop run line by line. */
    if (tstate->c_tracefunc != NULL || PyErr_Occurred()) {
        return run_as_usual(tstate, frame, throwflag);
    }
    PyObject *variant = Py_NewRef((PyObject *)extra);   /* strong: set_decision may drop the extra's */
    int prepared = 0;
    PyObject *result = call_variant(tstate, frame, variant, &prepared);   /* strong, or NULL */
    Py_DECREF(variant);
    if (!prepared) {
        return run_as_usual(tstate, frame, throwflag);
    }
    discard_unstarted_frame(tstate, frame);
    return result;
}

static PyObject *
xcs_eval_bare(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (refuse_if_stack_low(tstate, frame, throwflag)) {
        return NULL;
    }
    void *extra = NULL;
    if (GET_EXTRA(FRAME_CODE(frame), extra_index, &extra) < 0) {
        PyErr_Clear();
    }
    /* The same guard and recursion accounting as xcs_eval, so the floor it measures is real. */
    return run_as_usual(tstate, frame, throwflag);
}

static int
set_evaluator(_PyFrameEvalFunction function)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current != xcs_eval && current != xcs_eval_bare) {   /* no references: plain C functions */
        previous = current == _PyEval_EvalFrameDefault ? NULL : current;
    }
    _PyInterpreterState_SetEvalFrameFunc(interp, function);
    return 0;
}

static PyObject *
hook_install(PyObject *module, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "install() needs a callable");
        return NULL;
    }
    Py_XSETREF(callback, Py_NewRef(fn));   /* strong, kept until uninstall(); the old one released */
    set_evaluator(xcs_eval);
    Py_RETURN_NONE;
}

static PyObject *
hook_install_bare(PyObject *module, PyObject *unused)
{
    set_evaluator(xcs_eval_bare);
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
    PyObject *code, *variant;   /* borrowed: the caller's arguments */
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
    void *extra = NULL;   /* borrowed: owned by the code object's extra */
    if (GET_EXTRA(code, extra_index, &extra) < 0) {
        return NULL;
    }
    if (extra == NULL) {
        Py_RETURN_NONE;
    }
    if (extra == SKIP) {
        Py_RETURN_FALSE;
    }
    return Py_NewRef((PyObject *)extra);   /* strong, for the caller */
}

#if PY_VERSION_HEX >= 0x030C0000
/* The function object of the nearest frame of this thread that runs `code`, starting from
 * the caller of the current Python function (a sys.monitoring callback is called from C
 * straight above the frame it reports on). C-stack entry frames (3.12+: owner CSTACK) are
 * skipped; at most a few frames are looked at. */
static PyObject *
hook_frame_function(PyObject *module, PyObject *code /* borrowed: the argument */)
{
    PyThreadState *tstate = PyThreadState_Get();
#  if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *frame = tstate->current_frame;            /* borrowed: the thread's */
#  else
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;    /* borrowed: the thread's */
#  endif
    for (int looked = 0; frame != NULL && looked < 8; frame = frame->previous, looked++) {
        if (frame->owner == FRAME_OWNED_BY_CSTACK) {
            continue;
        }
        if (FRAME_CODE(frame) == code && FRAME_FUNC(frame) != NULL && PyFunction_Check(FRAME_FUNC(frame))) {
            return Py_NewRef(FRAME_FUNC(frame));   /* strong, for the caller */
        }
    }
    Py_RETURN_NONE;
}
#endif

static PyObject *
hook_stack_guard(PyObject *module, PyObject *unused)
{
    if (stack_floor == 0) {
        read_stack_bounds();
    }
    return Py_BuildValue("(nn)", (Py_ssize_t)(stack_floor == 1 ? 0 : stack_floor), (Py_ssize_t)stack_margin);
}

static PyMethodDef hook_methods[] = {
    {"install", hook_install, METH_O, "Install the hook; callback(function) -> variant code or None."},
    {"install_bare", hook_install_bare, METH_NOARGS, "Install a hook that only reads co_extra."},
    {"uninstall", hook_uninstall, METH_NOARGS, "Restore the previous evaluator if ours is installed."},
    {"installed", hook_installed, METH_NOARGS, "'callback', 'bare' or None."},
    {"set_decision", hook_set_decision, METH_VARARGS, "set_decision(code, variant_or_None)."},
    {"decision", hook_decision, METH_O, "None (unseen), False (skip) or the variant code."},
#if PY_VERSION_HEX >= 0x030C0000
    {"frame_function", hook_frame_function, METH_O, "The function of the nearest frame running code, or None."},
#endif
    {"stack_guard", hook_stack_guard, METH_NOARGS, "(floor address, margin) of this thread's stack guard."},
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
    PyObject *module = PyModule_Create(&hook_module);   /* strong, returned to the importer */
    if (module != NULL && PyModule_AddIntConstant(module, "API_VERSION", XCS_HOOK_API_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
