"""`LoopRunner`: the object a parallel-capable loop calls at its start to get its results.

The transform bakes one runner per loop into the variant code (so one per code object,
loop offset and options: the runner *is* the loop's memory) and calls
`runner(iterator, body, args)` where the original loop called `iter(...)`. The runner
returns an iterator with the runtime's protocol — one result tuple per item, in order, or
`(exc,)` for the earliest failure and then nothing — from `xcs.runtime.ordered_map`
(parallel) or `xcs.runtime.run_inline` (sequential).

Which one is decided by the policy (`parallel=False`/`True`) or, for `"auto"`, by evidence:
the registry's verdict on the body's code (static), else a probe of the first iteration on
the calling thread. The decision is taken once, thread-safely, kept on the runner and
announced through `on_decided(runner)`. Thread-affine values (an `sqlite3.Connection`)
among the inputs or as the first item keep that call sequential under every policy, and so
does a `precheck(body, args)` that names a reason (the inputs, globals or closure cells are
not the objects the analysis saw; a function among the inputs prints or changes shared state). `item_check(item)` names what makes an item unsafe to run on a
worker (its `predict` prints), or None: the loop runs inline from the first such item.
`iterable_check(iterator, body)` gets the iterator the loop pulls from (the runner calls
`iter()` once, where the `for` statement would) and names why its items must not be pulled
ahead (a generator that prints, `itertools.groupby`, a pipe, an object the body also reads),
or None; or it returns `check(item)`, which names an item that must not be run ahead of the
next pull (a lazy view of the iterable's source, as in the `chunks` recipe; a pipe a
generator only opened when it started): from the first such item the loop runs inline, each
item pulled only after the previous iteration is done.

Where a parallel run's map parts go is the `executor` option (the jit's, else
`xcs.config.settings().executor`): the thread pool (`ordered_map`), or another executor
(`xcs.runtime.executors.remote_map`) once `xcs.evidence.remote.shipping_refusal` finds
nothing that keeps the map part in this process; otherwise threads, and `executor_notice`
(a `Refusal`) says why, for `explain`.

A loop over a tqdm progress bar (`tqdm(xs)`, `enumerate(tqdm(xs))`, `zip(tqdm(xs), ys)`)
is run, checked and decided on the bar's own iterable, and its results are delivered
through the bar's `__iter__`, which counts and closes it as the plain loop would (see
`xcs.runtime.progress`).
"""
from __future__ import annotations

import itertools
import logging
import sys
import threading

from xcs.analysis.refusal import Cause, Kind, Refusal
from xcs.config import settings
from xcs.evidence import registry
from xcs.evidence.decision import Decision, Grounds, from_probe, from_static
from xcs.evidence.names import type_name
from xcs.evidence.probe import Probe
from xcs.evidence.site import LoopSite
from xcs.evidence.static import scan_body
from xcs.runtime import is_worker_thread, ordered_map, run_inline
from xcs.evidence.remote import shipping_refusal
from xcs.runtime.executors import executor_for, remote_map
from xcs.runtime.progress import find_bar
from xcs.runtime.shipping import in_shipped_work
from xcs.runtime import creations, hosts
from xcs.runtime.adaptive import Limiter
from xcs.runtime.pools_fit import fitted
from xcs.transform.layout import Layout

ERROR_SLOT = Layout.ERROR

log = logging.getLogger("xcs")

POLICIES = ("auto", True, False)
_NOT_SCANNED = object()


class LoopRunner:
    """Runs one loop's map part inline or on the pool; see the module docstring.

    `decision` is None until the loop is decided on its first call (set from the start for
    `parallel=False`);
    then a `Decision` with `.parallel` and its `.grounds` (`xcs.api.words.decision_words` says it).
    """

    __slots__ = ("site", "policy", "max_workers", "on_decided", "decision", "precheck", "item_check",
                 "iterable_check", "inline_reason", "_lock", "_static", "executor", "executor_notice",
                 "exit_check", "limiter", "fit_notes", "created")

    def __init__(self, site: LoopSite, policy="auto", max_workers: int | None = None, on_decided=None,
                 precheck=None, item_check=None, iterable_check=None, exit_check=None):
        if not any(policy is p for p in POLICIES):
            raise ValueError(f"policy must be 'auto', True or False, not {policy!r}")
        self.site = site
        self.policy = policy
        self.max_workers = max_workers
        self.on_decided = on_decided
        self.precheck = precheck
        self.item_check = item_check
        self.iterable_check = iterable_check
        # A loop that may leave early gets the iterable itself (not its iterator) and this
        # check of it (`xcs.evidence.speculation.iterable_check`).
        self.exit_check = exit_check
        self.inline_reason: str | None = None   # why the latest call ran in order, if it had to
        self.executor = None           # the `executor` option of the jit, None: `settings().executor`
        self.executor_notice = None    # a Refusal: why the latest parallel run used threads instead
        self.limiter = None                     # the loop's adaptive concurrency, kept across calls
        self.fit_notes: list = []               # what fitting to the loop's HTTP clients changed
        self.created: dict = {}                 # latest parallel run: endpoints run in order as creating
        self._lock = threading.Lock()
        self._static = _NOT_SCANNED
        self.decision: Decision | None = None
        if policy is False:
            self.decision = Decision(False, Grounds.REQUESTED, "policy")

    def concurrency(self) -> str | None:
        """The loop's concurrency and what was fitted to its clients, in words (None before
        a parallel run)."""
        if self.limiter is None:
            return None
        return "; ".join([self.limiter.describe(), *self.fit_notes])

    def __repr__(self) -> str:
        return f"<LoopRunner {self.site} policy={self.policy!r} decision={self.decision}>"

    def __call__(self, iterable, body, args=(), watched=()):
        """An iterator of `body(item, *args)` result tuples for the items of `iterable`, in
        order, with the runtime's failure protocol. Items are pulled lazily. `watched` are
        objects only the loop's in-order part changes, for `precheck` to compare with `args`."""
        if self.policy is False or is_worker_thread():
            return run_inline(body, iterable, args)
        if sys.getprofile() is not None or sys.gettrace() is not None:
            # Profile and trace functions are per thread: on workers they would miss the work.
            self.inline_reason = "a profiler or tracer is installed on this thread; it would not see the workers"
            return run_inline(body, iterable, args)
        if self.exit_check is not None:
            reason = _checked(self.exit_check, iterable)
            if reason is not None:
                self.inline_reason = reason
                return run_inline(body, iterable, args)
        it = iter(iterable)   # once, as the `for` statement would; the checks look at what is pulled
        bar = _progress_bar(it)
        if bar is not None:
            # `for x in tqdm(xs)`: items come from the bar's iterable; the bar counts results.
            return bar.through(self._run(bar.items, body, args, watched))
        return self._run(it, body, args, watched)

    def _run(self, it, body, args, watched=()):
        hazard = _checked(self.precheck, body, args, watched)
        views = None
        if hazard is None:
            hazard = _checked(self.iterable_check, it, body)
            if callable(hazard):
                views, hazard = hazard, None
        if hazard is not None:
            self.inline_reason = hazard
            return run_inline(body, it, args)
        self.inline_reason = None
        affine = _affine_input(body, args)
        if affine is not None:
            self._decide(affine)
            return run_inline(body, it, args)
        decision = self.decision
        if decision is None:
            return self._undecided(it, body, args, views)
        if decision.parallel:
            return self._parallel(it, body, args, views)
        return run_inline(body, it, args)

    def _parallel(self, it, body, args, views=None):
        try:
            first = next(it)
        except StopIteration:
            return
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - delivered as (e,) by the runtime's own rules
            yield from run_inline(body, _raising(error), args)
            return
        rest = itertools.chain((first,), it)
        if _affine_type(type(first)) is not None:
            yield from run_inline(body, rest, args)
            return
        yield from self._map(body, rest, args, views=views)

    def _map(self, body, items, args, max_workers=None, views=None):
        """`ordered_map` over `items` while each passes `item_check` and `views`; from the
        first that does not (a `model.predict` that prints or changes shared state, an item
        that is a lazy view of the iterable's source), the rest run inline after the ones in
        flight have been delivered — each item is then pulled only when the one before it is done."""
        with fitted(body, args, self.max_workers or settings().max_workers) as fit:
            self.fit_notes = fit.notes
            if settings().per_host:
                hosts.ensure_installed()
            creations.ensure_installed()
            creations.take_notes()     # left by an earlier loop of this thread that stopped early
            try:
                yield from self._fitted_map(body, items, args, fit.concurrency, views)
            finally:
                self.created = creations.take_notes()

    def _fitted_map(self, body, items, args, workers, views):
        limiter = self.limiter
        if limiter is None:
            limiter = self.limiter = Limiter()
        checks = [check for check in (self.item_check, views) if check is not None]
        if not checks:
            yield from self._ordered(body, items, args, workers, limiter)
            return
        items = iter(items)
        unsafe = []

        def while_safe():
            for item in items:
                reason = next((r for r in (_checked(check, item) for check in checks) if r is not None), None)
                if reason is not None:
                    self.inline_reason = f"in order from one item on: {reason}"
                    unsafe.append(item)
                    return
                yield item

        yield from self._ordered(body, while_safe(), args, workers, limiter)
        if unsafe:
            yield from run_inline(body, itertools.chain(unsafe, items), args)

    def _ordered(self, body, items, args, workers=None, limiter=None):
        """`ordered_map` on the thread pool (`workers` fitted to the loop's clients, `limiter`
        its adaptive concurrency), or `remote_map` on the executor chosen (see
        `xcs.evidence.remote` for when a loop stays on threads, and `executor_notice`)."""
        def on_threads(rest):
            return ordered_map(body, rest, args, max_workers=workers or self.max_workers, limiter=limiter,
                               failed=_reports_failure)

        option = self.executor if self.executor is not None else settings().executor
        if option == "threads" or in_shipped_work():
            self.executor_notice = None
            return on_threads(items)
        remote = executor_for(option, self.max_workers or settings().max_workers)
        notice, shipment = shipping_refusal(remote, body, args)
        self.executor_notice = notice
        if notice is not None:
            return on_threads(items)

        def from_now_on_threads(why, reason):
            kind = Kind.REMOTE_UNSHIPPABLE if why == "unshippable" else Kind.REMOTE_EXECUTOR
            self.executor_notice = Refusal(kind, None, "", detail=str(reason), cause=Cause.FROM_ITEM)

        return remote_map(remote, shipment, items, on_threads, from_now_on_threads)

    def _undecided(self, it, body, args, views=None):
        """First call(s): decide from the first item's type, the body's code, else a probe.

        With `parallel=True` only what makes parallel execution unsafe (thread-affine or
        ordered references) can keep the loop sequential; nothing is probed."""
        try:
            first = next(it)
        except StopIteration:
            return
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - delivered as (e,) by the runtime's own rules
            yield from run_inline(body, _raising(error), args)
            return
        affine = _affine_type(type(first))
        if affine is not None:
            self._decide(Decision(False, Grounds.AFFINE_ITEMS, "argument", type_name=affine))
            yield from run_inline(body, itertools.chain((first,), it), args)
            return
        static = self._static_decision(body, args)
        if self.policy is True and (static is None or static.parallel):
            static = Decision(True, Grounds.ASSERTED, "policy")
        if static is not None:
            decided = self._decide(static)
            run = self._map if decided.parallel else _inline
            yield from run(body, itertools.chain((first,), it), args, max_workers=self.max_workers, views=views)
            return
        with Probe() as probe:
            results = list(run_inline(body, (first,), args))
        yield from results
        if not results or results[-1][0] is not None:
            return      # the first iteration failed: the loop stops here; decide on a later call
        decided = self._decide(_guarded(from_probe, probe.result))
        run = self._map if decided.parallel else _inline
        yield from run(body, it, args, max_workers=self.max_workers, views=views)

    def _static_decision(self, body, args) -> Decision | None:
        if self._static is _NOT_SCANNED:
            self._static = _guarded(lambda: from_static(scan_body(body, args)))
        return self._static

    def _decide(self, decision: Decision) -> Decision:
        """Record `decision` unless one is already recorded; returns the one in force."""
        with self._lock:
            if self.decision is not None:
                return self.decision
            self.decision = decision
        if self.on_decided is not None:
            try:
                self.on_decided(self)
            except Exception:  # noqa: BLE001 - a listener must not break the user's loop
                log.debug("xcs: on_decided listener failed for %s", self.site, exc_info=True)
        return decision


def _reports_failure(result) -> bool:
    """The compiled body caught an exception and returns it for the in-order part to raise
    (`xcs.transform.layout`): the loop will most likely stop there, so nothing later starts
    until it is known to go on."""
    return len(result) > ERROR_SLOT and result[ERROR_SLOT] is not None


def _progress_bar(it):
    """The progress bar a loop over `it` iterates (see `xcs.runtime.progress`), or None; an
    iterator XCS fails to look at is iterated as it is."""
    try:
        return find_bar(it)
    except Exception:  # noqa: BLE001 - an internal failure keeps the plain iteration
        log.debug("xcs: could not look for a progress bar", exc_info=True)
        return None


def _raising(error):
    """An iterator whose first pull raises `error` again: the runtime then reports a failure
    of the iterable exactly as it would have had it pulled the item itself."""
    raise error
    yield  # noqa: unreachable - makes this a generator


def _checked(check, *args) -> str | None:
    """`check(*args)`; a check that fails itself keeps the loop in order (never breaks it)."""
    if check is None:
        return None
    try:
        return check(*args)
    except Exception as error:  # noqa: BLE001 - an internal failure must leave the loop sequential
        log.debug("xcs: a loop check failed", exc_info=True)
        return f"XCS could not check this run ({error!r})"


def _inline(body, iterable, args, max_workers=None, views=None):
    return run_inline(body, iterable, args)


def _guarded(make, *args):
    """`make(*args)`, or a sequential decision if XCS itself failed while deciding."""
    try:
        return make(*args)
    except Exception as error:  # noqa: BLE001 - an internal failure must leave the loop sequential
        log.debug("xcs: deciding failed", exc_info=True)
        return Decision(False, Grounds.INTERNAL, "internal", error=repr(error))


_affine_types: dict = {}
_affine_version = [registry.version()]


def _affine_type(cls) -> str | None:
    """The name of `cls` when its instances are thread-affine, else None (cached per class)."""
    if _affine_version[0] != registry.version():
        _affine_types.clear()
        _affine_version[0] = registry.version()
    try:
        return _affine_types[cls]
    except KeyError:
        found = type_name(cls) if registry.classify_type(cls) == registry.THREAD_AFFINE else None
        _affine_types[cls] = found
        return found
    except TypeError:  # unhashable metaclass instance
        return None


def _affine_input(body, args) -> Decision | None:
    """The sequential decision naming the first thread-affine value among the loop's inputs, or None."""
    for n, value in enumerate(args):
        found = _affine_type(type(value))
        if found is not None:
            names = body.__code__.co_varnames
            name = names[n + 1] if n + 1 < len(names) else f"input {n}"
            return Decision(False, Grounds.AFFINE_INPUT, "argument", subject=name, type_name=found)
    return None
