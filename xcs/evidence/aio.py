"""`AsyncLoopRunner`: the runner of a loop in a coroutine (`async def`).

It is called where the loop took `iter(...)` and returns the steps the variant awaits one by
one (`xcs.runtime.aio`): a `TaskWindow` (iterations as tasks, at most `max_workers` in
flight) or `InlineSteps` (each iteration awaited by the caller, as written). Which one is
decided as for threads (`LoopRunner`): `parallel=False` never, `True` whenever safe, `"auto"`
by evidence — a known waiting call in the body (`asyncio.sleep`, `httpx.AsyncClient`,
`openai.AsyncOpenAI`, `aiohttp`, `asyncio.open_connection`, `asyncio.create_subprocess_exec`:
the registry's blocking entries), else a probe of the first iteration: awaited by the
caller, it is parallel-worthy when most of its time was spent suspended (waiting), not
running. The same checks apply at each loop start (`precheck`, `iterable_check`, per item
`item_check`); a loop not running on asyncio (trio, curio) stays in order.
"""
from __future__ import annotations

import time
from dataclasses import replace

from xcs import config
from xcs.evidence.decision import Decision, Grounds, from_probe, from_static
from xcs.evidence.probe import ProbeResult
from xcs.evidence.runner import _NOT_SCANNED, LoopRunner, _checked, _guarded
from xcs.evidence.static import scan_body
from xcs.runtime import aio, apull

_perf = time.perf_counter


class AsyncLoopRunner(LoopRunner):
    """`LoopRunner` for a coroutine's loop; `abort` is what the variant awaits when the loop
    ends by an exception (see `xcs.runtime.aio.abort`)."""

    __slots__ = ()
    abort = staticmethod(aio.abort)

    def __call__(self, iterable, body, args=(), watched=()):
        """The steps of the loop over `iterable` (see the module docstring). `iter()` is
        called once, here, as the `for` statement would. `watched`: as for `LoopRunner`."""
        it = iter(iterable)
        if self.policy is False:
            return aio.InlineSteps(body, it, args)
        problem = aio.loop_problem()
        if problem is None:
            problem = _checked(self.precheck, body, args, watched)
        if problem is None:
            problem = _checked(self.iterable_check, it, body)
            if callable(problem):
                problem = "items of the iterable may be views of what the loop changes"
        if problem is not None:
            self.inline_reason = problem
            return aio.InlineSteps(body, it, args)
        self.inline_reason = None
        decision = self.decision
        if decision is None:
            decision = self._static_decision(body, args)
            if self.policy is True and (decision is None or decision.parallel):
                decision = Decision(True, Grounds.ASSERTED, "policy")
            if decision is not None:
                decision = self._decide(decision)
        if decision is None:
            return self._probing(body, it, args)
        if decision.parallel:
            return self._window(body, it, args)
        return aio.InlineSteps(body, it, args)

    def pull_async(self, source, body, args=(), watched=()):
        """The async steps of an `async for` over `source` (`xcs.runtime.apull`): tasks when
        the loop may run ahead, else pulled and awaited one by one. `aiter()` is called once,
        here, as the statement would. Pulling ahead needs a source nobody else observes: an
        async generator whose code the effect scan proves does nothing others see (no
        output, no shared state), that reads nothing the body uses; any other async iterator
        is pulled one item at a time."""
        it = apull.aiter_of(source)
        if self.policy is False:
            return apull.AsyncInlineSteps(body, it, args)
        problem = aio.loop_problem()
        if problem is None:
            problem = _checked(self.precheck, body, args, watched)
        produced = None
        if problem is None:
            problem = _receiver_shared(it, (*args, *watched))
        if problem is None:
            problem = _checked(self.iterable_check, it, body)
            if callable(problem):
                produced, problem = problem, None
        if problem is not None:
            self.inline_reason = problem
            return apull.AsyncInlineSteps(body, it, args)
        self.inline_reason = None
        decision = self.decision
        if decision is None:
            decision = self._static_decision(body, args)
            if self.policy is True and (decision is None or decision.parallel):
                decision = Decision(True, "parallel=True: the caller asserts it pays", "policy")
            if decision is not None:
                decision = self._decide(decision)
        if decision is None:
            return self._async_probing(body, it, args, produced)
        if decision.parallel:
            return self._async_window(body, it, args, produced)
        return apull.AsyncInlineSteps(body, it, args)

    def _async_window(self, body, it, args, produced=None):
        limit = self.max_workers or config.settings().max_workers
        check = self._item_check()
        if produced is not None:
            def both(item, own=check):
                reason = _checked(produced, item)
                if reason is not None:
                    self.inline_reason = f"in order from one item on: {reason}"
                    return reason
                return own(item) if own is not None else None
            check = both
        return apull.AsyncTaskWindow(body, it, args, limit, check=check)

    def _async_probing(self, body, it, args, produced=None):
        """The first iteration awaited in order and timed; the rest as it decides."""
        runner = self
        steps = _AsyncProbing()

        async def timed(step):
            wall0, cpu0 = _perf(), time.thread_time()
            result = await step
            wall, cpu = _perf() - wall0, time.thread_time() - cpu0
            if result[0] is None and result[2] is None:
                probe = ProbeResult(wall, cpu, max(0.0, wall - cpu), None, (), (), False)
                decided = runner._decide(_guarded(from_probe, probe))
                if decided.parallel:
                    steps.then = runner._async_window(body, it, args, produced)
            return result

        steps.first = apull.AsyncInlineSteps(body, it, args, wrap=timed)
        return steps

    def _static_decision(self, body, args):
        # Thread-affine objects (an event loop's methods, an sqlite3 connection) are used by
        # the iterations' tasks on the calling thread: they do not keep a coroutine's loop
        # in order.
        if self._static is _NOT_SCANNED:
            self._static = _guarded(lambda: from_static(replace(scan_body(body, args), thread_affine=())))
        return self._static

    def _window(self, body, it, args):
        limit = self.max_workers or config.settings().max_workers
        return aio.TaskWindow(body, it, args, limit, check=self._item_check())

    def _item_check(self):
        check = self.item_check
        if check is None:
            return None

        def checked(item):
            reason = _checked(check, item)
            if reason is not None:
                self.inline_reason = f"in order from one item on: {reason}"
            return reason
        return checked

    def _probing(self, body, it, args):
        """The first iteration awaited in order and timed; the rest as it decides."""
        runner = self
        steps = _Probing()

        async def timed(step):
            wall0, cpu0 = _perf(), time.thread_time()
            result = await step
            wall, cpu = _perf() - wall0, time.thread_time() - cpu0
            if result[0] is None and result[2] is None:
                probe = ProbeResult(wall, cpu, max(0.0, wall - cpu), None, (), (), False)
                decided = runner._decide(_guarded(from_probe, probe))
                if decided.parallel:
                    steps.then = runner._window(body, it, args)
            return result

        steps.first = aio.InlineSteps(body, it, args, wrap=timed)
        return steps


class _Probing:
    """Steps of a loop being probed: the first from `first` (timed), then from `then` if the
    probe chose tasks, else on from `first` in order."""

    __slots__ = ("first", "then", "_started")

    def __init__(self):
        self.first = None
        self.then = None
        self._started = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._started and self.then is not None:
            return next(self.then)
        self._started = True
        return next(self.first)

    def cancel(self) -> list:
        return self.then.cancel() if self.then is not None else []


def _receiver_shared(it, args) -> str | None:
    """Why an async generator method must not run ahead: its object (`self`, its first
    argument) is one the loop body also uses, which the body's calls may change between pulls
    (`async for x in source.lines(): await source.ack(x)`). None otherwise."""
    frame = getattr(it, "ag_frame", None)
    code = getattr(it, "ag_code", None)
    if frame is None or code is None or code.co_argcount < 1:
        return None
    first = code.co_varnames[0]
    receiver = frame.f_locals.get(first)
    if receiver is None or isinstance(receiver, (int, float, str, bytes, tuple, frozenset, type)):
        return None
    method = getattr(getattr(type(receiver), code.co_name, None), "__code__", None)
    if method is not code:
        return None   # a function handed the object (a client to page with), not its method
    if any(arg is receiver for arg in args):
        return (f"pulling an item runs `{code.co_qualname}`, which reads `{first}`, an object the loop body "
                f"also uses: its calls may change what the next item is")
    return None


class _AsyncProbing:
    """`_Probing` for an `async for`: the first result from `first` (timed), then from `then`
    if the probe chose tasks, else on from `first` in order."""

    __slots__ = ("first", "then", "_started")

    def __init__(self):
        self.first = None
        self.then = None
        self._started = False

    def __aiter__(self):
        return self

    def __anext__(self):
        if self._started and self.then is not None:
            return self.then.__anext__()
        self._started = True
        return self.first.__anext__()

    def cancel(self) -> list:
        return self.then.cancel() if self.then is not None else []
