"""Split a loop body into a parallel map part and an in-order commit part.

A statement is *map* when it only computes iteration-local values (it may call anything,
including blocking I/O, and may `continue`); it is *commit* when it touches state other
iterations can see: outer objects, carried variables, globals, ordered output. Argument
expressions of commit statements that only read map values are hoisted into the map part
(`results.append(fetch(x))` fetches in parallel and appends in order).
"""
from __future__ import annotations

import functools
import inspect
import types
from dataclasses import replace

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.analysis import effects, knowledge, receiver, speculation
from xcs.analysis.facts import Hoist, LoopFacts, Statement
from xcs.analysis.flow import Flow, definitely_assigned
from xcs.analysis.loops import LoopShape
from xcs.analysis.propagate import propagate
from xcs.analysis import refusal
from xcs.analysis.refusal import Refusal
from xcs.analysis.stack import Event, render, simulate, subscript_element, up_to_any_key
from xcs.analysis.statements import CO_COROUTINE, RawStatement, split_statements

TARGET_OPS = {"STORE_FAST", "UNPACK_SEQUENCE", "UNPACK_EX", "NOP"}
PURE_OPS = {*pyversion.LOCAL_READS, "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF", *pyversion.ATTR_LOADS,
            "PUSH_NULL", *pyversion.CALL_PREFIXES, *pyversion.CALLS,
            "BINARY_OP", "BINARY_SUBSCR", *pyversion.SLICE_LOADS, "COMPARE_OP", "IS_OP", "CONTAINS_OP",
            "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", *pyversion.BOOL_CONVERSIONS, "BUILD_LIST", "BUILD_TUPLE",
            "BUILD_MAP", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE", "BUILD_CONST_KEY_MAP",
            "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", *pyversion.FORMATS,
            *pyversion.CONVERSIONS, *pyversion.UNARY_INTRINSICS, "NOP",
            "LOAD_SMALL_INT", "COPY_FREE_VARS"}

# An `await` inside a hoisted argument (`results.append(await fetch(x))`), in a coroutine: the
# send loop jumps back to its SEND, and on 3.12+ its YIELD_VALUE has a try range of its own.
AWAIT_OPS = pyversion.AWAIT_STEPS | {"RESUME", "JUMP_BACKWARD_NO_INTERRUPT"}

# Branches inside one expression (`a if c else b`, `a or b`): hoisted only whole, with every
# jump going forward inside it (`_self_contained`).
BRANCH_OPS = pyversion.CONDITIONAL_JUMPS | {"JUMP_FORWARD", "JUMP", "COPY", "POP_TOP", "NOP"}


# Library clients whose calls reach a server: a sleep beside them paces the requests.
_NETWORK_CLIENTS = frozenset({"requests", "httpx", "urllib3", "urllib", "http", "aiohttp", "openai", "anthropic",
                              "boto3", "botocore", "socket", "_socket"})


class LoopAnalysis:
    """Analysis of one loop; `facts()` gives the immutable result."""

    def __init__(self, flow: Flow, loop: LoopShape, env: effects.Environment, code, shared: dict | None = None):
        self.flow, self.loop, self.env, self.code = flow, loop, env, code
        # Facts about the whole function, shared by the analyses of all its loops (one scan
        # of the function per loop made a function with many loops quadratic).
        self.shared = {} if shared is None else shared
        self.items = flow.items
        self.base = flow.depth.get(loop.for_iter)
        self.line = self.items[loop.for_iter].lineno
        self.cellvars = set(code.co_cellvars)
        self.guards: dict = {}   # (kind, name, chain) -> the object it resolved to
        self._output_events: set = set()   # calls whose only effect is output the runtime captures
        self._changing_events: set = set()   # calls of functions that change the file system or synchronise
        self.replaces_iterated_values = False

    # ----------------------------------------------------------------- entry point
    def facts(self) -> LoopFacts:
        loop = self.loop
        common = dict(line=self.line, for_iter=loop.for_iter, head=loop.head, exit=loop.exit,
                      iter_insert=loop.iter_insert, base_depth=self.base or 0, outer_try=loop.outer_try)
        if self.base is None:
            return LoopFacts(parallel=False, reasons=(Refusal("control-flow", self.line, "unreachable loop"),), **common)
        raw, refusals = split_statements(self.flow, loop, self.base, bool(self.code.co_flags & CO_COROUTINE))
        if not refusals:
            refusals = self._check_target(raw[0])
        if refusals:
            return LoopFacts(parallel=False, reasons=tuple(refusals), **common)
        self.raw = raw
        self.events = [self._events(s) for s in raw]
        self.body_writes = {w for s in raw for w in self._writes(s)}
        self.statement_of = {i: k for k, s in enumerate(raw) for i in s.indices()}
        self.aliases = self._outer_aliases()
        refusals = self._loop_refusals()
        if refusals:
            return LoopFacts(parallel=False, reasons=tuple(refusals), **common)
        self.defined = definitely_assigned(self.flow, self.flow.next_instr(loop.for_iter + 1), frozenset(),
                                           stop_at={loop.for_iter}, nodes=self._body_nodes())
        kinds, reasons = self._classify()
        statements, hoist_reasons = self._statements(kinds, reasons)
        has_work = any(s.kind == "map" and k > 0 and self._calls(s) for k, s in enumerate(statements)) or \
            any(s.hoists for s in statements)
        all_reasons = tuple(dict.fromkeys(tuple(hoist_reasons) + tuple(r for s in statements for r in s.reasons)))
        if not has_work:
            why = (Refusal("no-parallel-work", self.line, "no call outside the in-order part"),) + _staying(all_reasons)
            return LoopFacts(parallel=False, reasons=why, statements=tuple(statements), **common)
        inputs, closure, unbound = self._inputs(statements)
        if unbound:
            return LoopFacts(parallel=False, reasons=tuple(unbound), statements=tuple(statements), **common)
        map_writes = tuple(sorted({w for s in statements if s.kind == "map" for w in s.writes}))
        exits = tuple(x for s in raw for x in s.exits)
        if exits and not self._work_reads_item(statements):
            why = (Refusal("retry", exits[0][1], exits[0][0]),) + _staying(all_reasons)
            return LoopFacts(parallel=False, reasons=why, statements=tuple(statements), **common)
        speculative = dict(exits=exits, speculative_calls=self._speculative_calls(statements),
                           iterable_made_here=self._iterable_made_here()) if exits else {}
        guards = tuple((kind, name, chain, obj) for (kind, name, chain), obj in sorted(self.guards.items(), key=lambda g: g[0])
                       if (kind == "local" and name in inputs) or (kind == "deref" and name in closure) or kind == "global")
        return LoopFacts(parallel=True, reasons=all_reasons, statements=tuple(statements), inputs=inputs,
                         closure=closure, map_writes=map_writes, guards=guards, watched=self._watched(inputs),
                         item_calls=self._item_calls(statements),
                         input_calls=self._input_calls(statements, inputs),
                         iterable_uses=self._iterable_uses(), changed_globals=self._changed_globals(),
                         replaces_iterated_values=self.replaces_iterated_values, **speculative, **common)

    # ----------------------------------------------------------------- statement facts
    def _instrs(self, s: RawStatement):
        for i in s.indices():
            if isinstance(self.items[i], Instr):
                yield i, self.items[i]

    def _writes(self, s: RawStatement):
        return {ins.arg for _, ins in self._instrs(s) if ins.name in ("STORE_FAST", "DELETE_FAST")}

    def _events(self, s: RawStatement) -> list[Event]:
        handler_depths = {}
        for i in s.indices():
            item = self.items[i]
            if isinstance(item, TryBegin):
                handler_depths[item.target] = item.stack_depth + (1 if item.push_lasti else 0) + 1
        events = simulate(self.items, s.start, s.stop, self.base, handler_depths)
        for lo, hi in s.handlers:
            first = self.flow.next_instr(lo)
            events += simulate(self.items, lo, hi, self.flow.depth.get(first, 0), handler_depths)
        return events

    def _check_target(self, target: RawStatement) -> list[Refusal]:
        for _, ins in self._instrs(target):
            if ins.name in ("STORE_DEREF",):
                return [Refusal("late-binding", ins.lineno, pyversion.deref_name(ins.arg))]
            if ins.name not in TARGET_OPS:
                name = getattr(ins.arg, "name", ins.arg) if ins.arg is not None else ins.name
                return [Refusal("target", ins.lineno, str(name[1] if isinstance(name, tuple) else name))]
        return []

    def _outer_aliases(self) -> dict:
        """Body locals assigned straight from an outer object (`y = acc`, `log = self.log`,
        `row = table['r']`): name -> (kind, name, chain) of the object it names."""
        aliases = {}
        for events in self.events:
            for e in events:
                value = e.target
                if e.op == "store-local" and (value.kind in ("global", "deref") or
                                              (value.kind == "local" and value.name not in self.body_writes)):
                    aliases[e.args[0]] = (value.kind, value.name, value.chain)
        return aliases

    def _canonical(self, kind: str, name: str, chain: tuple) -> tuple:
        """(kind, name, chain) with a body alias replaced by the outer object it names."""
        if kind == "local" and name in self.aliases:
            okind, oname, ochain = self.aliases[name]
            return okind, oname, ochain + chain
        return kind, name, chain

    def _body_nodes(self) -> set:
        nodes = {i for s in self.raw for i, _ in self._instrs(s)}
        return nodes

    # ----------------------------------------------------------------- loop-level refusals
    def _loop_refusals(self) -> list[Refusal]:
        out = []
        iterable = self._iterable_name()
        for s, events in zip(self.raw, self.events):
            for _, ins in self._instrs(s):
                # A closure made in the body over a cell the body assigns (3.11: any
                # comprehension using `got`) needs no refusal: the cell's stores run in order
                # (`commit:nonlocal`), so every statement that reads it, closures included,
                # runs in order after them (`commit-read`), seeing the one cell as plain code
                # does. A closure made outside the body is another matter (`_shared_cells`).
                if iterable and ins.name in ("STORE_FAST", "STORE_GLOBAL", "STORE_DEREF") and \
                        pyversion.deref_name(ins.arg) == iterable:
                    out.append(Refusal("iterable-mutated", ins.lineno, iterable))
            for _, ins in self._instrs(s):
                if ins.name == "STORE_DEREF" and self._shared_cells.get(pyversion.deref_name(ins.arg)) is not None:
                    name = pyversion.deref_name(ins.arg)
                    out.append(Refusal("captured-outside", self._shared_cells[name], name))
            for e in events:
                if e.op == "call":
                    obj = self._resolve(e.target)
                    trick = effects.frame_introspection(obj) if obj is not None else None
                    if trick and not (trick == "dir" and e.args):
                        out.append(Refusal("frame-introspection", self.items[e.index].lineno, trick))
                if iterable and e.target is not None and e.target.name == iterable and e.target.kind != "fresh" \
                        and self._mutates(e):
                    if self._replaces_current_value(e):
                        self.replaces_iterated_values = True
                        continue
                    out.append(Refusal("iterable-mutated", self.items[e.index].lineno, iterable))
                used = self._uses_iterated_object(e)
                if used:
                    out.append(Refusal("iterable-used", self.items[e.index].lineno, used))
        paced = self._pacing_sleep()
        if paced is not None:
            out.append(paced)
        out += self._observes_lifetimes()
        return out

    def _observes_lifetimes(self) -> list:
        """`gc.collect()` in the body observes which objects are still alive: under XCS an
        iteration's objects are released when the runtime lets go of its results, a little
        later than in the plain loop (the README's 'visible differences')."""
        import gc

        for events in self.events:
            for e in events:
                if e.op == "call" and self._resolve(e.target) is gc.collect:
                    return [Refusal("lifetime", self.items[e.index].lineno, "gc.collect")]
        return []

    def _pacing_sleep(self) -> Refusal | None:
        """A `time.sleep(...)` statement of its own in the body, beside a call to a blocking
        library client (`requests.get(url); time.sleep(6)`), is a throttle: the loop keeps a
        pace a server asks for (a rate limit). Running iterations at once would defeat it."""
        import time

        sleep_line, blocking = None, False
        for k, (s, events) in enumerate(zip(self.raw, self.events)):
            if k == 0:
                continue
            calls = [e for e in events if e.op == "call"]
            for e in calls:
                obj = self._resolve(e.target)
                if obj is time.sleep:
                    if len(calls) == 1 and e.discarded:
                        sleep_line = sleep_line or self.items[e.index].lineno
                elif obj is not None and self.env.is_trusted(obj) and \
                        effects.qualified_name_or_empty(obj).split(".")[0] in _NETWORK_CLIENTS:
                    blocking = True
        if sleep_line is not None and blocking:
            return Refusal("paced", sleep_line, "time.sleep")
        if self.code.co_flags & CO_COROUTINE:
            return self._awaited_pause()
        return None

    def _awaited_pause(self) -> Refusal | None:
        """A statement that only awaits `asyncio.sleep(...)` (`await asyncio.sleep(0.1)`, its
        value dropped) keeps the loop's pace: the other tasks of the event loop — and what the
        in-order part starts — get that time between iterations (a poll, a rate limit, a
        throttle). Run at once, the pauses would overlap and the pace would be lost."""
        import asyncio

        for k, (s, events) in enumerate(zip(self.raw, self.events)):
            calls = [e for e in events if e.op == "call"]
            if k == 0 or len(calls) != 1 or self._resolve(calls[0].target) is not asyncio.sleep:
                continue
            last = [x for x in self.items[s.start:s.stop] if isinstance(x, Instr)]
            if last and last[-1].name == "POP_TOP":
                return Refusal("paced", self.items[calls[0].index].lineno, "asyncio.sleep")
        return None

    def _replaces_current_value(self, e: Event) -> bool:
        """True for `d[k] = value` in `for k in d` (or `for k, v in d.items()`): a store at
        the key being visited, which the body never rebinds. On a dict that replaces a value
        and keeps the keys, their order and the size (a new key would make the plain loop
        fail at its next item, so any other key stays refused); the runner checks that the
        loop walks a plain dict (`LoopFacts.replaces_iterated_values`)."""
        if e.op != "store-subscr" or e.target.chain or not e.args:
            return False
        key = e.args[-1]
        view = self._view[1] if self._view else None
        at = {"keys": (), "items": (0,)}.get(view)   # where the key is in the item
        if key.kind != "local" or key.chain or at is None or self._target_paths().get(key.name) != at:
            return False
        return not any(key.name in self._writes(s) for s in self.raw[1:])

    @functools.cached_property
    def _shared_cells(self) -> dict:
        """Cells the body assigns that code outside the body may read while the loop runs ->
        the line of a closure that captures it (None for a free variable: the enclosing
        function and its other closures share it, unseen). A closure made before the loop
        (`peek = lambda: got`), or anywhere when code after the loop jumps back before it,
        could be called by the map part and read the cell before the in-order store."""
        written = {pyversion.deref_name(ins.arg) for s in self.raw for _, ins in self._instrs(s)
                   if ins.name in ("STORE_DEREF", "DELETE_DEREF")}
        if not written:
            return {}
        found = {name: None for name in written if name not in self.cellvars}
        loop = self.loop
        loops_back = any(isinstance(item, Instr) and isinstance(item.arg, Label) and
                         self.flow.label_index.get(item.arg, loop.exit) <= loop.for_iter
                         for item in self.items[loop.exit:])
        body = set(self.statement_of)
        for i, item in enumerate(self.items):
            if isinstance(item, Instr) and pyversion.is_closure_load(item) and i not in body and \
                    (i < loop.for_iter or loops_back):
                name = pyversion.deref_name(item.arg)
                if name in written and name not in found:
                    found[name] = item.lineno
        return found

    def _iterated_object(self):
        """(kind, name, attribute chain) of the expression the loop iterates over
        (`for t in self.tar` -> ("local", "self", ("tar",))), or None."""
        chain = []
        j = self.loop.iter_insert - 1
        while j >= 0 and isinstance(self.items[j], Instr) and self.items[j].name in pyversion.ATTR_LOADS:
            chain.insert(0, pyversion.attr_name(self.items[j]))
            j -= 1
        prev = self.items[j] if j >= 0 else None
        if not isinstance(prev, Instr):
            return None
        kind = {**dict.fromkeys(pyversion.LOCAL_READS, "local"), "LOAD_GLOBAL": "global",
                "LOAD_DEREF": "deref"}.get(prev.name)
        if kind is None:
            return None
        name = pyversion.global_name(prev) if kind == "global" else pyversion.deref_name(prev.arg)
        return kind, name, tuple(chain)

    def _uses_iterated_object(self, e: Event) -> str | None:
        """The iterated object's name when event e calls one of its methods: a file, a
        streaming archive or a cursor moves on as the loop pulls, so its methods see a
        different state once items are pulled ahead."""
        iterated = getattr(self, "_iterated", False)
        if iterated is False:
            iterated = self._iterated = self._iterated_object()
        if iterated is None or e.op != "call" or e.target is None:
            return None
        kind, name, chain = iterated
        callee = e.target
        if callee.kind == kind and callee.name == name and len(callee.chain) > len(chain) and \
                callee.chain[:len(chain)] == chain:
            return render(name, chain)
        return None

    # Builtins that read an argument without advancing or changing it.
    _NOT_ADVANCING = frozenset({"len", "isinstance", "issubclass", "id", "type", "repr", "str", "hash", "bool",
                                "callable", "hasattr", "getattr", "print", "format"})

    def _iterable_roots(self) -> list:
        """(kind, name, chain) of each outer variable read by the expression the loop iterates
        over (`f` in `enumerate(f)`, `proc.stdout` in `for line in proc.stdout`) and, for a
        local assigned once before (`reader = csv.reader(f)`), by the expression assigned."""
        roots = self._expression_roots(self.loop.iter_insert)
        for kind, name, chain in list(roots):
            store = self._single_store(name) if kind == "local" and not chain else None
            if store is not None:
                roots += [r for r in self._expression_roots(store) if r not in roots]
        return roots

    def _single_store(self, name: str):
        """The index of the only STORE_FAST of `name` in the function, if it is not a parameter."""
        code = self.code
        if self._assignment_counts.get(name) != 1 or \
                name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            return None
        return next((i for i, item in enumerate(self.items)
                     if isinstance(item, Instr) and item.name == "STORE_FAST" and item.arg == name), None)

    def _expression_roots(self, stop: int) -> list:
        """The outer variables read by the expression whose value is on top of the stack just
        before items[stop]."""
        total, start = 0, None
        for k in range(stop - 1, -1, -1):
            item = self.items[k]
            if not isinstance(item, Instr):
                return []
            total += item.stack_effect(jump=False)
            if total >= 1:
                start = k
                break
        if start is None:
            return []
        roots = []
        for i in range(start, stop):
            ins = self.items[i]
            if not isinstance(ins, Instr):
                continue
            if ins.name in pyversion.LOCAL_READS and not self._is_body_local(ins.arg):
                kind, name = "local", ins.arg
            elif ins.name == "LOAD_GLOBAL":
                kind, name = "global", pyversion.global_name(ins)
            elif ins.name in pyversion.DEREF_LOADS or pyversion.is_closure_load(ins):
                kind, name = "deref", pyversion.deref_name(ins.arg)
            else:
                continue
            roots.append((kind, name, tuple(c for c in self._read_chain(i) if not c.startswith("["))))
        return roots

    def _iterable_uses(self) -> tuple:
        """(expression, changes) for each use the body makes of an object the iterable
        expression reads: a method call on it, passing it to a call, a store into it."""
        roots = self._iterable_roots()
        found: dict = {}
        for events in self.events:
            for e in events:
                for kind, name, chain in roots:
                    use = self._iterable_use(e, kind, name, chain)
                    if use is not None:
                        found[use[0]] = found.get(use[0], False) or use[1]
        return tuple(found.items())

    def _iterable_use(self, e: Event, kind: str, name: str, chain: tuple):
        def names(value):
            return value is not None and value.kind == kind and value.name == name and \
                value.chain[:len(chain)] == chain

        if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr") and names(e.target):
            return render(name, chain), True
        if e.op != "call":
            return None
        callee = e.target
        if names(callee) and len(callee.chain) > len(chain):
            return render(name, callee.chain), callee.chain[-1] in effects.MUTATORS
        if any(names(a) and a.chain == chain for a in e.args):   # the object itself, not an attribute of it
            obj = self._resolve(callee)
            if isinstance(obj, types.BuiltinFunctionType) and obj.__name__ in self._NOT_ADVANCING:
                return None
            if obj is print or obj is str or obj is repr or obj is type:
                return None
            return render(name, chain), self._call_may_change_arguments(e)
        return None

    def _changed_globals(self) -> tuple:
        """Globals the in-order part assigns, or changes the object of."""
        stored = {ins.arg if isinstance(ins.arg, str) else pyversion.global_name(ins)
                  for s, kind in zip(self.raw, self.kinds) if kind == "commit"
                  for _, ins in self._instrs(s) if ins.name in ("STORE_GLOBAL", "DELETE_GLOBAL")}
        changed = {name for kind, name, _, _ in getattr(self, "mutated", ()) if kind == "global"}
        return tuple(sorted(stored | changed))

    def _iterable_name(self) -> str | None:
        view = self._iterated_view()
        return view[0] if view else None

    @functools.cached_property
    def _view(self):
        return self._iterated_view()

    def _iterated_view(self):
        """(name, view) of the variable the loop iterates: `for k in d` -> (d, "keys");
        `d.keys()`, `d.items()`, `d.values()` -> (d, that method's name); else None."""
        def named(ins):
            if isinstance(ins, Instr) and (ins.name in pyversion.LOCAL_READS or ins.name in ("LOAD_GLOBAL", "LOAD_DEREF")):
                return pyversion.global_name(ins) if ins.name == "LOAD_GLOBAL" else pyversion.deref_name(ins.arg)
            return None

        j = self.loop.iter_insert - 1
        prev = self.items[j] if j >= 0 else None
        if named(prev):
            return named(prev), "keys"
        if not (isinstance(prev, Instr) and prev.name == "CALL" and prev.arg == 0):
            return None
        k = j - 1
        while k > 0 and isinstance(self.items[k], Instr) and self.items[k].name in pyversion.PRECALLS:
            k -= 1
        method = self.items[k]
        if k > 0 and isinstance(method, Instr) and method.name in pyversion.ATTR_LOADS and \
                pyversion.attr_name(method) in ("keys", "items", "values") and named(self.items[k - 1]):
            return named(self.items[k - 1]), pyversion.attr_name(method)
        return None

    def _mutates(self, e: Event) -> bool:
        if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr"):
            return True
        if e.op == "call" and e.target.chain and len(e.target.chain) == 1:
            return e.target.chain[-1] in effects.MUTATORS
        return False

    def _deref_written(self, name: str) -> bool:
        return name in self._deref_writes

    @functools.cached_property
    def _deref_writes(self) -> set:
        return {pyversion.deref_name(ins.arg) for s in self.raw for _, ins in self._instrs(s)
                if ins.name in ("STORE_DEREF", "DELETE_DEREF")}

    def _resolve(self, value):
        """What a callee expression refers to, or None. Globals and closure cells resolve
        through the function, outer locals through the first call's arguments (`self.fetch`).
        Each resolution becomes a guard the runner re-checks at every loop start: a later
        call may pass other objects, and a global may be rebound (`mock.patch`)."""
        if value is None:
            return None
        if value.kind == "local" and (not value.chain or self._is_body_local(value.name)):
            return None
        if value.kind not in ("local", "global", "deref"):
            return None
        constructed_cell = value.kind == "deref" and value.name in self.cellvars
        if value.kind in ("local", "deref") and value.chain and value.name in self._imported and \
                (value.kind == "local" or value.name in self.cellvars):
            try:
                return effects.follow_chain(self._imported[value.name], value.chain)   # `import os` inside
            except Exception:  # noqa: BLE001
                return None
        if (value.kind == "local" and value.name not in self.env.arguments) or constructed_cell:
            cls = self._constructed.get(value.name)
            if cls is None:
                return None
            try:
                return effects.follow_chain(cls, value.chain)   # `work = queue.Queue()`; `work.get`
            except Exception:  # noqa: BLE001
                return None
        try:
            obj = self.env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001 - unknown name, or a descriptor we should not poke at
            return None
        self.guards[(value.kind, value.name, value.chain)] = obj
        return obj

    def _per_function(self, key, compute):
        """compute(), once per function (`shared`)."""
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    @functools.cached_property
    def _assignment_counts(self) -> dict:
        """How many times the function assigns or deletes each local and cell variable."""
        return self._per_function("assignment_counts", self._count_assignments)

    def _count_assignments(self) -> dict:
        counts: dict = {}
        for item in self.items:
            if isinstance(item, Instr) and item.name in ("STORE_FAST", "DELETE_FAST", *pyversion.COMPREHENSION_SAVES,
                                                         "STORE_DEREF", "DELETE_DEREF"):
                name = pyversion.deref_name(item.arg) if "DEREF" in item.name else item.arg
                counts[name] = counts.get(name, 0) + 1
        return counts

    @functools.cached_property
    def _constructed(self) -> dict:
        """Locals the function assigns exactly once, from a call of a class it can resolve
        (`work = queue.Queue()`): name -> class. The class's resolution is guarded."""
        found, guards = self._per_function("constructed", self._find_constructed)
        self.guards.update(guards)
        return found

    def _find_constructed(self) -> tuple[dict, dict]:
        """(`_constructed`, the guards it relies on)."""
        counts = self._assignment_counts
        params = set(self.code.co_varnames[:self.code.co_argcount + self.code.co_kwonlyargcount])
        guards: dict = {}
        try:
            events = simulate(self.items, 0, len(self.items), 0, effects.handler_depths(self.items))
        except Exception:  # noqa: BLE001 - not understood: nothing inferred
            return {}, guards
        calls = {e.index: e.target for e in events if e.op == "call"}
        found = {}
        cell_stores = [(i, pyversion.deref_name(item.arg)) for i, item in enumerate(self.items)
                       if isinstance(item, Instr) and item.name == "STORE_DEREF"]
        stores = [(e.index, e.args[0]) for e in events if e.op == "store-local" and e.args[0] not in self.cellvars]
        for index, name in stores + cell_stores:
            if counts.get(name) != 1 or name in params:
                continue
            callee = calls.get(index - 1)
            if callee is None or callee.kind not in ("global", "deref"):
                continue
            try:
                cls = self.env.lookup(callee.kind, callee.name, callee.chain)
            except Exception:  # noqa: BLE001
                continue
            if isinstance(cls, type):
                guards[(callee.kind, callee.name, callee.chain)] = cls
                found[name] = cls
        return found, guards

    def _synchronizes(self, k: int) -> Refusal | None:
        """A reason when commit statement k waits for or signals other threads
        (`barrier.wait()`, `event.set()`, `queue.get()`) or changes the file system
        (`os.mkdir(d)`, `f.write(...)`): work after it in the iteration must not run before
        it, as it would on a worker."""
        for e in self.events[k]:
            if e.op != "call":
                continue
            if e.index in self._changing_events:
                return Refusal("after-sync", self.raw[k].line, e.target.describe())
            obj = self._resolve(e.target)
            name = effects.qualified_name_or_empty(obj) if obj is not None else self._module_path(e.target)
            method = e.target.chain[-1] if e.target is not None and e.target.chain else None
            if method in ("write", "writelines") or self._opens_for_writing(e, obj) or \
                    effects.filesystem_change(e, self.items, obj) is not None or \
                    (obj is None and (name in effects.SYNCHRONIZING or name in effects.FILESYSTEM_CHANGING)):
                return Refusal("after-sync", self.raw[k].line, e.target.describe())
        return None

    def _opens_for_writing(self, e: Event, obj) -> bool:
        """`open(path, "w")` and friends: creating or truncating a file changes the file system."""
        if obj is None or effects.qualified_name_or_empty(obj) not in ("builtins.open", "_io.open", "io.open"):
            return False
        for value in e.args:
            item = self.items[value.start] if value.kind == "const" else None
            mode = item.arg if isinstance(item, Instr) and item.name == "LOAD_CONST" else None
            if isinstance(mode, str) and len(mode) <= 4 and set(mode) <= set("rwxabt+") and set(mode) & set("wax+"):
                return True
        return False

    def _module_path(self, callee) -> str:
        """`os.mkdir` for a callee read as an attribute of a module, else ''."""
        root = self._resolve_root(callee) if callee is not None and callee.kind in ("global", "deref") else None
        if isinstance(root, types.ModuleType) and callee.chain:
            return ".".join((root.__name__,) + callee.chain)
        return ""

    @functools.cached_property
    def _imported(self) -> dict:
        """Locals bound once by an import inside the function (`import os`, `from os import
        path`) to a module already loaded: name -> the module or object. Nothing is imported."""
        return self._per_function("imported", self._find_imported)

    def _find_imported(self) -> dict:
        import sys

        counts = self._assignment_counts
        found = {}
        top = full = pending = None
        for item in self.items:
            if not isinstance(item, Instr):
                continue
            if item.name == "IMPORT_NAME":
                full, top, pending = sys.modules.get(item.arg), sys.modules.get(item.arg.split(".")[0]), None
            elif item.name == "IMPORT_FROM" and top is not None:
                pending = getattr(full, item.arg, None) if full is not None else None
                if pending is None:
                    pending = getattr(top, item.arg, None)
            elif item.name in ("STORE_FAST", "STORE_DEREF") and top is not None:
                value = pending if pending is not None else top
                name = pyversion.deref_name(item.arg)
                if counts.get(name) == 1:
                    found[name] = value
                pending = None
            elif item.name not in ("LOAD_CONST", "POP_TOP"):
                top = full = pending = None
        return found

    def _is_body_local(self, name: str) -> bool:
        return name in getattr(self, "body_writes", ())

    # ----------------------------------------------------------------- classification
    def _commit_reason(self, s: RawStatement, events: list[Event]) -> Refusal | None:
        """Why statement s must run in order, or None when it may run on a worker."""
        for _, ins in self._instrs(s):
            line = ins.lineno
            if ins.name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                return Refusal("commit:global", line, ins.arg)
            if ins.name in ("STORE_DEREF", "DELETE_DEREF"):
                return Refusal("commit:nonlocal", line, pyversion.deref_name(ins.arg))
            if ins.name in ("IMPORT_NAME", "IMPORT_FROM", "SETUP_ANNOTATIONS", "STORE_NAME", "LOAD_NAME",
                            "DELETE_NAME", *pyversion.NAMESPACE_LOADS):
                return Refusal("commit:instruction", line, ins.name)
            if ins.name in ("STORE_FAST", "DELETE_FAST") and ins.arg in self.cellvars:
                return Refusal("commit:nonlocal", line, ins.arg)
        reason = self._thread_bound_read(s)
        if reason is not None:
            return reason
        for e in events:
            reason = self._event_reason(e)
            if reason is not None:
                return reason
        return None

    def _event_reason(self, e: Event) -> Refusal | None:
        line = self.items[e.index].lineno
        if e.op == "append":
            if e.target is not None and e.target.kind == "fresh" and e.target.start >= 0:
                return None  # an inline comprehension building its own new list in this statement
            return Refusal("commit:append", line, "the comprehension's result")
        if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr", "inplace"):
            root = e.target
            if e.op == "inplace" and root.kind == "local" and not root.chain:
                return None  # rebinding a local: the dataflow rules decide
            if self._is_outer(root) or self._is_target(root) or root.kind not in ("local", "fresh", "const"):
                return Refusal("commit:store", line, root.describe())
            return None
        if e.op == "enter":
            return self._enter_reason(e, line)
        if e.op != "call":
            return None
        callee = e.target
        found = self._made_function_effects(e)
        if found:
            return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
        obj = self._resolve(callee)
        root = self._resolve_root(callee) if callee.kind in ("global", "deref") else None
        if isinstance(root, types.ModuleType) and callee.chain:
            dotted = ".".join((root.__name__,) + callee.chain)
            if dotted in effects.ORDERED_QUALNAMES:
                return Refusal("commit:ordered", line, callee.describe())
        if obj is not None:
            if self._reports_its_failure(e, callee):
                self._output_events.add(e.index)   # captured on a worker, replayed in order
                return None
            if obj in effects.ORDERED_OBJECTS or effects.is_ordered_callable(obj, self.env):
                return Refusal("commit:ordered", line, callee.describe())
            if self._opens_for_writing(e, obj):
                return Refusal("commit:ordered", line, callee.describe())
            if effects.qualified_name_or_empty(obj) in effects.ARGUMENT_CHANGING and \
                    any(self._may_be_shared(a) for a in e.args):
                return Refusal("commit:outer-call", line, callee.describe())
            if obj is getattr and len(e.args) >= 2 and self._may_be_shared(e.args[0]):
                found = effects.getattr_effects(self._held(e.args[0]), effects.constant_name(self.items, e.args[1]),
                                                self._env_for)
                if found:
                    return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
            bound = self._is_bound_method(callee)
            if obj in (setattr, delattr) and e.args:
                args_shared = self._may_be_shared(e.args[0])
            else:
                args_shared = (bound and self._may_be_shared(callee)) or any(self._may_be_shared(a) for a in e.args)
            found = None if self._reads_own_exception(obj, e.index) else \
                effects.opaque_call(obj, self.env, args_shared)
            if found:
                return refusal.unknown_call(line, found, effects.qualified_name_or_empty(obj) or type(obj).__name__,
                                            callee.describe())
            found = self._function_arguments_effects(e)
            if found:
                return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
            if not isinstance(obj, (types.FunctionType, type)) and callable(obj):
                call = inspect.getattr_static(type(obj), "__call__", None)
                if isinstance(call, types.FunctionType):
                    found = effects.ordered_effects_in(call, self._env_for)
                    if found:
                        return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
                    return None
            if isinstance(obj, types.FunctionType):
                # Once per callee and binding: a body calling `fetch` on every line scanned it per call.
                key = ("effects", obj, callee.kind, callee.name, callee.chain,
                       tuple((a.kind, a.name, a.chain, self._may_be_shared(a)) for a in e.args),
                       effects.call_keywords(self.items, e.index))
                found, outputs, changes = self._per_function(key, lambda: self._callee_effects(e, obj))
                if not found and outputs and self.code.co_flags & CO_COROUTINE:
                    # Output is captured per worker thread; an iteration's task shares the
                    # calling thread, so its output would interleave: run the call in order.
                    found = outputs[0] if isinstance(outputs, (list, tuple)) else "output"
                elif not found and outputs:
                    self._output_events.add(e.index)   # captured on a worker, replayed in order
                if changes:
                    self._changing_events.add(e.index)   # the work after it must wait for it
                if found:
                    return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
                return None   # read: it changes nothing other iterations see
            if callee.chain and isinstance(self._resolve_root(callee), types.ModuleType):
                return None
        method = callee.chain[-1] if callee.chain else None
        if method in effects.ORDERED_METHODS or method in effects.PATH_CHANGING_METHODS:
            return Refusal("commit:ordered", line, callee.describe())
        if callee.kind in ("global", "deref") and callee.chain:
            root = self._resolve_root(callee)
            if not isinstance(root, types.ModuleType) and (method in effects.MUTATORS or e.discarded):
                return Refusal("commit:outer-call", line, callee.describe())
            return None
        if callee.kind in ("call", "value") and method in effects.MUTATORS:
            return Refusal("commit:outer-call", line, callee.describe())  # the result may be a shared object
        if callee.kind == "local" and callee.chain:
            if self._is_outer(callee) and (method in effects.MUTATORS or e.discarded):
                # `parser.feed(s)`: called for its effect, most likely on `parser`.
                return Refusal("commit:outer-call", line, callee.describe())
            if self._is_target(callee) and method in effects.MUTATORS:
                return Refusal("commit:outer-call", line, callee.describe())
        return None

    def _made_function_effects(self, e: Event) -> str | None:
        """What a function made in the statement does when it is called or handed to a call
        (3.11's comprehension functions, `map(lambda y: append(y), ys)`, a generator
        expression given to `sum`): its code is scanned like a callee's, its free variables
        unknown (they are this function's cells, filled at run time), so calls through them
        count as unresolved."""
        if e.target is None:
            return None
        ends = [a.start for a in e.args if a.start >= 0] + [e.index]
        values = [(e.target, min(ends))] + [(a, e.index) for a in e.args]
        for value, stop in values:
            if value.kind != "fresh" or value.start < 0:
                continue
            for i in range(value.start, stop):
                ins = self.items[i]
                if not (isinstance(ins, Instr) and ins.name == "LOAD_CONST" and isinstance(ins.arg, types.CodeType)):
                    continue
                code = ins.arg
                key = ("made", code)
                found = self._per_function(key, lambda code=code: self._scan_made(code))
                if found:
                    return found
        return None

    def _scan_made(self, code) -> str | None:
        cells = tuple(types.CellType() for _ in code.co_freevars)
        try:
            func = types.FunctionType(code, self.env.globals, code.co_name, None, cells)
        except Exception:  # noqa: BLE001 - not a function we can rebuild: unknown
            return f"{code.co_name} could not be read"
        return effects.ordered_effects_in(func, self._env_for)

    def _reports_its_failure(self, e: Event, callee) -> bool:
        """True for output written (`print`, `sys.stderr.write`, logging) inside an `except`
        block the loop body opens — the cold error path of a retry (`except: print("API
        error", sys.exc_info()[0]); time.sleep(1)`) — or inside a loop nested in the body. The
        runtime captures it on the worker and replays it in order, so the statement it belongs
        to may run in parallel; output written elsewhere in the body is a statement in order."""
        self._reads_own_exception(None, -1)   # computes the body's handler indices
        if e.index not in self._body_handlers and not self._in_inner_loop(e.index):
            return False
        return effects.captured_output(callee, e, self.items, self.env)

    def _in_inner_loop(self, index: int) -> bool:
        """True when items[index] lies in a loop nested in the body (`for line in
        run(cmd): print(line, end='')`): the output streams with the work, on the worker."""
        k = self.statement_of.get(index)
        if k is None:
            return False
        s = self.raw[k]
        for i in range(s.start, s.stop):
            item = self.items[i]
            if isinstance(item, Instr) and item.name == "FOR_ITER" and isinstance(item.arg, Label):
                end = self.flow.label_index.get(item.arg, -1)
                if i < index < end:
                    return True
        return False

    def _reads_own_exception(self, obj, index: int) -> bool:
        """`sys.exc_info()` & co. inside an `except` block that the loop body itself opens: on
        a worker that is the iteration's own exception, as in plain code (the function's
        handlers around the loop are another matter: a worker does not see them)."""
        handlers = getattr(self, "_body_handlers", None)
        if handlers is None:
            lo, hi = self.loop.for_iter, self.loop.exit
            found = {lo + i for i in effects.in_handler(self.items[lo:hi])}
            # 3.12+ place the `except` blocks after the function's return: the loop's own.
            for start, stop in self.loop.handlers:
                found |= {start + i for i in effects.in_handler(self.items[start:stop])}
            handlers = self._body_handlers = frozenset(found)
        return effects.reads_own_exception(obj, index, handlers)

    def _function_arguments_effects(self, e: Event) -> str | None:
        """What a Python function handed to a call (`sorted(xs, key=noisy)`, `map(log, xs)`,
        `fetch(u, on_done=record)`) does that other iterations would see, or None. Handed
        functions the analysis cannot resolve are left to the callee's own scan."""
        for value in e.args:
            if value.kind not in ("global", "deref", "local") or value.calls:
                continue
            if value.kind == "local" and (value.name not in self.env.arguments or self._is_body_local(value.name)):
                continue
            try:
                func = self.env.lookup(value.kind, value.name, value.chain)
            except Exception:  # noqa: BLE001
                continue
            if isinstance(func, types.MethodType):
                func = func.__func__
            if isinstance(func, types.FunctionType) and not self.env.is_trusted(func):
                found = effects.ordered_effects_in(func, self._env_for)
                if found:
                    return found
            elif callable(func) and not isinstance(func, type):
                found = effects.opaque_call(func, self.env, True)
                if found:
                    return found
        return None

    def _thread_bound_read(self, s: RawStatement) -> Refusal | None:
        """A statement that reads a `threading.local` global or closure variable: on a worker
        it would see the worker's attributes."""
        return self._thread_local_load(i for i, _ in self._instrs(s))

    def _thread_local_load(self, indices) -> Refusal | None:
        """A refusal for the first load among items[indices] of a `threading.local` (a global,
        a closure variable, or an argument the function was called with)."""
        for i in indices:
            ins = self.items[i]
            if not isinstance(ins, Instr):
                continue
            if ins.name == "LOAD_GLOBAL":
                kind, name = "global", pyversion.global_name(ins)
            elif pyversion.is_closure_load(ins) or ins.name == "LOAD_DEREF":
                kind, name = "deref", pyversion.deref_name(ins.arg)
            elif ins.name in pyversion.LOCAL_READS and ins.arg in self.env.arguments and \
                    not self._is_body_local(ins.arg):
                kind, name = "local", ins.arg
            else:
                continue
            try:
                value = self.env.lookup(kind, name)
            except Exception:  # noqa: BLE001
                continue
            if knowledge.is_thread_local(value):
                return Refusal("commit:thread-bound", ins.lineno, name)
        return None

    def _enter_reason(self, e: Event, line) -> Refusal | None:
        """A `with` block whose manager changes what other iterations see when entered or
        left (`redirect_stdout(buf)`, `mock.patch(...)`) keeps its statement in order."""
        made_by = e.args[0] if e.args else None
        made_by_obj = self._resolve(made_by) if made_by is not None else None
        manager_obj = self._resolve(e.target) if made_by is None else None
        if made_by is not None and made_by.kind in ("global", "deref") and not made_by.chain:
            made_by_obj = self._resolve_root(made_by)
        if made_by_obj is None and manager_obj is None:
            return None
        try:
            found = effects.context_manager_effects(manager_obj, made_by_obj, self._env_for)
        except Exception:  # noqa: BLE001
            found = "could not be checked"
        if found:
            described = (made_by or e.target).describe()
            return Refusal("commit:ordered-callee", line, f"with {described}(): {found}")
        return None

    def _is_bound_method(self, callee) -> bool:
        """True for a callee read as an attribute of an object (`self.fetch`), False for a
        plain function, a module's function (`json.loads`, also with `import json` inside the
        function) and a function read from a class: `receiver.call_receiver`'s rule."""
        return self._receiver(callee) is not receiver.NO_RECEIVER

    def _receiver(self, callee):
        """`receiver.call_receiver` for a callee of this function: its root resolved through
        the globals, closure, modules imported inside the function, or the first call's
        arguments (an outer local the loop does not assign)."""
        if callee is None or not callee.chain:
            return receiver.NO_RECEIVER
        if callee.kind in ("global", "deref") or (callee.kind == "local" and callee.name in self._imported):
            root = self._resolve_root(callee)
            return receiver.call_receiver(callee, receiver.UNRESOLVED if root is None else root)
        if callee.kind == "local" and callee.name in self.env.arguments and not self._is_body_local(callee.name):
            return receiver.call_receiver(callee, self.env.arguments[callee.name])
        return receiver.call_receiver(callee)

    def _held(self, value):
        """The object an argument expression names (a global, a closure variable, an outer
        local through the first call's arguments), or `effects.UNKNOWN`."""
        if value.kind == "local" and (value.name not in self.env.arguments or self._is_body_local(value.name)):
            return effects.UNKNOWN
        if value.kind not in ("local", "global", "deref"):
            return effects.UNKNOWN
        try:
            return self.env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001
            return effects.UNKNOWN

    def _resolve_root(self, value):
        if value.kind in ("local", "deref") and value.name in self._imported and \
                (value.kind == "local" or value.name in self.cellvars):
            return self._imported[value.name]   # `import os` inside the function
        try:
            return self.env.lookup(value.kind, value.name)
        except Exception:  # noqa: BLE001
            return None

    def _callee_effects(self, e: Event, func) -> str | None:
        """`effects.ordered_effects_in` for the Python function `func` called by event `e`, with
        its parameters bound to the arguments the analysis can name and marked shared where
        they receive objects other iterations see."""
        callee = e.target
        bound = receiver.for_binding(self._receiver(callee))

        def resolve(value):
            obj = effects.UNKNOWN
            if value.kind in ("global", "deref") or (value.kind == "local" and value.name in self.env.arguments
                                                     and not self._is_body_local(value.name)):
                try:
                    obj = self.env.lookup(value.kind, value.name, value.chain)
                except Exception:  # noqa: BLE001
                    obj = effects.UNKNOWN
            elif value.kind == "local" and not value.chain and not self._is_body_local(value.name) and \
                    value.name in self._constructed:
                # `rng = random.Random(0)` before the loop: its methods are its class's.
                obj = self._constructed[value.name]
            return self._may_be_shared(value), obj

        arguments, shared = effects.bind_call(func, e.args, effects.call_keywords(self.items, e.index), resolve,
                                              bound)
        if bound is not None and not self._may_be_shared(effects.receiver_of(callee)):
            shared = shared - {func.__code__.co_varnames[0]} if func.__code__.co_argcount else shared
        outputs: list = []
        changes: list = []
        found = effects.ordered_effects_in(func, effects.binding(self._env_for, func, arguments), shared_params=shared,
                                           outputs=outputs, changes=changes)
        return found, tuple(outputs), tuple(changes)

    def _callee_env_for(self, callee, func):
        """`_env_for`, with the callee's `self` bound when it is a method of a known object."""
        obj = receiver.for_binding(self._receiver(callee))
        if obj is None or obj is ... or not func.__code__.co_argcount:
            return self._env_for
        return effects.binding(self._env_for, func, {func.__code__.co_varnames[0]: obj})

    def _env_for(self, func) -> effects.Environment:
        closure = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        return effects.Environment(globals=func.__globals__, closure=closure, extra_ordered=self.env.extra_ordered,
                                   trusted=self.env.trusted)

    def _may_be_shared(self, value) -> bool:
        """True when a value may be an object other iterations also see (call results and
        objects built in this iteration are the iteration's own)."""
        if value.kind in ("const", "fresh", "call"):
            return False
        if value.kind == "local":
            return self._is_outer(value) or self._is_target(value)
        return True

    def _is_outer(self, value) -> bool:
        return value.kind == "local" and (value.name not in self.body_writes or value.name in self.aliases)

    def _is_target(self, value) -> bool:
        return value.kind == "local" and value.name in self._target_names()

    def _target_paths(self) -> dict:
        """Loop target name -> index path into the item (`for i, (a, b) in ...`: b -> (1, 1)),
        or {} when the target is not plain names and tuples."""
        stack, paths = [()], {}
        for _, ins in self._instrs(self.raw[0]):
            if ins.name == "UNPACK_SEQUENCE" and stack:
                base = stack.pop()
                stack += [base + (k,) for k in reversed(range(ins.arg))]
            elif ins.name == "STORE_FAST" and stack:
                paths[ins.arg] = stack.pop()
            elif ins.name != "NOP":
                return {}
        return paths

    def _item_calls(self, statements) -> tuple:
        """(path, chain) of each call the map part makes on (part of) the loop's item:
        `model.predict(...)` -> ((), ('predict',)). The analysis cannot see what these run;
        the runner checks them per item type."""
        paths = self._target_paths()
        found = {}
        for callee in self._map_callees(statements):
            if callee.kind == "local" and callee.name in paths:
                found[(paths[callee.name], callee.chain)] = None
        return tuple(found)

    def _input_calls(self, statements, inputs) -> tuple:
        """(input, chain) of each call the map part makes through a loop input the analysis
        could not resolve (`gen.random()` on a `gen` from `pickle.loads`): the runner checks
        what they are at each loop start."""
        found = {}
        for callee in self._map_callees(statements):
            if callee.kind == "local" and callee.name in inputs and callee.chain and \
                    (callee.kind, callee.name, callee.chain) not in self.guards and \
                    callee.name not in self._imported:   # `import json` inside: resolved here
                found[(callee.name, callee.chain)] = None
        return tuple(found)

    def _map_callees(self, statements):
        for k, st in enumerate(statements):
            if k == 0 or not (st.kind == "map" or st.hoists):
                continue
            for e in self.events[k]:
                if e.op == "call" and e.target is not None:
                    yield e.target

    def _target_names(self) -> set:
        return {ins.arg for _, ins in self._instrs(self.raw[0]) if ins.name == "STORE_FAST"}

    def _reads(self, s: RawStatement):
        # LOAD_FAST_AND_CLEAR (3.12+ inline comprehensions) saves a value to restore it: not a read.
        for i, ins in self._instrs(s):
            if pyversion.is_closure_load(ins):
                yield i, pyversion.deref_name(ins.arg), "deref"
            elif ins.name in pyversion.LOCAL_READS:
                yield i, ins.arg, "fast"
            elif ins.name in pyversion.DEREF_LOADS:
                yield i, pyversion.deref_name(ins.arg), "deref"
            elif ins.name == "LOAD_GLOBAL":
                yield i, pyversion.global_name(ins), "global"

    def _classify(self):
        kinds, reasons = [], []
        for k, (s, events) in enumerate(zip(self.raw, self.events)):
            if k == 0:
                kinds.append("map"); reasons.append(None); continue
            if self._is_end(s):
                kinds.append("end"); reasons.append(None); continue
            if s.exits:
                # It ends the loop: only the in-order part may decide that (docs/speculation.md).
                kind, line = s.exits[0]
                kinds.append("commit"); reasons.append(Refusal("commit:exit", line, kind)); continue
            reason = self._commit_reason(s, events)
            kinds.append("commit" if reason else "map")
            reasons.append(reason)
        self._initial_reasons = list(reasons)
        propagate(self, kinds, reasons)   # map statements that depend on the in-order part
        self.mutated = self._mutated_receivers(kinds)
        self._mutated_index = _by_object(self.mutated)
        self.commit_fast, self.commit_names = self._commit_writes(kinds)
        self.kinds = kinds
        return kinds, reasons

    def _commit_writes(self, kinds) -> tuple[set, set]:
        """Locals, and cell/global names, that commit statements assign."""
        fast, names = set(), set()
        for k, s in enumerate(self.raw):
            if kinds[k] != "commit":
                continue
            fast |= self._writes(s)
            names |= {pyversion.deref_name(ins.arg) for _, ins in self._instrs(s)
                      if ins.name in ("STORE_DEREF", "STORE_GLOBAL", "DELETE_DEREF", "DELETE_GLOBAL")}
        return fast, names

    # In-order statements that may write output (print, logging, a callee XCS cannot see into).
    OUTPUT_KINDS = frozenset({"commit:ordered", "commit:ordered-callee", "commit:unknown-call", "commit:instruction",
                              "commit:thread-bound", "commit:outer-call"})

    def _outputs(self, k: int) -> bool:
        """True when statement k calls something whose output the runtime captures."""
        return any(e.index in self._output_events for e in self.events[k])

    def may_output_in_order(self, j: int, kinds) -> bool:
        """True when in-order statement j may write output of its own."""
        if kinds[j] != "commit":
            return False
        reason = self._initial_reasons[j] if j < len(getattr(self, "_initial_reasons", ())) else None
        return (reason is not None and reason.kind in self.OUTPUT_KINDS) or self._outputs(j)

    def _output_order_reason(self, k: int, kinds) -> Refusal | None:
        """Captured output is replayed before the iteration's in-order part runs: a statement
        whose callees print may run on a worker only if no earlier in-order statement of the
        iteration may print before it."""
        if not self._outputs(k):
            return None
        for j in range(1, k):
            if self.may_output_in_order(j, kinds):
                return Refusal("commit:output-order", self.raw[k].line, self.raw[j].line)
        return None

    def _dependency_reason(self, k, s, kinds, commit_fast, commit_names, skipped) -> Refusal | None:
        if skipped:
            return replace(skipped, line=s.line)
        found = self._output_order_reason(k, kinds)
        if found:
            return found
        return self._read_reason(self._reads(s), commit_fast, commit_names) or self._changes_commit_read(k, kinds) \
            or self._callee_reads_reason(self.events[k], kinds, commit_names, commit_fast)

    def _mutations(self):
        """Every (kind, name, chain, statement) the in-order part changes, as known so far."""
        for entries in getattr(self, "_mutated_index", {}).values():
            yield from entries

    def _callee_reads_reason(self, events, kinds, commit_names=None, commit_fast=None) -> Refusal | None:
        """A refusal when a call in `events` reads — itself or in the functions it calls —
        shared state that the in-order part changes (a global set the loop adds to, `self.count`
        the loop increments, a file an earlier iteration writes): on a worker it would run
        before the earlier iterations' in-order parts."""
        commit_names = self.commit_names if commit_names is None else commit_names
        commit_fast = self.commit_fast if commit_fast is None else commit_fast
        if not any(kinds[j] == "commit" for j in range(len(self.raw))):
            return None
        fs_changed = any(kinds[j] == "commit" and self._synchronizes(j) is not None for j in range(len(self.raw)))
        for e in events:
            if e.op != "call" or e.target is None:
                continue
            line = self.items[e.index].lineno
            obj = self._resolve(e.target)
            name = effects.qualified_name_or_empty(obj) if obj is not None else ""
            method = e.target.chain[-1] if e.target.chain else None
            if fs_changed and ((name and (name in effects.FILESYSTEM_READING or
                                          knowledge._lookup(effects.FILESYSTEM_READING, name)))
                               or method in effects.PATH_READING_METHODS):
                return Refusal("commit-read", line, f"the file system, through {e.target.describe()}()")
            if isinstance(obj, types.MethodType):
                obj = obj.__func__
            if not isinstance(obj, types.FunctionType) or self.env.is_trusted(obj):
                if obj is None and e.target.kind == "local" and not e.target.chain and \
                        not self._is_body_local(e.target.name) and self._commit_changes_cells(commit_names):
                    return Refusal("commit-read", line, f"closure variables, through {e.target.name}()")
                continue
            try:
                reads = effects.shared_reads(obj, self._callee_env_for(e.target, obj))
            except Exception:  # noqa: BLE001 - not understood: it may read anything
                reads = frozenset({effects.Read("any")})
            found = self._conflict(reads, e, fs_changed, commit_names, commit_fast)
            if found:
                return Refusal("commit-read", line, f"{found}, through {e.target.describe()}()")
        return None

    def _commit_changes_cells(self, commit_names) -> bool:
        return bool(commit_names & (self.cellvars | set(self.code.co_freevars))) or \
            any(m[0] == "deref" for m in self._mutations())

    def _conflict(self, reads, e: Event, fs_changed: bool, commit_names, commit_fast) -> str | None:
        """What of `reads` (a callee's, for the call event `e`) the in-order part changes, or None."""
        # A method called through its class (`Cls.method(x)`) has no receiver among the arguments.
        bound = self._is_bound_method(e.target)
        passed = ([effects.receiver_of(e.target)] if bound else []) + list(e.args)
        for r in reads:
            if r.kind == "any":
                if commit_names or any(True for _ in self._mutations()):
                    return "what the in-order part changes (the callee is not seen to the bottom)"
            elif r.kind == "fs":
                if fs_changed:
                    return "the file system, which the in-order part changes"
            elif r.kind == "global":
                gid, name = r.key
                if gid == id(self.env.globals) and (name in commit_names or
                                                     any(m[0] == "global" and m[1] == name for m in self._mutations())):
                    return f"`{name}`"
            elif r.kind == "cell":
                if r.key in commit_names or any(m[0] == "deref" and m[1] == r.key for m in self._mutations()):
                    return f"`{r.key}`"
            elif r.kind == "param" and r.key < len(passed):
                value = passed[r.key]
                if value.kind not in ("local", "global", "deref"):
                    continue
                if value.kind == "local" and self._per_iteration(value.name) and value.name not in self.aliases:
                    continue
                if value.kind == "local" and value.name in commit_fast:
                    return f"`{value.name}`"
                chain = value.chain + ((r.attr,) if r.attr else ())
                kind, name, chain = self._canonical(value.kind, value.name, chain)
                chain = up_to_any_key(chain)
                for mkind, mname, mchain, _ in self._mutations():
                    if mkind == kind and mname == name:
                        n = min(len(chain), len(mchain))
                        if chain[:n] == mchain[:n]:
                            return f"`{render(name, chain)}`"
                if kind in ("global", "deref") and not chain and name in commit_names:
                    return f"`{name}`"
        return None

    def _changes_commit_read(self, k: int, kinds) -> Refusal | None:
        """A map statement that changes an object an earlier commit statement of the same
        iteration reads (`print(data); data.sort()`): on a worker it would change it first."""
        first_read = self._first_commit_read   # local -> first commit statement reading it (`propagate`)

        def read_before(name):
            return first_read.get(name, k) < k

        if not first_read or min(first_read.values()) >= k:
            return None
        for e in self.events[k]:
            if e.op == "call" and any(a.kind == "local" and read_before(a.name) for a in e.args) and \
                    self._call_may_change_arguments(e):
                name = next(a.name for a in e.args if a.kind == "local" and read_before(a.name))
                return Refusal("changes-commit-read", self.items[e.index].lineno, name)
            root = e.target
            if root is None or root.kind != "local" or not read_before(root.name):
                continue
            changes = e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr") or \
                (e.op == "inplace" and root.chain) or \
                (e.op == "call" and root.chain and root.chain[-1] in effects.MUTATORS)
            if changes:
                return Refusal("changes-commit-read", self.items[e.index].lineno, root.name)
        return None

    def _mutated_receivers(self, kinds, statements=None) -> list:
        """(kind, name, element chain, statement index) of every object a commit statement
        (of `statements`, default all) may change: what it stores into or calls a mutating
        method on, and what it passes to a call that may change its arguments
        (`config.write(buffer)` fills `buffer`)."""
        out = []
        for k in range(len(self.events)) if statements is None else statements:
            events = self.events[k]
            if kinds[k] != "commit":
                continue
            for e in events:
                if e.op == "call" and self._call_may_change_arguments(e, known_only=not self._outermost(e)):
                    for value in e.args:
                        if value.kind in ("local", "global", "deref"):
                            kind, name, chain = self._canonical(value.kind, value.name, value.chain)
                            out.append((kind, name, up_to_any_key(chain), k))
                root = e.target
                if root is None or root.kind not in ("local", "global", "deref"):
                    continue
                if e.op in ("store-attr", "delete-attr"):
                    chain = root.chain + (self.items[e.index].arg,)
                elif e.op in ("store-subscr", "delete-subscr"):
                    chain = root.chain + (subscript_element(self.items, e.args[-1]),)
                elif e.op == "inplace" and root.chain:
                    chain = root.chain
                elif e.op == "call" and root.chain and (root.chain[-1] in effects.MUTATORS or e.discarded):
                    chain = root.chain[:-1]
                else:
                    continue
                kind, name, chain = self._canonical(root.kind, root.name, chain)
                out.append((kind, name, up_to_any_key(chain), k))
        return out

    def _call_may_change_arguments(self, e: Event, known_only: bool = False) -> bool:
        """False for calls known to leave their arguments alone: print and logging, methods
        that put an argument into a container, builtins, Python functions that (scanned)
        change no argument; True for anything else — or, with `known_only` (a call nested in
        another, which may yet be hoisted), only for calls known to change them (`next(it)`)."""
        callee = e.target
        method = callee.chain[-1] if callee is not None and callee.chain else None
        if method in effects.STORES_ARGUMENT or method in effects.LOGGING_METHODS:
            return False
        obj = self._resolve(callee)
        if obj is print:
            return self._has_keywords(e.index)   # print(..., file=buffer) writes into buffer
        if isinstance(obj, types.BuiltinFunctionType) and getattr(obj, "__module__", None) == "builtins":
            return obj.__name__ in ("next", "iter", "setattr", "delattr", "exec", "eval")
        if effects.qualified_name_or_empty(obj) in effects.ARGUMENT_CHANGING:
            return True
        if isinstance(obj, types.FunctionType):
            try:
                # Output it writes (captured and replayed in order) changes no argument.
                return self._per_function(("effects-captured", obj),
                                          lambda: effects.ordered_effects_in(obj, self._env_for, outputs=[])) \
                    is not None
            except Exception:  # noqa: BLE001
                return True
        return not known_only

    def _outermost(self, e: Event) -> bool:
        """True for a call whose result is dropped or assigned, not passed on: a call nested
        in another is a candidate for hoisting into the map part."""
        items = self.items
        nxt = next((items[j] for j in range(e.index + 1, len(items)) if isinstance(items[j], Instr)), None)
        return nxt is None or nxt.name in ("POP_TOP", "STORE_FAST", "STORE_ATTR", "STORE_SUBSCR", "STORE_GLOBAL",
                                           "STORE_DEREF", "RETURN_VALUE", "UNPACK_SEQUENCE")

    def _has_keywords(self, index: int) -> bool:
        item = self.items[index]
        if item.name in pyversion.KEYWORD_CALLS:
            return True
        previous = self.items[index - 1] if index else None
        return isinstance(previous, Instr) and previous.name in pyversion.KEYWORD_NAMES

    def _per_iteration(self, name: str) -> bool:
        """True for a local the body assigns before reading it: a new object each iteration."""
        return name in self.body_writes and name not in self.aliases and name not in self._target_names()

    def _read_chain(self, i: int) -> tuple:
        """The attributes and constant subscripts read right after the load at items[i]."""
        chain = []
        k = i + 1
        while k < len(self.items):
            item = self.items[k]
            if isinstance(item, Instr) and item.name in pyversion.ATTR_LOADS:
                chain.append(pyversion.attr_name(item))
                k += 1
                continue
            nxt = self.items[k + 1] if k + 1 < len(self.items) else None
            if isinstance(item, Instr) and item.name == "LOAD_CONST" and type(item.arg) in (str, int) and \
                    isinstance(nxt, Instr) and nxt.name == "BINARY_SUBSCR":
                chain.append(f"[{item.arg!r}]")
                k += 2
                continue
            break
        return tuple(chain)

    def _reads_mutated(self, i: int, name: str, kind: str) -> bool:
        """True when the read at items[i] may see an object a commit statement changes: any
        commit for shared objects; for the iteration's own objects, a commit before it."""
        kind, name, chain = self._canonical({"fast": "local"}.get(kind, kind), name, self._read_chain(i))
        chain = up_to_any_key(chain)
        at = self.statement_of.get(i)
        own = kind == "local" and self._per_iteration(name)
        for _, _, mchain, k in getattr(self, "_mutated_index", {}).get((kind, name), ()):
            if own and at is not None and k >= at:
                continue   # this iteration's object, changed only after the read
            n = min(len(chain), len(mchain))
            if chain[:n] == mchain[:n]:
                return True
        return False

    def _read_reason(self, reads, commit_fast, commit_names) -> Refusal | None:
        for i, name, kind in reads:
            line = self.items[i].lineno
            if self._reads_mutated(i, name, kind):
                # The loop target is never rebound by the in-order part (that is a
                # `commit-read` below); what may change is the item object it names, passed to
                # an in-order call that may change its arguments (`log_item(x)`).
                kind_of = "item-changed" if kind == "fast" and name in self._target_names() else "commit-read"
                return Refusal(kind_of, line, render(name, self._read_chain(i)))
            if kind == "fast":
                if name in commit_fast:
                    return Refusal("commit-read", line, name)
                if name in self.body_writes and name not in self.defined.get(i, frozenset()):
                    return Refusal("carried", line, name)
            elif name in commit_names:
                return Refusal("commit-read", line, name)
        return None

    def _is_end(self, s: RawStatement) -> bool:
        instrs = [ins for _, ins in self._instrs(s)]
        return len(instrs) == 1 and instrs[0].name.startswith("JUMP") and \
            self.flow.label_index[instrs[0].arg] == self.loop.head

    # ----------------------------------------------------------------- hoisting
    def _statements(self, kinds, reasons):
        out, notes = [], []
        hoist_count = 0
        skipped = False
        for k, (s, events) in enumerate(zip(self.raw, self.events)):
            writes = tuple(sorted(self._writes(s)))
            hoists = ()
            why = () if reasons[k] is None else (reasons[k],)
            if kinds[k] == "commit" and not skipped:
                hoists, hoist_count = self._hoists(s, events, hoist_count, notes)
            if kinds[k] == "commit":
                skipped = skipped or s.skips or bool(s.exits) or self._synchronizes(k) is not None
            out.append(Statement(s.start, s.stop, kinds[k], s.line, writes, s.skips, tuple(s.handlers),
                                 hoists, why, tuple(s.exits)))
        return self._last_stage_in_try(out, notes), notes

    def _last_stage_in_try(self, statements, notes):
        """Keep hoists inside a `try` only when nothing of the map part follows them.

        A hoisted call that raises is re-raised where it stood, so the statement's own
        `except` catches it on the calling thread; the iteration's work stopped at that
        failure, so no later map value would exist for the code after the handler.
        """
        out = list(statements)
        work_after = [False] * len(out)   # some later statement is map or hoists
        for k in range(len(out) - 2, -1, -1):
            later = out[k + 1]
            work_after[k] = work_after[k + 1] or later.kind == "map" or bool(later.hoists)
        for k, st in enumerate(out):
            if not st.hoists or not self._opens_try(st):
                continue
            if work_after[k]:
                out[k] = replace(st, hoists=())
                why = Refusal("commit:hoist-in-try", st.line, "")
                if why not in notes:
                    notes.append(why)
        return out

    def _opens_try(self, st) -> bool:
        if self.code.co_flags & CO_COROUTINE:
            # An await's own ranges and CLEANUP_THROW blocks are not a `try` statement.
            tries = [self.items[i] for i in range(st.start, st.stop) if isinstance(self.items[i], TryBegin)]
            only = pyversion.THROW_CLEANUPS | {"JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"}
            blocks = [(lo, hi) for lo, hi in st.handlers
                      if {x.name for x in self.items[lo:hi] if isinstance(x, Instr)} - only]
            return bool(blocks) or any(not self._await_range(t) for t in tries)
        return bool(st.handlers) or any(isinstance(self.items[i], TryBegin) for i in range(st.start, st.stop))

    def _unconditional(self, s, start: int, taken=()) -> bool:
        """True when items[start] runs exactly once whenever statement s runs: nothing
        before it in the statement jumps, is jumped to, or enters a `with` block (jumps
        inside expressions already hoisted, `taken`, run whole in the map part)."""
        for i in range(s.start, start):
            if any(lo <= i < hi for lo, hi in taken):
                continue
            item = self.items[i]
            if isinstance(item, Label):
                return False
            if isinstance(item, Instr) and (isinstance(item.arg, Label) or
                                            item.name in ("BEFORE_WITH", "BEFORE_ASYNC_WITH")):
                return False
        return True

    def _calls(self, st) -> bool:
        return any(isinstance(self.items[i], Instr) and self.items[i].name in pyversion.CALLS
                   for i in range(st.start, st.stop))

    def _hoists(self, s, events, count, notes):
        hoists = []
        taken: list = []
        for e in events:
            if e.op == "call" and not e.discarded:
                continue
            if e.op not in ("call", "store-subscr", "store-attr", "inplace", "append", "store-local", "store-cell",
                            "enter"):
                continue
            # A `with` in the in-order part: its manager expression (`urlopen(url)`) may run
            # in the map part, like the value of an in-order assignment.
            if e.op == "enter" and self._enter_reason(e, None) is not None:
                continue   # a manager that swaps process-wide state: its block is the point
            if e.op == "store-cell" and e.args[0] in self._shared_cells:
                continue   # a nonlocal: functions the work calls may read it before the store
            for span in self._operand_spans(s, e):
                self._hoist(s, span, taken, notes)
        if s.exits:
            # `if probe(m).ok: break`: the test that decides whether to leave runs in the map part.
            for span in self._condition_spans(s):
                self._hoist(s, span, taken, notes)
        taken.sort()
        for start, stop in taken:
            hoists.append(Hoist(start, stop, f"__xcs_h{count}"))
            count += 1
        return tuple(hoists), count

    def _condition_spans(self, s) -> list:
        """(start, stop) of the test of the statement's first conditional jump (`if c: break`)."""
        for i in range(s.start, s.stop):
            item = self.items[i]
            if isinstance(item, Instr) and item.name in pyversion.CONDITIONAL_JUMPS:
                depth = self.flow.depth.get(i)
                if depth is None:
                    return []
                return list(self._slot_spans(s, depth - 1, depth, i).values())
            if isinstance(item, Instr) and isinstance(item.arg, Label):
                return []
        return []

    def _speculative_calls(self, statements) -> tuple:
        """The calls the work of a speculative loop makes, followed into Python callees:
        (described callee, line, object or None, positional count, keywords) of each call of
        a trusted client (`requests.get`, an `@xcs.io` function) and of each callee the
        analysis cannot name. Methods of the iteration's own objects (`r.json()`) are not
        listed: the analysis already holds them to be the iteration's own."""
        found: list = []
        for k, st in enumerate(statements):
            events = []
            if k > 0 and st.kind == "map":
                events += self.events[k]
            for h in st.hoists:
                events += simulate(self.items, h.start, h.stop, 0, {})
            for e in events:
                if e.op != "call":
                    continue
                line = self.items[e.index].lineno
                keywords = effects.call_keywords(self.items, e.index)
                target = e.target
                if target is None:
                    found.append(("<a computed callee>", line, None, len(e.args) - len(keywords), keywords))
                    continue
                if target.kind in ("call", "fresh", "const", "value", "self") or \
                        (target.kind == "local" and self._is_body_local(target.name) and
                         target.name not in self.aliases and target.name not in self._target_names()):
                    continue
                if target.kind == "local" and target.name in self._target_names():
                    # A method of the loop's item: what it is is known only as items arrive.
                    found.append((target.describe(), line, None, len(e.args) - len(keywords), keywords))
                    continue
                obj = self._resolve(target)
                if obj is None:
                    found.append((target.describe(), line, None, len(e.args) - len(keywords), keywords))
                    continue
                root = self._resolve_root(target) if target.kind in ("global", "deref") else \
                    self._speculation_resolve(replace(target, chain=()))
                found += speculation.external_calls(obj, target.describe(), line, e.args, keywords, self.env,
                                                    self._env_for, self._speculation_resolve,
                                                    speculation.receiver_of(root, target.chain))
        return tuple(dict.fromkeys(found))

    def _speculation_resolve(self, value):
        """What a loop-level argument value is, for `effects.external_calls`."""
        if value.kind in ("const", "fresh", "call", "value"):
            return speculation.OWN
        if value.kind == "local" and self._is_body_local(value.name) and value.name not in self.aliases:
            return speculation.UNKNOWN if value.name in self._target_names() else speculation.OWN
        obj = self._resolve(value) if value.kind != "local" or value.name in self.env.arguments else None
        if obj is None and value.kind == "local" and not value.chain:
            try:
                obj = self.env.lookup("local", value.name)
            except Exception:  # noqa: BLE001
                obj = None
        return speculation.UNKNOWN if obj is None else obj

    def _work_reads_item(self, statements) -> bool:
        """True when the work (map statements, hoisted arguments) reads the loop's item: a
        loop that may leave early and whose work does not (`for attempt in range(5): r =
        get(url); if r.ok: break`) repeats one call until it succeeds — a retry or a poll,
        whose later attempts must wait for the earlier ones to fail."""
        targets = self._target_names()
        for k, st in enumerate(statements):
            spans = [range(h.start, h.stop) for h in st.hoists]
            if k > 0 and st.kind == "map":
                spans.append(range(st.start, st.stop))
                spans += [range(lo, hi) for lo, hi in st.handlers]
            for span in spans:
                if any(isinstance(self.items[i], Instr) and self.items[i].name in pyversion.LOCAL_READS
                       and self.items[i].arg in targets for i in span):
                    return True
                if any(isinstance(self.items[i], Instr) and pyversion.SUPERINSTRUCTIONS.get(self.items[i].name)
                       and any(a in targets for a in _fused_names(self.items[i].arg)) for i in span):
                    return True
        return False

    def _iterable_made_here(self) -> bool:
        """True when the iterable expression ends in a call of a class (`enumerate(xs)`,
        `zip(a, b)`, `itertools.count()`): the new object it makes is held by the loop alone
        (`iter(it)` is no such call: it hands back `it`)."""
        stop = self.loop.iter_insert
        total, start = 0, None
        for k in range(stop - 1, -1, -1):
            item = self.items[k]
            if not isinstance(item, Instr):
                return False
            total += item.stack_effect(jump=False)
            if total >= 1:
                start = k
                break
        if start is None:
            return False
        try:
            events = simulate(self.items, start, stop, 0, {})
        except Exception:  # noqa: BLE001
            return False
        last = next((e for e in reversed(events) if e.op == "call"), None)
        if last is None or not any(isinstance(self.items[j], Instr) and self.items[j].name in
                                   pyversion.CALLS for j in range(last.index, stop)) or \
                last.index != max(j for j in range(start, stop) if isinstance(self.items[j], Instr)):
            return False
        return isinstance(self._resolve(last.target) if last.target is not None else None, type)

    def _hoist_output_order(self, s, start: int, stop: int) -> Refusal | None:
        """A hoisted expression whose callees print runs before the whole in-order part: only
        when nothing in order before it — earlier statements, or earlier calls of its own
        statement — may print first."""
        if not any(start <= i < stop for i in self._output_events):
            return None
        k = next(j for j, raw in enumerate(self.raw) if raw.start == s.start)
        for j in range(1, k):
            if self.may_output_in_order(j, self.kinds):
                return Refusal("commit:output-order", s.line, self.raw[j].line)
        if any(isinstance(self.items[i], Instr) and self.items[i].name in pyversion.CALLS
               for i in range(s.start, start)):
            return Refusal("commit:output-order", s.line, s.line)
        return None

    def _hoist(self, s, span, taken, notes) -> None:
        """Hoist items[start:stop] into the map part, or else the self-contained call
        expressions inside it that may run there (`d[x] = d.get(x, 0) + fetch(x)`: `d.get`
        reads what the statement writes, `fetch(x)` does not), recursively."""
        start, stop = span
        if any(a < stop and start < b for a, b in taken) or not self._has_call(start, stop):
            return
        why = self._hoist_refusal(start, stop) or self._hoist_output_order(s, start, stop)
        if why is None:
            if self._unconditional(s, start, taken):
                taken.append(span)
            return
        before = len(taken)
        for sub in self._sub_spans(s, start, stop):
            self._hoist(s, sub, taken, [])
        if len(taken) == before and why not in notes:
            notes.append(why)

    def _has_call(self, start, stop) -> bool:
        return any(isinstance(item, Instr) and item.name in pyversion.CALLS
                   for item in self.items[start:stop])

    def _operand_spans(self, s, e) -> list:
        """(start, stop) of the expressions computing the operands of event e that may be
        hoisted: a call's arguments, a stored value and subscript key, an appended value,
        an assigned value, a `with` manager."""
        end = self._group_start(s, e.index)
        depth = self.flow.depth.get(end)
        if depth is None:
            return []
        ins = self.items[e.index]
        if e.op == "call":
            pops = 3 + (ins.arg & 1) if ins.name == "CALL_FUNCTION_EX" else \
                ins.arg + (3 if ins.name in pyversion.KEYWORD_CALLS else 2)
            wanted = [depth - pops + 2 + k for k in range(len(e.args))]
            lowest = depth - pops + 2
        elif e.op == "store-subscr":
            wanted, lowest = [depth - 3, depth - 1], depth - 3
        elif e.op == "store-attr":
            wanted, lowest = [depth - 2], depth - 2
        elif e.op == "append":
            wanted = [depth - len(e.args) + k for k in range(len(e.args))]
            lowest = min(wanted, default=depth)
        else:   # inplace (the right operand), store-local, enter
            wanted, lowest = [depth - 1], depth - 1
        return [span for slot, span in self._slot_spans(s, lowest, depth, end).items() if slot in wanted]

    def _group_start(self, s, index: int) -> int:
        """index, moved back over the PRECALL / KW_NAMES (3.11, 3.12) that belong to it."""
        while index > s.start and isinstance(self.items[index - 1], Instr) and \
                self.items[index - 1].name in pyversion.CALL_PREFIXES:
            index -= 1
        return index

    def _slot_spans(self, s, lowest: int, depth: int, end: int) -> dict:
        """Stack slot -> (start, stop) of the self-contained expression that pushed it, for
        the slots lowest..depth-1 on the stack before items[end] (found from the top down:
        an expression starts where the stack last had its slot's depth, at a point no jump
        crosses — inside `a if c else b` the depth drops back after the condition)."""
        crossed = self._crossed(s)
        spans = {}
        stop = end
        for slot in range(depth - 1, lowest - 1, -1):
            start = None
            for j in range(stop - 1, s.start - 1, -1):
                item = self.items[j]
                if not isinstance(item, Instr):
                    continue
                d = self.flow.depth.get(j)
                if d is None or d < slot:
                    break
                if d == slot and j not in crossed:
                    start = j
                    break
            if start is None:
                break
            if self._self_contained(s, start, stop):
                spans[slot] = (start, stop)
            stop = start
        return spans

    def _crossed(self, s) -> set:
        """Item indices of statement s that a jump inside s passes over (`a if c else b`
        after its condition, a loop's body): no expression of the statement starts there.
        Jumps out of the statement (`continue`, the end of a `try`) merge nothing inside it."""
        crossed = set()
        for i in range(s.start, s.stop):
            item = self.items[i]
            if not (isinstance(item, Instr) and isinstance(item.arg, Label)):
                continue
            t = self.flow.label_index.get(item.arg)
            if t is not None and s.start <= t < s.stop:
                crossed.update(range(i + 1, t + 1) if t > i else range(t + 1, i + 1))
        return crossed

    def _self_contained(self, s, start: int, stop: int) -> bool:
        """True when items[start:stop] holds no try range, its jumps go forward to labels
        inside it, and nothing else in the statement jumps into it."""
        inside = set()
        coroutine = self.code.co_flags & CO_COROUTINE
        for i in range(start, stop):
            item = self.items[i]
            if isinstance(item, (TryBegin, TryEnd)):
                if not (coroutine and self._await_range(item)):
                    return False
            elif isinstance(item, Label):
                inside.add(item)
            elif not isinstance(item, Instr):
                return False
        for i in s.indices():
            item = self.items[i]
            if not (isinstance(item, Instr) and isinstance(item.arg, Label)):
                continue
            t = self.flow.label_index.get(item.arg)
            if start <= i < stop:
                if item.arg not in inside or (t <= i and not (coroutine and item.name == "JUMP_BACKWARD_NO_INTERRUPT")):
                    return False
            elif item.arg in inside and not (coroutine and self.cleanup_block(item.arg, i)):
                return False
        return True

    def _await_range(self, item) -> bool:
        """True for a try marker an `await` brings (3.12+): the range of its YIELD_VALUE, or a
        piece of the range around the loop that the await interrupts."""
        begin = item if isinstance(item, TryBegin) else item.entry
        if begin.target is self.loop.outer_try:
            return True
        return self.cleanup_block(begin.target) is not None

    def cleanup_block(self, label, jump_index: int | None = None):
        """(start, stop) of the out-of-line CLEANUP_THROW block at `label` (3.12+: an await's
        throw path, which jumps back to its END_SEND), or None. With `jump_index`: the block
        whose closing jump is that instruction."""
        if jump_index is not None:
            k = jump_index - 1
            while k >= 0 and not isinstance(self.items[k], Instr):
                k -= 1
            if k < 0 or self.items[k].name not in pyversion.THROW_CLEANUPS:
                return None
            return True
        first = self.flow.target(label)
        if first is None or self.items[first].name not in pyversion.THROW_CLEANUPS:
            return None
        stop = first + 1
        while stop < len(self.items) and not (isinstance(self.items[stop], Instr) and isinstance(self.items[stop].arg, Label)):
            stop += 1
        return self.flow.label_index[label], stop + 1

    def _sub_spans(self, s, start: int, stop: int) -> list:
        """The operand expressions of the operation that ends items[start:stop], when it
        has no jumps: `d.get(x, 0)` and `fetch(x)` in `d.get(x, 0) + fetch(x)`."""
        if any(not isinstance(item, Instr) or isinstance(item.arg, Label) for item in self.items[start:stop]):
            return []
        end = self._group_start(s, stop - 1)
        depth = self.flow.depth.get(end)
        slot = self.flow.depth.get(start)
        if depth is None or slot is None or end <= start:
            return []
        return [span for _, span in sorted(self._slot_spans(s, slot, depth, end).items())
                if span != (start, stop) and span[0] >= start]

    def _hoist_refusal(self, start, stop) -> Refusal | None:
        """Why the argument expression items[start:stop] cannot run in the map part, or None."""
        instrs = self.items[start:stop]
        awaits = AWAIT_OPS if self.code.co_flags & CO_COROUTINE else ()
        for ins in instrs:
            if not isinstance(ins, Instr):
                continue   # the labels of a conditional expression or a short-circuit
            if ins.name not in PURE_OPS and ins.name not in BRANCH_OPS and ins.name not in awaits:
                return Refusal("commit:instruction", ins.lineno, ins.name)
        reads = [(i, *rest) for i, *rest in
                 ((i, pyversion.global_name(ins) if ins.name == "LOAD_GLOBAL" else
                   (pyversion.deref_name(ins.arg) if ins.name == "LOAD_DEREF" else ins.arg),
                   {"LOAD_GLOBAL": "global", "LOAD_DEREF": "deref"}.get(ins.name, "fast"))
                  for i, ins in zip(range(start, stop), instrs)
                  if isinstance(ins, Instr) and (ins.name in pyversion.LOCAL_READS or ins.name in ("LOAD_GLOBAL", "LOAD_DEREF")))]
        reason = self._read_reason(reads, self.commit_fast, self.commit_names)
        if reason is not None:
            return reason
        found = self._thread_local_load(range(start, stop))
        if found is not None:
            return found
        events = simulate(self.items, start, stop, 0, {})
        for e in events:
            reason = self._event_reason(e)
            if reason is not None:
                return reason
        return self._callee_reads_reason(events, self.kinds)

    # ----------------------------------------------------------------- inputs
    def _watched(self, inputs) -> tuple:
        """Locals bound before the loop that only the in-order part changes (`dst[k] = v`): the
        analysis took each for an object of its own, distinct from the inputs the work reads;
        a loop-start check compares their identities (`f(d, d)`)."""
        at_loop = getattr(self, "_at_loop", frozenset())   # set by `_inputs`
        names = {name for kind, name, _, _ in self.mutated if kind == "local"}
        return tuple(sorted(n for n in names if n not in inputs and n not in self.body_writes
                            and n not in self.cellvars and n in at_loop))

    def _inputs(self, statements):
        fast, closure = set(), set()
        for st in statements:
            spans = []
            if st.kind == "map":
                spans.append(range(st.start, st.stop))
                spans += [range(lo, hi) for lo, hi in st.handlers]
            spans += [range(h.start, h.stop) for h in st.hoists]
            for span in spans:
                for i in span:
                    ins = self.items[i]
                    if not isinstance(ins, Instr):
                        continue
                    if pyversion.is_closure_load(ins) or ins.name in pyversion.DEREF_LOADS:
                        closure.add(pyversion.deref_name(ins.arg))
                    elif ins.name in pyversion.LOCAL_READS and ins.arg not in self.body_writes:
                        fast.add(ins.arg)
        code = self.code
        nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
        entry = self.flow.next_instr(0)
        defined = self._per_function("defined",
                                     lambda: definitely_assigned(self.flow, entry, frozenset(code.co_varnames[:nargs])))
        at_loop = defined.get(self.loop.iter_insert, frozenset())
        self._at_loop = at_loop
        unbound = [Refusal("unbound-input", self.line, name) for name in sorted(fast) if name not in at_loop]
        return tuple(sorted(fast)), tuple(sorted(closure)), unbound


def _staying(reasons: tuple) -> tuple:
    """The reasons of a loop that stays sequential: without the notes on statements that
    leave it ("later iterations' work starts speculatively" — nothing does)."""
    return tuple(r for r in reasons if r.kind != "commit:exit")


def _fused_names(arg) -> tuple:
    """The local names a 3.13 fused load/store (`LOAD_FAST_LOAD_FAST`) names."""
    return tuple(a for a in arg if isinstance(a, str)) if isinstance(arg, tuple) else ()


def _by_object(mutated: list) -> dict:
    """`_mutated_receivers`' entries grouped by (kind, name), in order."""
    out: dict = {}
    for entry in mutated:
        out.setdefault(entry[:2], []).append(entry)
    return out
