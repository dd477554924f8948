"""Hazard: callees in the loop that look at their caller's frame.

A callee in the map part runs on a worker thread, called from the loop-body code object XCS
built, not from the user's function frame. What it sees through `sys._getframe`, `inspect`
and `traceback` must still be what the plain loop shows, or be a difference the README
documents. Each loop also does I/O (`slow(i)`) so it is worth running in parallel.
"""
from __future__ import annotations

import inspect
import sys
import threading
import traceback
import warnings

import pytest

import xcs
from tests.hazards.harness import observe, slow

ITEMS = list(range(6))


def same(fn, make_args, setup=None):
    """`harness.same`, after one call of the jitted function: the README documents that the
    first call runs through one extra frame, which every test here would see."""
    if setup:
        setup()
    expected = observe(fn, make_args)
    jitted = xcs.jit(fn, parallel=True)
    if setup:
        setup()
    jitted(*make_args())
    for n in range(2):
        if setup:
            setup()
        got = observe(jitted, make_args)
        for key in expected:
            assert got[key] == expected[key], (
                f"run {n + 2}: {key} differs\nplain: {expected[key]!r}\njit:   {got[key]!r}\n"
                + "\n".join(map(str, xcs.explain(jitted))))


def caller_locals(i):
    slow(i)
    f_locals = sys._getframe(1).f_locals
    return sorted(k for k in f_locals if not k.startswith(".")), f_locals.get("i")


def with_caller_locals(items):
    out = []
    total = 0
    for i in items:
        out.append(caller_locals(i))
        total += i
    return out, total


def test_getframe_caller_locals():
    same(with_caller_locals, lambda: (ITEMS,))


def caller_list_length(i):
    slow(i)
    return len(sys._getframe(1).f_locals["out"])


def with_caller_list(items):
    out = []
    for i in items:
        out.append(caller_list_length(i))
    return out


def test_getframe_reads_caller_list_through_f_locals():
    same(with_caller_list, lambda: (ITEMS,))


def caller_name(i):
    slow(i)
    frame = sys._getframe(1)
    return frame.f_code.co_name, frame.f_lineno, frame.f_globals is globals()


def with_caller_name(items):
    out = []
    for i in items:
        out.append(caller_name(i))
    return out


def test_getframe_caller_code_name_and_line():
    same(with_caller_name, lambda: (ITEMS,))


def stack_function(i):
    slow(i)
    record = inspect.stack()[1]
    return record.function, record.lineno, record.code_context


def with_inspect_stack(items):
    out = []
    for i in items:
        out.append(stack_function(i))
    return out


def test_inspect_stack_caller():
    same(with_inspect_stack, lambda: (ITEMS,))


def back_chain(i):
    slow(i)
    frame = inspect.currentframe().f_back
    names = []
    while frame is not None and len(names) < 3:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def with_back_chain(items):
    out = []
    for i in items:
        out.append(back_chain(i))
    return out


def test_currentframe_f_back_chain():
    # the plain chain: back_chain's caller, its caller (harness.observe), observe's caller
    same(with_back_chain, lambda: (ITEMS,))


def back_one(i):
    slow(i)
    back = inspect.currentframe().f_back
    return back.f_code.co_name, back.f_code.co_filename == __file__


def with_back_one(items):
    out = []
    for i in items:
        out.append(back_one(i))
    return out


def test_currentframe_f_back():
    same(with_back_one, lambda: (ITEMS,))


def stack_here(i):
    slow(i)
    return [(f.name, f.lineno, f.line) for f in traceback.extract_stack()[:-1]
            if f.filename == __file__]


def with_extract_stack(items):
    out = []
    for i in items:
        out.append(stack_here(i))
    return out


def test_extract_stack_user_frames():
    # The stack holds the callers' lines too, so plain and jitted are called from one line
    # (`harness.same` calls them from two): what must match is every frame of this file.
    jitted = xcs.jit(with_extract_stack, parallel=True)
    jitted(ITEMS)  # the first call may run through one extra frame (README)
    seen = []
    for fn in (with_extract_stack, jitted, jitted):
        seen.append(fn(ITEMS))
    assert [len(stack) for stack in seen[0]] == [2] * len(ITEMS)   # this test's line, the loop's line
    assert seen[1] == seen[0] and seen[2] == seen[0]


def called_from(i):
    slow(i)
    entry = traceback.extract_stack(limit=2)[0]
    return entry.name, entry.lineno, entry.line


def with_called_from(items):
    out = []
    for i in items:
        out.append(called_from(i))
    return out


def test_extract_stack_limit_2_names_the_caller():
    same(with_called_from, lambda: (ITEMS,))


def stack_depth(i):
    slow(i)
    return len(inspect.stack(0)) - len(ANCHOR_DEPTH)


ANCHOR_DEPTH: list = []


def with_stack_depth(items):
    out = []
    for i in items:
        out.append(stack_depth(i))
    return out


def test_stack_depth_seen_by_callee():
    def record_anchor():
        ANCHOR_DEPTH[:] = inspect.stack(0)
        return ITEMS,
    same(with_stack_depth, record_anchor)


def deprecated_helper(i):
    slow(i)
    warnings.warn(f"helper {i} is deprecated", DeprecationWarning, stacklevel=2)
    return i


def with_warning(items):
    out = []
    for i in items:
        out.append(deprecated_helper(i))
    return out


def test_warning_with_stacklevel_2_names_the_callers_line():
    def warned(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(ITEMS)
        return [(w.filename, w.lineno, str(w.message)) for w in caught]

    expected = warned(with_warning)
    assert len(expected) == len(ITEMS)
    jitted = xcs.jit(with_warning, parallel=True)
    warned(jitted)  # the first call may run through one extra frame (README)
    for _ in range(2):
        assert warned(jitted) == expected


def post_mortem_locals(fn, *args):
    try:
        fn(*args)
    except ValueError as error:
        tb = error.__traceback__
        seen = []
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename == __file__ and frame.f_code.co_name != "post_mortem_locals":
                seen.append((frame.f_code.co_name, sorted(frame.f_locals)))
            tb = tb.tb_next
        return seen
    raise AssertionError("did not raise")


def failing(i):
    slow(i)
    if i == 3:
        raise ValueError(i)
    return i


def loop_that_fails(items):
    out = []
    done = 0
    for i in items:
        out.append(failing(i))
        done += 1
    return out


def test_traceback_frames_keep_the_loop_functions_locals():
    """What a post-mortem debugger (pdb.pm, pytest's --showlocals) shows of the loop's frame."""
    expected = post_mortem_locals(loop_that_fails, ITEMS)
    jitted = xcs.jit(loop_that_fails, parallel=True)
    post_mortem_locals(jitted, ITEMS)
    for _ in range(2):
        assert post_mortem_locals(jitted, ITEMS) == expected


# --- thread identity, which the plain loop's callees see as the caller's thread ---------------

_local = threading.local()
SESSIONS: list = []


def reset_sessions():
    SESSIONS.clear()
    _local.__dict__.clear()


def session():
    if not hasattr(_local, "session"):
        _local.session = f"session {len(SESSIONS)}"
        SESSIONS.append(_local.session)
    return _local.session


def get_with_session(i):
    slow(i)
    return session()


def with_sessions(items):
    out = []
    for i in items:
        out.append(get_with_session(i))
    return out, list(SESSIONS)


def test_thread_local_session_created_once():
    same(with_sessions, lambda: (ITEMS,), setup=reset_sessions)


def thread_name(i):
    slow(i)
    return threading.current_thread().name


def with_thread_name(items):
    out = []
    for i in items:
        out.append(thread_name(i))
    return out


def test_callee_sees_the_callers_thread():
    same(with_thread_name, lambda: (ITEMS,))
