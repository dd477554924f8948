"""Auto-mode's mechanism on CPython 3.12+: `sys.monitoring` events, no eval-frame function.

Any PEP 523 eval-frame function makes CPython stop inlining Python-to-Python calls for the
whole program (1.2-1.9x on call-heavy code). `sys.monitoring` costs nothing for code whose
events were answered with `DISABLE`: the instrumentation is removed from that code. So:

- Decisions live where the frame hook keeps its own: in the code object's `co_extra` slot
  (`xcs._hook.decision`/`set_decision`), so deciding allocates no Python object for code
  that keeps running as written (CPython's test_descr counts `gc.get_objects()` around
  a first call) and both mechanisms share one decision per code object.
- `PY_START` (global): the first time a code object starts, decide once. Library and XCS
  code, code without loops and code that keeps its loops sequential get `DISABLE` at once.
  A user function with a parallel variant gets it put in place: `fn.__code__ = variant`
  for the function running it (found from the frame, `xcs._hook.frame_function`), so its
  *next* call runs the variant. The original code keeps its `PY_START`: it fires again only
  when another function object still runs it (a new closure of the same code), which is
  then swapped too.
- `CALL` (global): before a call from Python code, the callee is decided and swapped, so it
  runs its variant from its *first* call. A call site is answered with `DISABLE` unless its
  callee has a variant (new closures may come through it), so each site costs one callback.
  Calls from C (`map(f, xs)`, a thread's `run`) and on 3.12.1 calls with `f(*args)`/`f(**kw)`
  (CPython does not fire `CALL` for them there) reach the variant from the second call.

Swapped functions are kept in a weak-keyed map to their original code (which it keeps
alive: the function no longer does, and the compile cache is keyed weakly by it): when
evidence gives up on a code object (`give_up`) and on `stop()` they get it back. Callbacks
run with events suspended for their thread (CPython's rule for monitoring callbacks), so
XCS's analysis is invisible to tracers and never re-enters itself. A line tracer or
debugger on a thread makes the loop runner run a loop in order on that thread, one body
call per item with the loop's own lines (`xcs/evidence/runner.py`); and a call from Python
code on such a thread runs the function's original code (`_as_written_once`), so the
debugger steps through the loop exactly as written.

Another tool's `sys.monitoring.restart_events()` (coverage.py calls it) re-arms every event
XCS disabled: each code object then costs one more callback, answered from the cache.
"""
from __future__ import annotations

import os
import sys
import threading
import types
import weakref

from xcs import native

CO_OPTIMIZED = 0x1
SUSPENDS = 0x20 | 0x100 | 0x200   # generator, iterable coroutine, async generator (coroutines: xcs.runtime.aio)
# OPTIMIZER_ID first (XCS is one); then the ids no standard tool names. DEBUGGER_ID,
# COVERAGE_ID and PROFILER_ID stay for the tools they are named for.
PREFERRED_TOOL_IDS = (5, 4, 3)
TOOL_NAME = "xcs"


def _decision(code):
    """None (unseen), False (run as written) or the variant code, from `co_extra`."""
    return native.hook().decision(code)


class CodeSet:
    """A set of code objects by *identity*, dropping a member when its code object dies.

    Not a `WeakSet`: code objects compare equal when their bytecode, names and constants
    are (not their file), so a function with the same text in another module would count
    as a member."""

    __slots__ = ("_members",)

    def __init__(self):
        self._members: dict = {}   # id(code) -> weak reference to code

    def __contains__(self, code) -> bool:
        ref = self._members.get(id(code))
        return ref is not None and ref() is code

    def add(self, code) -> None:
        key, members = id(code), self._members

        def forget(dead, key=key, members=members):
            if members.get(key) is dead:
                del members[key]

        members[key] = weakref.ref(code, forget)

    def discard(self, code) -> None:
        if code in self:
            del self._members[id(code)]


class Monitoring:
    """One `sys.monitoring` tool that puts variants in place. `decide(function)` returns the
    variant code for a function (or None) and never raises; `wanted_file(filename)` is the
    cheap first filter (False: library or XCS code, never looked at again)."""

    def __init__(self):
        self.tool: int | None = None
        self._decide = None
        self._wanted_file = None
        # Held only to start, stop and give up, never while deciding (the analysis takes
        # milliseconds, and callbacks run on every thread): a fork() while another thread
        # held it would leave the child waiting forever (CPython's test_threading
        # test_reinit_tls_after_fork forks from 16 threads). A forked child gets a new lock.
        self._lock = threading.RLock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)
        self._variants = CodeSet()   # few: one per parallelized function
        # swapped function -> (its original code, the variant put in its place)
        self._originals: "weakref.WeakKeyDictionary[types.FunctionType, tuple]" = \
            weakref.WeakKeyDictionary()
        self.stats = {"starts": 0, "calls": 0, "decided": 0, "swapped": 0}

    # -- lifecycle ---------------------------------------------------------------------

    def _after_fork(self) -> None:
        self._lock = threading.RLock()

    @property
    def active(self) -> bool:
        return self.tool is not None

    def start(self, decide, wanted_file) -> None:
        """Claim a tool id and turn `PY_START` and `CALL` on (also in code already running,
        such as a script's module body that called `enable()`). Raises RuntimeError when
        every tool id XCS may use is taken."""
        with self._lock:
            self._decide, self._wanted_file = decide, wanted_file
            if self.tool is not None:
                return
            monitoring = sys.monitoring
            for tool in PREFERRED_TOOL_IDS:
                if monitoring.get_tool(tool) is None:
                    monitoring.use_tool_id(tool, TOOL_NAME)
                    break
            else:
                taken = {i: monitoring.get_tool(i) for i in PREFERRED_TOOL_IDS}
                raise RuntimeError(f"sys.monitoring tool ids {taken} are all taken; use xcs.enable(mechanism='frame')")
            self.tool = tool
            events = monitoring.events
            monitoring.register_callback(tool, events.PY_START, self._on_start)
            monitoring.register_callback(tool, events.CALL, self._on_call)
            monitoring.set_events(tool, events.PY_START | events.CALL)

    def stop(self) -> None:
        """Turn the events off, give every swapped function its original `__code__` back and
        free the tool id. Decisions stay cached for the next `start()`."""
        with self._lock:
            tool = self.tool
            if tool is None:
                return
            self.tool = None
            monitoring = sys.monitoring
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, monitoring.events.PY_START, None)
            monitoring.register_callback(tool, monitoring.events.CALL, None)
            monitoring.free_tool_id(tool)
            self._restore(None)
            # DISABLE marks stay on the instructions after the tool id is freed (3.12, 3.13):
            # the next tool to take this id would miss those events. restart_events() clears
            # them for every tool; the others see each re-armed event once more, as the
            # documentation of restart_events() says they may.
            monitoring.restart_events()

    def give_up(self, code) -> None:
        """Evidence found no loop of `code` worth it: its functions run it as written again."""
        if code is None:
            return
        with self._lock:
            variant = _decision(code)
            native.hook().set_decision(code, None)
            self._restore(code)
            if variant:
                self._variants.discard(variant)

    def swapped_functions(self) -> list:
        """Every function whose `__code__` is a variant now (for tests and `explain`)."""
        return list(self._originals.keys())

    # -- the two callbacks (hot: keep the cached paths short) ---------------------------

    def _on_start(self, code, offset):
        self.stats["starts"] += 1
        try:
            decision = _decision(code)
            if decision is None:
                decision = self._first_sight(code, None)
            if not decision:
                return sys.monitoring.DISABLE
            # An unswapped function runs the original code: its next call runs the variant.
            function = native.hook().frame_function(code)
            if function is not None:
                self._swap(function, code, decision)
            return None
        except Exception:  # noqa: BLE001 - a monitoring callback must never break the program
            return sys.monitoring.DISABLE

    def _on_call(self, code, offset, callable_, arg0):
        self.stats["calls"] += 1
        try:
            kind = type(callable_)
            if kind is types.MethodType:
                function = callable_.__func__
            elif isinstance(callable_, type):   # `Cls(...)` runs Cls.__init__ first
                function = getattr(callable_, "__init__", None)
            else:
                function = callable_
            if type(function) is not types.FunctionType:
                return sys.monitoring.DISABLE
            callee = function.__code__
            if callee in self._variants:
                # Already swapped; the site stays armed for new closures of the same code.
                if sys.gettrace() is not None:
                    self._as_written_once(function)
                return None
            decision = _decision(callee)
            if decision is None:
                decision = self._first_sight(callee, function)
            if not decision:
                return sys.monitoring.DISABLE
            if sys.gettrace() is None:
                self._swap(function, callee, decision)
            return None
        except Exception:  # noqa: BLE001
            return sys.monitoring.DISABLE

    # -- deciding and swapping ----------------------------------------------------------

    def _first_sight(self, code, function):
        """Decide `code`: False (run as written), or its variant (then `function`, if given,
        is swapped by the caller). Two threads seeing new code at once may both decide it:
        the compile cache gives both the same variant, and the stores are single
        `co_extra` writes (no lock)."""
        self.stats["decided"] += 1
        decision = None
        hook = native.hook()
        if (self._wanted_file(code.co_filename) and code.co_flags & CO_OPTIMIZED
                and not code.co_flags & SUSPENDS):
            if function is None:
                function = hook.frame_function(code)
            if function is not None and function.__code__ is code:
                decision = self._decide(function)
        if decision is None:
            hook.set_decision(code, None)
            return False
        hook.set_decision(decision, None)   # the variant's own calls run as they are
        self._variants.add(decision)
        hook.set_decision(code, decision)
        return decision

    def _swap(self, function, code, variant) -> None:
        if function.__code__ is not code:
            return
        try:
            function.__code__ = variant
        except (ValueError, TypeError):   # closure size differs: leave the function as written
            return
        self._originals[function] = (code, variant)
        self.stats["swapped"] += 1

    def _as_written_once(self, function) -> None:
        """A thread with a trace function (a debugger, a line tracer) is about to call a swapped
        function: this call runs the original code, so the tracer steps through the loop as
        written. The original's PY_START (kept on for code with a variant) puts the variant
        back for the next call. A call another thread makes in between runs the original
        too: in order, with the same results."""
        entry = self._originals.get(function)
        if entry is not None and function.__code__ is entry[1]:
            function.__code__ = entry[0]

    def _restore(self, code) -> None:
        """Functions swapped from `code` (None: from any code) get it back, unless the program
        gave them another `__code__` meanwhile."""
        for function, (original, variant) in list(self._originals.items()):
            if code is None or original is code:
                del self._originals[function]
                if function.__code__ is variant:
                    function.__code__ = original


def usable() -> str:
    """"" when this mechanism can run here, else why not."""
    if not hasattr(sys, "monitoring"):
        return "sys.monitoring is new in CPython 3.12"
    hook = native.hook_or_none()
    if hook is None or not hasattr(hook, "frame_function"):
        return native._load()[1] or "xcs._hook has no frame_function"
    return ""
