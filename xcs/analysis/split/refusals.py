"""Pass: refusals of the whole loop, before any statement is classified — the iterable
changed or used by the body, a closure cell shared with code outside the body, frame
introspection, a paced loop (a sleep beside network calls), `gc.collect()`."""
from __future__ import annotations

import types
from dataclasses import dataclass

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import effects
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import iteration
from xcs.analysis.split.resolve import Resolver

# Library clients whose calls reach a server: a sleep beside them paces the requests.
NETWORK_CLIENTS = frozenset({"requests", "httpx", "urllib3", "urllib", "http", "aiohttp", "openai", "anthropic",
                             "boto3", "botocore", "socket", "_socket"})


@dataclass(frozen=True)
class LoopRefusals:
    """`refusals` (empty: the analysis goes on) and whether the body's only change to the
    dict it iterates is replacing the current key's value (`replaces_iterated_values`)."""

    refusals: tuple
    replaces_iterated_values: bool
    guards: types.MappingProxyType


def loop_refusals(desc) -> LoopRefusals:
    res = Resolver(desc)
    out = []
    replaces = False
    view = iteration.iterated_view(desc)
    iterable = view[0] if view else None
    iterated = iteration.iterated_object(desc)
    items = desc.items
    for s, events in zip(desc.raw, desc.events):
        for _, ins in desc.instrs(s):
            # A closure made in the body over a cell the body assigns (3.11: any
            # comprehension using `got`) needs no refusal: the cell's stores run in order
            # (`commit:nonlocal`), so every statement that reads it, closures included,
            # runs in order after them (`commit-read`), seeing the one cell as plain code
            # does. A closure made outside the body is another matter (`shared_cells`).
            if iterable and ins.name in ("STORE_FAST", "STORE_GLOBAL", "STORE_DEREF") and \
                    pyversion.deref_name(ins.arg) == iterable:
                out.append(Refusal("iterable-mutated", ins.lineno, iterable))
        for _, ins in desc.instrs(s):
            if ins.name == "STORE_DEREF" and desc.shared_cells.get(pyversion.deref_name(ins.arg)) is not None:
                name = pyversion.deref_name(ins.arg)
                out.append(Refusal("captured-outside", desc.shared_cells[name], name))
        for e in events:
            if e.op == "call":
                obj = res.resolve(e.target)
                trick = effects.frame_introspection(obj) if obj is not None else None
                if trick and not (trick == "dir" and e.args):
                    out.append(Refusal("frame-introspection", items[e.index].lineno, trick))
            if iterable and e.target is not None and e.target.name == iterable and e.target.kind != "fresh" \
                    and iteration.mutates(e):
                if iteration.replaces_current_value(desc, view, e):
                    replaces = True
                    continue
                out.append(Refusal("iterable-mutated", items[e.index].lineno, iterable))
            used = iteration.uses_iterated_object(iterated, e)
            if used:
                out.append(Refusal("iterable-used", items[e.index].lineno, used))
    paced = _pacing_sleep(desc, res)
    if paced is not None:
        out.append(paced)
    out += _observes_lifetimes(desc, res)
    return LoopRefusals(tuple(out), replaces, res.guards())


def _observes_lifetimes(desc, res) -> list:
    """`gc.collect()` in the body observes which objects are still alive: under XCS an
    iteration's objects are released when the runtime lets go of its results, a little
    later than in the plain loop (the README's 'visible differences')."""
    import gc

    for events in desc.events:
        for e in events:
            if e.op == "call" and res.resolve(e.target) is gc.collect:
                return [Refusal("lifetime", desc.items[e.index].lineno, "gc.collect")]
    return []


def _pacing_sleep(desc, res) -> Refusal | None:
    """A `time.sleep(...)` statement of its own in the body, beside a call to a blocking
    library client (`requests.get(url); time.sleep(6)`), is a throttle: the loop keeps a
    pace a server asks for (a rate limit). Running iterations at once would defeat it."""
    import time

    sleep_line, blocking = None, False
    for k, (s, events) in enumerate(zip(desc.raw, desc.events)):
        if k == 0:
            continue
        calls = [e for e in events if e.op == "call"]
        for e in calls:
            obj = res.resolve(e.target)
            if obj is time.sleep:
                if len(calls) == 1 and e.discarded:
                    sleep_line = sleep_line or desc.items[e.index].lineno
            elif obj is not None and desc.env.is_trusted(obj) and \
                    effects.qualified_name_or_empty(obj).split(".")[0] in NETWORK_CLIENTS:
                blocking = True
    if sleep_line is not None and blocking:
        return Refusal("paced", sleep_line, "time.sleep")
    if desc.coroutine:
        return _awaited_pause(desc, res)
    return None


def _awaited_pause(desc, res) -> Refusal | None:
    """A statement that only awaits `asyncio.sleep(...)` (`await asyncio.sleep(0.1)`, its
    value dropped) keeps the loop's pace: the other tasks of the event loop — and what the
    in-order part starts — get that time between iterations (a poll, a rate limit, a
    throttle). Run at once, the pauses would overlap and the pace would be lost."""
    import asyncio

    for k, (s, events) in enumerate(zip(desc.raw, desc.events)):
        calls = [e for e in events if e.op == "call"]
        if k == 0 or len(calls) != 1 or res.resolve(calls[0].target) is not asyncio.sleep:
            continue
        last = [x for x in desc.items[s.start:s.stop] if isinstance(x, Instr)]
        if last and last[-1].name == "POP_TOP":
            return Refusal("paced", desc.items[calls[0].index].lineno, "asyncio.sleep")
    return None
