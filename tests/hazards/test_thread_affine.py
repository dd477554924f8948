"""Hazard class 1: state that belongs to the thread running the code.

A statement moved to a worker thread sees that worker's `threading.local` attributes, its
identity and name, no signal-handling rights (`signal.signal` works only on the main
thread), and no exception being handled (`sys.exc_info()`, a bare `raise`,
`traceback.format_exc()` read the handled exception of the *current thread*). Each test runs
a plain loop and its `xcs.jit` version and compares everything observable (harness.same).
Every iteration blocks first in `slow(x)`, whose delay shrinks with x, so on a thread pool
later items finish first; results carry the thread-dependent value so any move shows.
"""
from __future__ import annotations

import contextvars
import decimal
import faulthandler
import signal
import sys
import threading
import traceback

import pytest

from tests.hazards.harness import same, slow

ITEMS = [0, 1, 2, 3, 4, 5, 6, 7]


@pytest.fixture(autouse=True)
def watchdog():
    """A hang (a worker waiting for something only the main thread gives) ends the run
    with every thread's traceback instead of blocking CI."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def items():
    return (list(ITEMS),)


# ------------------------------------------------------------------ threading.local

state = threading.local()
state.user = "alice"
state.depth = 0


def user_of(x):
    return (x, state.user)


def tagged(x):
    return user_of(slow(x))


def local_in_body(xs):
    out = []
    for x in xs:
        slow(x)
        out.append((x, state.user))
    return out


def local_in_callee(xs):
    out = []
    for x in xs:
        out.append(user_of(slow(x)))
    return out


def local_two_levels(xs):
    out = []
    for x in xs:
        out.append(tagged(x))
    return out


def local_default_via_getattr(xs):
    # The defensive spelling: no AttributeError on a worker, just a different value.
    out = []
    for x in xs:
        slow(x)
        out.append((x, getattr(state, "user", "<none>")))
    return out


class Session:
    """A client keeping a per-thread connection, as many database/HTTP clients do."""

    def __init__(self):
        self.local = threading.local()
        self.local.conn = "conn-main"

    def get(self, x):
        slow(x)
        return (x, getattr(self.local, "conn", "conn-new"))


def local_on_argument(session, xs):
    out = []
    for x in xs:
        out.append(session.get(x))
    return out


def test_local_read_in_body():
    same(local_in_body, items)


def test_local_read_in_callee():
    same(local_in_callee, items)


def test_local_read_two_levels_deep():
    same(local_two_levels, items)


def test_local_read_with_getattr_default():
    same(local_default_via_getattr, items)


def test_local_read_in_method_of_argument():
    same(local_on_argument, lambda: (Session(), list(ITEMS)))


# ------------------------------------------------------------------ thread identity

def ident_of(x):
    return (x, threading.get_ident())


def ident_body(xs):
    out = []
    for x in xs:
        slow(x)
        out.append((x, threading.get_ident()))
    return out


def ident_callee(xs):
    out = []
    for x in xs:
        out.append(ident_of(slow(x)))
    return out


def native_id_body(xs):
    out = []
    for x in xs:
        slow(x)
        out.append((x, threading.get_native_id()))
    return out


def current_thread_body(xs):
    out = []
    for x in xs:
        slow(x)
        out.append((x, threading.current_thread() is threading.main_thread()))
    return out


def thread_name_of(x):
    return f"{x}@{threading.current_thread().name}"


def thread_name_callee(xs):
    out = []
    for x in xs:
        out.append(thread_name_of(slow(x)))
    return out


def thread_name_two_levels(xs):
    out = []
    for x in xs:
        out.append(label(x))
    return out


def label(x):
    return thread_name_of(slow(x)).upper()


def test_get_ident_in_body():
    same(ident_body, items)


def test_get_ident_in_callee():
    same(ident_callee, items)


def test_get_native_id_in_body():
    same(native_id_body, items)


def test_current_thread_in_body():
    same(current_thread_body, items)


def test_current_thread_name_in_callee():
    same(thread_name_callee, items)


def test_current_thread_name_two_levels_deep():
    same(thread_name_two_levels, items)


# ------------------------------------------------------------------ signals (main thread only)

def _handler_for(x):
    def handler(signum, frame):  # never called: SIGUSR1 is not sent
        return x
    handler.x = x
    return handler


HANDLERS = [_handler_for(x) for x in ITEMS]


@pytest.fixture
def restore_signals():
    old_usr1 = signal.getsignal(signal.SIGUSR1)
    old_alrm = signal.getsignal(signal.SIGALRM)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)   # a stray alarm must not kill the run
    yield
    signal.alarm(0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGUSR1, old_usr1)
    signal.signal(signal.SIGALRM, old_alrm)


def reset_usr1():
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)


def signal_in_body(xs):
    previous = []
    for x in xs:
        slow(x)
        old = signal.signal(signal.SIGUSR1, HANDLERS[x])
        previous.append(getattr(old, "x", old))
    return previous


def install(x):
    slow(x)
    old = signal.signal(signal.SIGUSR1, HANDLERS[x])
    return getattr(old, "x", old)


def signal_in_callee(xs):
    previous = []
    for x in xs:
        previous.append(install(x))
    return previous


def install_quietly(x):
    slow(x)
    signal.signal(signal.SIGUSR1, HANDLERS[x])
    return x


def signal_result_unused(xs):
    # The handler installed last wins; the loop's own values do not depend on it.
    done = []
    for x in xs:
        done.append(install_quietly(x))
    return done, signal.getsignal(signal.SIGUSR1).x


def alarm_in_body(xs):
    previous = []
    for x in xs:
        slow(x)
        previous.append(signal.alarm(1000 + x))   # the previous alarm's remaining seconds
    signal.alarm(0)
    return previous


def arm(x):
    slow(x)
    return signal.alarm(1000 + 10 * x)


def alarm_in_callee(xs):
    previous = []
    for x in xs:
        previous.append(arm(x))
    signal.alarm(0)
    return previous


def timer(x):
    slow(x)
    old = signal.setitimer(signal.ITIMER_REAL, 1000.0, x + 1)
    return old[1]                                  # the previous timer's interval: exact


def setitimer_in_callee(xs):
    previous = []
    for x in xs:
        previous.append(timer(x))
    signal.setitimer(signal.ITIMER_REAL, 0)
    return previous


def test_signal_signal_in_body(restore_signals):
    same(signal_in_body, items, setup=reset_usr1)


def test_signal_signal_in_callee(restore_signals):
    same(signal_in_callee, items, setup=reset_usr1)


def test_signal_signal_in_callee_result_unused(restore_signals):
    same(signal_result_unused, items, setup=reset_usr1)


def test_signal_alarm_in_body(restore_signals):
    same(alarm_in_body, items, setup=lambda: signal.alarm(0))


def test_signal_alarm_in_callee(restore_signals):
    same(alarm_in_callee, items, setup=lambda: signal.alarm(0))


def test_signal_setitimer_in_callee(restore_signals):
    same(setitimer_in_callee, items, setup=lambda: signal.setitimer(signal.ITIMER_REAL, 0))


# ------------------------------------------------------------------ the exception being handled

def exc_info_body(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            slow(x)
            out.append((x, repr(sys.exc_info()[1])))
        return out


def current_error(x):
    slow(x)
    return (x, repr(sys.exc_info()[1]))


def exc_info_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(current_error(x))
        return out


def exception_body(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            slow(x)
            out.append((x, repr(sys.exception())))
        return out


def current_exception(x):
    slow(x)
    return (x, repr(sys.exception()))


def exception_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(current_exception(x))
        return out


handled_error = getattr(sys, "exception", None)   # 3.12+: `from sys import exception` spelled as a global


def current_exception_by_alias(x):
    slow(x)
    return (x, repr(handled_error()))


def exception_alias_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(current_exception_by_alias(x))
        return out


def reraise_as(x):
    """The common 'translate the current error' helper: a bare raise inside try."""
    slow(x)
    try:
        raise
    except KeyError as error:
        return (x, f"key {error}")
    except RuntimeError as error:
        return (x, f"runtime {error}")


def bare_raise_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(reraise_as(x))
        return out


def reraise(x):
    slow(x)
    if x == 5:
        raise
    return x


def bare_raise_escapes(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(reraise(x))
        return out


def format_exc_body(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            slow(x)
            out.append((x, traceback.format_exc().splitlines()[-1]))
        return out


def last_line_of_error(x):
    slow(x)
    return (x, traceback.format_exc().splitlines()[-1])


def format_exc_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(last_line_of_error(x))
        return out


def print_exc_body(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            slow(x)
            traceback.print_exc(limit=0)
            out.append(x)
        return out


def report_and_fetch(x):
    traceback.print_exc(limit=0)     # to stderr: "KeyError: 'primary failed'"
    return slow(x)


def print_exc_callee(xs):
    try:
        raise KeyError("primary failed")
    except KeyError:
        out = []
        for x in xs:
            out.append(report_and_fetch(x))
        return out


def test_exc_info_in_body_inside_except():
    same(exc_info_body, items)


def test_exc_info_in_callee_inside_except():
    same(exc_info_callee, items)


needs_sys_exception = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.exception() is new in 3.12")


@needs_sys_exception
def test_sys_exception_in_body_inside_except():
    same(exception_body, items)


@needs_sys_exception
def test_sys_exception_in_callee_inside_except():
    same(exception_callee, items)


@needs_sys_exception
def test_sys_exception_by_alias_in_callee_inside_except():
    same(exception_alias_callee, items)


def test_bare_raise_in_callee_caught_there():
    same(bare_raise_callee, items)


def test_bare_raise_in_callee_escapes_the_loop():
    same(bare_raise_escapes, items)


def test_format_exc_in_body_inside_except():
    same(format_exc_body, items)


def test_format_exc_in_callee_inside_except():
    same(format_exc_callee, items)


def test_print_exc_in_body_inside_except():
    same(print_exc_body, items)


def test_print_exc_in_callee_inside_except():
    same(print_exc_callee, items)


# ------------------------------------------------------------------ more per-thread interpreter state

def profiled_fetch(x):
    return slow(x)


def calls_seen_by_profiler(xs):
    """A profiler (sys.setprofile, as cProfile and coverage tools use) is per thread."""
    seen = []

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "profiled_fetch":
            seen.append(frame.f_locals["x"])

    out = []
    sys.setprofile(profiler)
    try:
        for x in xs:
            out.append(profiled_fetch(x))
    finally:
        sys.setprofile(None)
    return out, seen


def test_setprofile_sees_every_call():
    same(calls_seen_by_profiler, items)


def remember_on_thread(x):
    slow(x)
    state.last = x      # a store into the thread's own slot of a module-level threading.local
    return x


def local_write_in_callee(xs):
    out = []
    for x in xs:
        out.append(remember_on_thread(x))
    return out, getattr(state, "last", None)


def test_local_write_in_callee_then_read_after_loop():
    same(local_write_in_callee, items, setup=lambda: state.__dict__.pop("last", None))


REQUEST_ID = contextvars.ContextVar("request_id", default=None)


def start_request(x):
    slow(x)
    REQUEST_ID.set(x)
    return x


def contextvar_set_in_callee(xs):
    out = []
    for x in xs:
        out.append(start_request(x))
    return out, REQUEST_ID.get()


def test_contextvar_set_in_callee_seen_after_loop():
    same(contextvar_set_in_callee, items, setup=lambda: REQUEST_ID.set(None))


def ratio(x):
    slow(x)
    return str(decimal.Decimal(1) / decimal.Decimal(x + 3))


def decimal_in_callee(xs):
    out = []
    for x in xs:
        out.append(ratio(x))
    return out


def test_decimal_context_of_the_caller_applies_in_callee():
    with decimal.localcontext() as context:
        context.prec = 6
        same(decimal_in_callee, items)
