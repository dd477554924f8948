"""The frozen description of one loop: its statements and their events, built once.

`describe` cuts the body into statements (`statements.split_statements`), checks the loop
target, simulates each statement's stack (`stack.simulate`) and returns a `LoopDescription`
or the refusals that stop the analysis first. Every later pass reads the description and
never changes it; the facts derived from it on demand (`functools.cached_property`) are
computed from it alone, so asking twice gives the same answer.
"""
from __future__ import annotations

import functools
import types
from dataclasses import dataclass

from bytecode import Instr, Label, TryBegin

from xcs import pyversion
from xcs.analysis import effects
from xcs.analysis.flow import Flow
from xcs.analysis.loops import LoopShape
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import scope
from xcs.analysis.stack import Event, simulate
from xcs.analysis.statements import CO_COROUTINE, RawStatement, split_statements

TARGET_OPS = {"STORE_FAST", "UNPACK_SEQUENCE", "UNPACK_EX", "NOP"}


@dataclass(frozen=True, eq=False)
class LoopDescription:
    """One loop of one function, as the passes read it.

    `raw[k]` is the body's k-th statement (0: the loop target), `events[k]` what it does
    (`stack.Event`s), `body_writes` the locals the body assigns, `statement_of` item index ->
    statement, `aliases` the body locals bound straight to an outer object. `shared` holds the
    facts about the whole function, computed once for all its loops (`scope`)."""

    flow: Flow
    items: list   # flow.items: the function's normalized instructions
    loop: LoopShape
    env: effects.Environment
    code: types.CodeType
    shared: dict
    base: int
    line: int | None
    cellvars: frozenset
    raw: tuple
    events: tuple
    body_writes: frozenset
    statement_of: types.MappingProxyType
    aliases: types.MappingProxyType
    views: types.MappingProxyType   # body local -> objects its value may be a view of (`_views`)
    whole_function_events: object   # () -> the whole function's events (`scope.constructed`)

    @property
    def coroutine(self) -> bool:
        return bool(self.code.co_flags & CO_COROUTINE)

    # ------------------------------------------------------------- statement facts
    def instrs(self, s: RawStatement):
        """(index, instruction) of statement s, handler blocks included."""
        items = self.items
        for i in s.indices():
            if isinstance(items[i], Instr):
                yield i, items[i]

    def writes(self, s: RawStatement) -> set:
        return {ins.arg for _, ins in self.instrs(s) if ins.name in ("STORE_FAST", "DELETE_FAST")}

    def reads(self, s: RawStatement):
        """(index, name, "fast" | "deref" | "global") of each variable read of statement s."""
        # LOAD_FAST_AND_CLEAR (3.12+ inline comprehensions) saves a value to restore it: not a read.
        for i, ins in self.instrs(s):
            if pyversion.is_closure_load(ins):
                yield i, pyversion.deref_name(ins.arg), "deref"
            elif ins.name in pyversion.LOCAL_READS:
                yield i, ins.arg, "fast"
            elif ins.name in pyversion.DEREF_LOADS:
                yield i, pyversion.deref_name(ins.arg), "deref"
            elif ins.name == "LOAD_GLOBAL":
                yield i, pyversion.global_name(ins), "global"

    def read_chain(self, i: int) -> tuple:
        """The attributes and constant subscripts read right after the load at items[i]."""
        items = self.items
        chain = []
        k = i + 1
        while k < len(items):
            item = items[k]
            if isinstance(item, Instr) and item.name in pyversion.ATTR_LOADS:
                chain.append(pyversion.attr_name(item))
                k += 1
                continue
            nxt = items[k + 1] if k + 1 < len(items) else None
            if isinstance(item, Instr) and item.name == "LOAD_CONST" and type(item.arg) in (str, int) and \
                    isinstance(nxt, Instr) and nxt.name == "BINARY_SUBSCR":
                chain.append(f"[{item.arg!r}]")
                k += 2
                continue
            break
        return tuple(chain)

    # ------------------------------------------------------------- names
    def is_body_local(self, name: str) -> bool:
        return name in self.body_writes

    def canonical(self, kind: str, name: str, chain: tuple) -> tuple:
        """(kind, name, chain) with a body alias replaced by the outer object it names."""
        if kind == "local" and name in self.aliases:
            okind, oname, ochain = self.aliases[name]
            return okind, oname, ochain + chain
        return kind, name, chain

    def is_outer(self, value) -> bool:
        return value.kind == "local" and (value.name not in self.body_writes or value.name in self.aliases)

    def is_target(self, value) -> bool:
        return value.kind == "local" and value.name in self.target_names

    def per_iteration(self, name: str) -> bool:
        """True for a local the body assigns before reading it: a new object each iteration."""
        return name in self.body_writes and name not in self.aliases and name not in self.target_names

    def may_be_shared(self, value) -> bool:
        """True when a value may be an object other iterations also see (call results and
        objects built in this iteration are the iteration's own)."""
        if value.kind in ("const", "fresh", "call"):
            return False
        if value.kind == "local":
            return self.is_outer(value) or self.is_target(value)
        return True

    @functools.cached_property
    def target_names(self) -> frozenset:
        return frozenset(ins.arg for _, ins in self.instrs(self.raw[0]) if ins.name == "STORE_FAST")

    @functools.cached_property
    def target_paths(self) -> dict:
        """Loop target name -> index path into the item (`for i, (a, b) in ...`: b -> (1, 1)),
        or {} when the target is not plain names and tuples."""
        stack, paths = [()], {}
        for _, ins in self.instrs(self.raw[0]):
            if ins.name == "UNPACK_SEQUENCE" and stack:
                base = stack.pop()
                stack += [base + (k,) for k in reversed(range(ins.arg))]
            elif ins.name == "STORE_FAST" and stack:
                paths[ins.arg] = stack.pop()
            elif ins.name != "NOP":
                return {}
        return paths

    # ------------------------------------------------------------- whole-function facts
    @property
    def assignment_counts(self) -> dict:
        return scope.assignment_counts(self.shared, self.items)

    @property
    def imported(self) -> dict:
        return scope.imported(self.shared, self.items)

    @property
    def constructed(self) -> tuple[dict, dict]:
        """(`scope.constructed`, the guards it relies on): read through `Resolver.constructed`,
        which records those guards."""
        return scope.constructed(self.shared, self.items, self.code, self.env, self.cellvars,
                                 self.whole_function_events)

    # ------------------------------------------------------------- loop-wide facts
    @functools.cached_property
    def shared_cells(self) -> dict:
        """Cells the body assigns that code outside the body may read while the loop runs ->
        the line of a closure that captures it (None for a free variable: the enclosing
        function and its other closures share it, unseen). A closure made before the loop
        (`peek = lambda: got`), or anywhere when code after the loop jumps back before it,
        could be called by the map part and read the cell before the in-order store."""
        written = {pyversion.deref_name(ins.arg) for s in self.raw for _, ins in self.instrs(s)
                   if ins.name in ("STORE_DEREF", "DELETE_DEREF")}
        if not written:
            return {}
        found = {name: None for name in written if name not in self.cellvars}
        loop, items = self.loop, self.items
        loops_back = any(isinstance(item, Instr) and isinstance(item.arg, Label) and
                         self.flow.label_index.get(item.arg, loop.exit) <= loop.for_iter
                         for item in items[loop.exit:])
        body = set(self.statement_of)
        for i, item in enumerate(items):
            if isinstance(item, Instr) and pyversion.is_closure_load(item) and i not in body and \
                    (i < loop.for_iter or loops_back):
                name = pyversion.deref_name(item.arg)
                if name in written and name not in found:
                    found[name] = item.lineno
        return found

    @functools.cached_property
    def body_handlers(self) -> frozenset:
        """Indices of the items inside an `except` block the loop body itself opens."""
        items = self.items
        lo, hi = self.loop.for_iter, self.loop.exit
        found = {lo + i for i in effects.in_handler(items[lo:hi])}
        # 3.12+ place the `except` blocks after the function's return: the loop's own.
        for start, stop in self.loop.handlers:
            found |= {start + i for i in effects.in_handler(items[start:stop])}
        return frozenset(found)

    def body_nodes(self) -> set:
        return {i for s in self.raw for i, _ in self.instrs(s)}


def describe(flow: Flow, loop: LoopShape, env, code, shared: dict, whole_function_events):
    """(the loop's `LoopDescription`, []) or (None, the refusals that end its analysis)."""
    base = flow.depth.get(loop.for_iter)
    line = flow.items[loop.for_iter].lineno
    if base is None:
        return None, [Refusal("control-flow", line, "unreachable loop")]
    raw, refusals = split_statements(flow, loop, base, bool(code.co_flags & CO_COROUTINE))
    if not refusals:
        refusals = _check_target(flow.items, raw[0])
    if refusals:
        return None, refusals
    events = tuple(tuple(_events(flow, base, s)) for s in raw)
    body_writes = frozenset(ins.arg for s in raw for i in s.indices()
                            for ins in (flow.items[i],) if isinstance(ins, Instr)
                            and ins.name in ("STORE_FAST", "DELETE_FAST"))
    statement_of = {i: k for k, s in enumerate(raw) for i in s.indices()}
    desc = LoopDescription(flow=flow, items=flow.items, loop=loop, env=env, code=code, shared=shared, base=base,
                           line=line, cellvars=frozenset(code.co_cellvars), raw=tuple(raw), events=events,
                           body_writes=body_writes, statement_of=types.MappingProxyType(statement_of),
                           aliases=types.MappingProxyType(_outer_aliases(events, body_writes)),
                           views=types.MappingProxyType(_views(events)),
                           whole_function_events=whole_function_events)
    return desc, []


def _events(flow: Flow, base: int, s: RawStatement) -> list[Event]:
    items = flow.items
    handler_depths = {}
    for i in s.indices():
        item = items[i]
        if isinstance(item, TryBegin):
            handler_depths[item.target] = item.stack_depth + (1 if item.push_lasti else 0) + 1
    events = simulate(items, s.start, s.stop, base, handler_depths)
    for lo, hi in s.handlers:
        first = flow.next_instr(lo)
        events += simulate(items, lo, hi, flow.depth.get(first, 0), handler_depths)
    return events


def _check_target(items, target: RawStatement) -> list[Refusal]:
    for i in target.indices():
        ins = items[i]
        if not isinstance(ins, Instr):
            continue
        if ins.name in ("STORE_DEREF",):
            return [Refusal("late-binding", ins.lineno, pyversion.deref_name(ins.arg))]
        if ins.name not in TARGET_OPS:
            name = getattr(ins.arg, "name", ins.arg) if ins.arg is not None else ins.name
            return [Refusal("target", ins.lineno, str(name[1] if isinstance(name, tuple) else name))]
    return []


def _views(events) -> dict:
    """Body locals assigned a call result that may be a view of named objects (`it =
    resp.iter_content(8)`, `lines = iter(f)`): name -> the (kind, name, chain) of each
    (`stack.Value.over`); consuming such a local may move their state on."""
    views: dict = {}
    for statement_events in events:
        for e in statement_events:
            if e.op == "store-local" and e.target is not None and e.target.over:
                views[e.args[0]] = views.get(e.args[0], ()) + e.target.over
    return views


def _outer_aliases(events, body_writes) -> dict:
    """Body locals assigned straight from an outer object (`y = acc`, `log = self.log`,
    `row = table['r']`): name -> (kind, name, chain) of the object it names."""
    aliases = {}
    for statement_events in events:
        for e in statement_events:
            value = e.target
            if e.op == "store-local" and (value.kind in ("global", "deref") or
                                          (value.kind == "local" and value.name not in body_writes)):
                aliases[e.args[0]] = (value.kind, value.name, value.chain)
    return aliases
