"""Runtime probe: measure one iteration on the calling thread and say what it waited on.

`Probe` is a context manager. While it is open it profiles the calling thread only, with
`sys.setprofile` on every version. `sys.monitoring` (3.12+) is not cheaper here: its events
fire for every thread, so the callback must filter by thread, and measured on 200,000 C
calls it cost more (3.12: 48 ms against 36 ms for `setprofile`, 10 ms bare; 3.13: 70 against
49). While open, the probe records:

- the wall time and the thread's CPU time (`time.thread_time`) of the whole iteration;
- for each C-level callable, the wall time spent inside it (exclusive of nested C calls),
  so the blocked time can be attributed ("in `_socket.socket.recv_into`");
- the Python code objects called, for functions users registered.

Blocked time is the smaller of (wall − CPU) and the wall time spent inside C calls, so a
pure-Python iteration that was merely descheduled does not look blocked. If another
profiler is installed the probe leaves it alone and measures only wall and CPU time.
"""
from __future__ import annotations

import sys
import time
import types
from dataclasses import dataclass

from xcs.evidence import registry
from xcs.evidence.names import qualified_name

_perf = time.perf_counter

# A probed iteration that makes more C calls than this stops being profiled (the callback
# costs about a microsecond per call); its blocked share then comes from wall − CPU alone.
MAX_EVENTS = 100_000


@dataclass(frozen=True)
class ProbeResult:
    """What one probed iteration did. Times are in seconds."""

    wall: float
    cpu: float
    blocked: float
    top: str | None              # the C callable the most wall time was spent in
    thread_affine: tuple[str, ...]
    ordered: tuple[str, ...]
    profiled: bool               # False when another profiler was installed

    @property
    def blocked_fraction(self) -> float:
        return self.blocked / self.wall if self.wall > 0 else 0.0


class Probe:
    """Profile the calling thread between `__enter__` and `__exit__`; `result` holds the
    `ProbeResult` after exit (None if summarizing failed). Never raises from inside the
    profiled code, and always removes its profiler, also when the code raises."""

    def __init__(self):
        self.result: ProbeResult | None = None
        self._stack: list = []
        self._exclusive: dict = {}
        self._codes: set = set()
        self._c_wall = 0.0
        self._events = 0
        self._truncated = False

    def __enter__(self) -> "Probe":
        self._profiled = sys.getprofile() is None
        if self._profiled:
            sys.setprofile(self._event)
        self._cpu0 = time.thread_time()
        self._wall0 = _perf()
        return self

    def __exit__(self, *exc) -> None:
        wall = _perf() - self._wall0
        cpu = time.thread_time() - self._cpu0
        if self._profiled and not self._truncated:
            sys.setprofile(None)
        try:
            self.result = self._summarize(wall, cpu)
        except Exception:  # noqa: BLE001 - no result means no decision from this probe
            self.result = None

    def _event(self, frame, event, arg):
        if event == "c_call":
            self._events += 1
            if self._events > MAX_EVENTS:
                self._truncated = True
                sys.setprofile(None)
                return
            self._stack.append([arg, _perf(), 0.0])
        elif event == "c_return" or event == "c_exception":
            if not self._stack:
                return
            fn, start, nested = self._stack.pop()
            spent = _perf() - start
            if self._stack:
                self._stack[-1][2] += spent
            else:
                self._c_wall += spent
            key = _key(fn)
            try:
                self._exclusive[key] = self._exclusive.get(key, 0.0) + spent - nested
            except TypeError:  # an unhashable callable
                pass
        elif event == "call":
            self._codes.add(frame.f_code)

    def _summarize(self, wall: float, cpu: float) -> ProbeResult:
        blocked = max(0.0, wall - cpu)
        if self._profiled and not self._truncated:
            blocked = min(blocked, self._c_wall)
        names = {key: _key_name(key) for key in self._exclusive}
        top = max(self._exclusive, key=self._exclusive.get, default=None)
        affine, ordered = [], []
        for key, name in names.items():
            kind = registry.classify_name(name) if name else None
            if kind == registry.THREAD_AFFINE:
                affine.append(name)
            elif kind == registry.ORDERED:
                ordered.append(name)
        for code in self._codes:
            kind = registry.classify_code(code)
            if kind == registry.THREAD_AFFINE:
                affine.append(code.co_qualname)
            elif kind == registry.ORDERED:
                ordered.append(code.co_qualname)
        return ProbeResult(wall, cpu, blocked, names.get(top) if top is not None else None,
                           tuple(affine), tuple(ordered), self._profiled)


def _key(fn):
    """A stable key for a C callable: bound methods are new objects on every call, so key
    them by (class, name); module functions are stable objects."""
    owner = getattr(fn, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType):
        return fn
    return (type(owner) if not isinstance(owner, type) else owner, getattr(fn, "__name__", "?"))


def _key_name(key) -> str:
    if isinstance(key, tuple):
        cls, name = key
        from xcs.evidence.names import defining_class, type_name

        return f"{type_name(defining_class(cls, name))}.{name}"
    return qualified_name(key)
