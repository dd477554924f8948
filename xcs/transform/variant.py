"""Build the variant of a function: its parallel loops feed on a runner's ordered results.

For each chosen loop the variant calls `runner(iterable, body, inputs)` where the original
took `iter(iterable)`, and its loop body becomes the commit part: it takes the body's
result tuple, raises the iteration's exception if it carries one, re-assigns map variables
where their statements stood, honours `continue`s, and runs the commit statements in order
(with hoisted arguments read from the tuple).
"""
from __future__ import annotations

from bytecode import Bytecode, CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.analysis.asyncfor import restored
from xcs.transform import awaits
from xcs.transform.body import BodyBuilder
from xcs.transform.jumps import fix_directions
from xcs.transform.layout import DELETED, UNSET, Layout


class TransformError(Exception):
    """The variant could not be built; the function keeps its original code."""


def chosen_loops(facts) -> list:
    """Parallel loops not nested inside another parallel loop."""
    parallel = {lp.for_iter: lp for lp in facts.loops if lp.parallel}
    chosen = []
    by_index = {o.for_iter: o for o in facts.loops}
    for lp in parallel.values():
        outer, enclosed = lp.nested_in, False
        while outer is not None:
            if outer in parallel:
                enclosed = True
                break
            outer = by_index[outer].nested_in
        if not enclosed:
            chosen.append(lp)
    return sorted(chosen, key=lambda lp: lp.for_iter)


def build_variant(facts, runners: dict, constants: dict | None = None, take_turn=None):
    """The variant code object of `facts.code`.

    `runners` maps each chosen loop's FOR_ITER index to its runner callable; `constants`
    maps nested code objects (comprehensions on 3.11) to their variants. `take_turn` (the
    runtime's): calls a loop's analysis turned (`LoopFacts.turned_calls`) call callee
    variants taking it; without it such a loop is not transformed.
    """
    code = facts.code
    items = list(facts.items)
    loops = [lp for lp in chosen_loops(facts) if lp.for_iter in runners]
    cellvars = set(code.co_cellvars)
    plans = {}
    for n, lp in enumerate(loops):
        layout = Layout.of(lp)
        body_code = BodyBuilder(facts, lp, layout, _substitutions(facts, lp, take_turn),
                                _turn_points(facts, lp, take_turn)).build(lp.inputs, lp.closure, lp.outer_try)
        closure = [CellVar(v) if v in cellvars else FreeVar(v) for v in lp.closure]
        plans[lp.for_iter] = (lp, layout, body_code, closure, f"__xcs_r{n}")
    skip = set()
    for lp, *_ in plans.values():
        for st in lp.statements:
            if st.kind == "map":
                for lo, hi in st.handlers:
                    skip.update(range(lo, hi))
            for h in st.hoists:   # an awaited argument's throw path moved with it
                for lo, hi in awaits.cleanup_blocks(items, h.start, h.stop):
                    skip.update(range(lo, hi))
    outer_targets = {lp.outer_try for lp, *_ in plans.values()} - {None}
    inserts = {lp.iter_insert: lp.for_iter for lp, *_ in plans.values()}
    # (An `async for`'s exit in `for` shape is not in the built code: its result tuple is
    # left to the function's end.)
    exits = {_after_exit(items, lp.exit): result for lp, _, _, _, result in plans.values() if not lp.pulls_async}
    coroutine = bool(code.co_flags & pyversion.CO_COROUTINE)
    aborts = {lp.for_iter: AbortPlan(facts, lp, runners[lp.for_iter]) for lp, *_ in plans.values()} if coroutine else {}
    handler_blocks = {lo: (hi, plan) for plan in aborts.values() for lo, hi in plan.blocks}
    block_ends: dict = {}
    out: list = []
    i = 0
    while i < len(items):
        item = items[i]
        if i in block_ends:
            out.append(awaits.RetargetEnd())
            del block_ends[i]
        if i in handler_blocks:
            hi, plan = handler_blocks[i]
            out.append(awaits.Retarget(plan.handler, plan.enclosing_target))
            block_ends[hi] = True
        if i in skip:
            # A range around the loop may end inside a map statement's handler block (on
            # 3.12+ the one re-opened after an `await` ends in its CLEANUP_THROW block): it
            # must end there in the variant too, not run on over the code that follows.
            if coroutine and _continues(item, outer_targets):
                out.append(item)
            i += 1
            continue
        if i in inserts:
            lp, layout, body_code, closure, _ = plans[inserts[i]]
            runner = runners[lp.for_iter]
            if lp.pulls_async:
                # `async for`: the runner gets the async iterable and hands back async steps,
                # which the loop's own header (GET_AITER, GET_ANEXT...) pulls from.
                out += _runner_call(runner.pull_async, body_code, closure, lp.inputs, item.location, lp.watched)
                out.append(item)
                i += 1
                continue
            call = _runner_call(runner, body_code, closure, lp.inputs, item.location, lp.watched)
            # A loop that may leave early hands the runner the iterable itself, not its
            # iterator: whether pulling ahead shows after the exit depends on which it is.
            out += call + [item] if lp.exits else [item] + call
            i += 1
            continue
        if i in plans:
            lp, layout, body_code, closure, result = plans[i]
            plan = aborts.get(i)
            loop = _commit_loop(facts, lp, layout, result, plan)
            out += loop
            i = lp.exit
            continue
        if i in exits:
            # The last iteration's results must not outlive the loop (weak references, `del`).
            out += _forget(exits[i], loc_of(items, i))
        if constants and isinstance(item, Instr) and item.name == "LOAD_CONST" and item.arg in constants:
            item = Instr("LOAD_CONST", constants[item.arg], location=item.location)
        out.append(item)
        i += 1
    if block_ends:
        out.append(awaits.RetargetEnd())
    if not plans and not constants:
        raise TransformError("nothing to transform")
    for plan in aborts.values():
        out += plan.tail()
    out = restored(out, facts.restore)
    if aborts:
        out = awaits.place(out)
    bytecode = Bytecode(fix_directions(out))
    original = Bytecode.from_code(code)
    for attr in ("argcount", "posonlyargcount", "kwonlyargcount", "flags", "name", "qualname", "filename",
                 "first_lineno", "argnames", "cellvars", "freevars", "docstring"):
        if hasattr(original, attr):
            setattr(bytecode, attr, getattr(original, attr))
    new = bytecode.to_code()
    _check_signature(code, new)
    return new


def _substitutions(facts, lp, take_turn) -> dict:
    """{index of a callee's load: the load of its variant} for the loop's turned calls."""
    if not lp.turned_calls:
        return {}
    if take_turn is None:
        raise TransformError("callee variants need the runtime's take_turn")
    from xcs.transform import turns

    out = {}
    for call in lp.turned_calls:
        t = call.turns
        variant = turns.callee_variant(t.function, t.points, take_turn)
        out[call.load] = turns.load_variant(facts.items[call.load], turns.chooser(t.function, variant, take_turn))
    return out


def _turn_points(facts, lp, take_turn) -> dict:
    """{item index: `take_turn()`} for the loop's statements that take the turn inside."""
    if not lp.turn_points:
        return {}
    if take_turn is None:
        raise TransformError("turns inside statements need the runtime's take_turn")
    from xcs.transform import turns

    return {i: turns.turn_call(take_turn, facts.items[i].location) for i in lp.turn_points}


def _continues(item, targets) -> bool:
    """True for a TryBegin/TryEnd of a range to one of `targets` (handlers around loops)."""
    if isinstance(item, TryBegin):
        return item.target in targets
    if isinstance(item, TryEnd):
        return item.entry.target in targets
    return False


def _after_exit(items, exit_label: int) -> int:
    """The index of the first item an exhausted FOR_ITER continues at (past the label and
    the instructions it skips)."""
    i, skipped = exit_label + 1, 0
    while skipped < pyversion.FOR_EXIT_SKIPPED:
        if isinstance(items[i], Instr):
            skipped += 1
        i += 1
    return i


def loc_of(items, i):
    """The location of the first instruction at or after items[i]."""
    return next((item.location for item in items[i:] if isinstance(item, Instr)), None)


def _runner_call(runner, body_code, closure, inputs, loc, watched=()) -> list:
    """`runner(iterator, body, inputs)`, with `watched` (the values of locals only the in-order
    part changes, for the loop-start aliasing check) as a fourth argument when there are any."""
    out = pyversion.push_callable_below_top(runner, loc)
    out += pyversion.make_function(body_code, closure, loc)
    for names in (inputs, watched) if watched else (inputs,):
        out += [Instr("LOAD_FAST", name, location=loc) for name in names]
        out.append(Instr("BUILD_TUPLE", len(names), location=loc))
    out += pyversion.call(4 if watched else 3, loc)
    return out


class AbortPlan:
    """What a loop of a coroutine needs besides its commit loop: the await of each step's
    result, and the handler that cancels and awaits the tasks in flight when the loop ends
    by an exception (see `xcs.transform.awaits`)."""

    def __init__(self, facts, lp, runner):
        from xcs.analysis.flow import build_flow

        self.handler = Label()
        self.enclosing = build_flow(list(facts.items)).try_begin_of.get(lp.for_iter)
        self.enclosing_target = self.enclosing.target if self.enclosing is not None else None
        self.abort = runner.abort
        self.location = facts.items[lp.for_iter].location
        # The out-of-line handler blocks of the in-order statements: their exceptions leave
        # the loop too.
        self.blocks = [block for st in lp.statements if st.kind != "map" for block in st.handlers]
        self.cleanups: list = []
        self.pulls_async = lp.pulls_async

    def start(self) -> list:
        """The region's start, then the await of the element FOR_ITER pushed (the step's
        awaitable), which leaves the iteration's result tuple. An `async for`'s header has
        already awaited it (its GET_ANEXT pulls the result tuple from the runner's steps)."""
        if self.pulls_async:
            return [awaits.LoopStart(self.handler, self.enclosing_target)]
        inline, cleanup = pyversion.await_top(self.location)
        self.cleanups.append(cleanup)
        return [awaits.LoopStart(self.handler, self.enclosing_target), *inline]

    def tail(self) -> list:
        """The out-of-line code: the steps' cleanup blocks (in the loop's region) and the
        abort handler."""
        out = []
        for cleanup in self.cleanups:
            out += awaits.covered(cleanup, self.handler)
        return out + awaits.abort_handler(self.handler, self.abort, self.enclosing, self.location)


def _commit_loop(facts, lp, layout: Layout, result: str, plan: AbortPlan | None = None) -> list:
    items = facts.items
    loc = items[lp.for_iter].location
    head = items[lp.head]
    # A coroutine's loop region starts after FOR_ITER: its exit jump has the iterator
    # popped, and the abort handler needs it on the stack.
    out = [items[lp.for_iter], *(plan.start() if plan is not None else ()),
           Instr("STORE_FAST", result, location=loc),
           Instr("LOAD_FAST", result, location=loc), *pyversion.subscript_const(0, loc),
           Instr("COPY", 1, location=loc)]
    ok = Label()
    out += pyversion.jump_if("NONE", ok, backward=False, location=loc)
    out += [*_forget(result, loc), Instr("RAISE_VARARGS", 1, location=loc), ok, Instr("POP_TOP", location=loc)]
    from xcs.analysis.flow import build_flow

    flow = build_flow(list(items))
    outer_tb = flow.try_begin_of.get(lp.for_iter)
    outer_target = outer_tb.target if outer_tb is not None else None
    body_labels = {item for item in items[lp.for_iter:lp.exit] if isinstance(item, Label)}

    def leaves_loop(i) -> bool:
        """True when an exception raised at items[i] leaves the loop (no `try` of the body
        catches it): the loop's result tuple is not read again."""
        j = flow.next_instr(i)
        tb = flow.try_begin_of.get(j) if j is not None else None
        return tb is None or tb.target not in body_labels
    last_kind = None
    label_index = {item: n for n, item in enumerate(items) if isinstance(item, Label)}
    for k, st in enumerate(lp.statements):
        last_kind = st.kind
        if st.kind in ("commit", "end"):
            out += _commit_statement(items, st, layout, result, leaves_loop,
                                     _leaving(items, st, lp, label_index), outer_target)
            continue
        # A map statement: keep labels and try markers that other code refers to.
        for i in range(st.start, st.stop):
            item = items[i]
            is_marker = hasattr(item, "target") and getattr(item, "target", None) is outer_target or \
                (type(item).__name__ == "TryEnd" and item.entry.target is outer_target)
            if isinstance(item, Label) or (outer_target is not None and is_marker):
                out.append(item)
        sloc = _first_location(items, st) or loc
        deleted = {items[i].arg for i in _indices(st) if isinstance(items[i], Instr) and items[i].name == "DELETE_FAST"}
        for slot in layout.snapshots.get(k, ()):
            out += _restore(result, slot, slot.restores in deleted, sloc)
        out += _raise_if_failed(result, layout.stages[k], sloc, leaves_loop(st.start))
        if k in layout.skip_flags:
            flag = layout.skip_flags[k]
            out += [Instr("LOAD_FAST", result, location=sloc), *pyversion.subscript_const(flag.index, sloc)]
            out += pyversion.jump_if("TRUE", head, backward=True, location=sloc)
    if last_kind == "map":
        out.append(Instr("JUMP_BACKWARD", head, location=loc))
    if plan is not None:
        out.append(awaits.LoopEnd())
    return out


def _indices(st):
    yield from range(st.start, st.stop)
    for lo, hi in st.handlers:
        yield from range(lo, hi)


def _restore(result: str, slot, may_delete: bool, loc) -> list:
    """Re-assign a map variable from the tuple: untouched if UNSET, deleted if DELETED."""
    keep, store = Label(), Label()
    out = [Instr("LOAD_FAST", result, location=loc), *pyversion.subscript_const(slot.index, loc),
           Instr("COPY", 1, location=loc), Instr("LOAD_CONST", UNSET, location=loc), Instr("IS_OP", 0, location=loc)]
    out += pyversion.jump_if("FALSE", store, backward=False, location=loc)
    out += [Instr("POP_TOP", location=loc), Instr("JUMP_FORWARD", keep, location=loc), store]
    if may_delete:
        plain = Label()
        out += [Instr("COPY", 1, location=loc), Instr("LOAD_CONST", DELETED, location=loc), Instr("IS_OP", 0, location=loc)]
        out += pyversion.jump_if("FALSE", plain, backward=False, location=loc)
        out += [Instr("STORE_FAST", slot.restores, location=loc), Instr("DELETE_FAST", slot.restores, location=loc),
                Instr("JUMP_FORWARD", keep, location=loc), plain]
    out += [Instr("STORE_FAST", slot.restores, location=loc), keep]
    return out


def _raise_if_failed(result: str, stage: int, loc, leaves_loop: bool = False) -> list:
    """Raise the iteration's exception here if it happened at `stage` of the map part.
    When nothing in the loop body catches it, the result tuple is unbound first: a
    post-mortem debugger then sees the function's own locals, not XCS's."""
    go_on = Label()
    out = [Instr("LOAD_FAST", result, location=loc), *pyversion.subscript_const(Layout.STAGE, loc),
           Instr("LOAD_CONST", stage, location=loc), *pyversion.compare_equal(loc)]
    out += pyversion.jump_if("FALSE", go_on, backward=False, location=loc)
    out += [Instr("LOAD_FAST", result, location=loc), *pyversion.subscript_const(Layout.ERROR, loc),
            *(_forget(result, loc) if leaves_loop else ()), Instr("RAISE_VARARGS", 1, location=loc), go_on]
    return out


def _forget(name: str, loc) -> list:
    """Unbind the XCS temporary `name` (bound or not) without touching the stack."""
    return [Instr("LOAD_CONST", None, location=loc), Instr("STORE_FAST", name, location=loc),
            Instr("DELETE_FAST", name, location=loc)]


def _leaving(items, st, lp, label_index) -> frozenset:
    """Indices of the instructions of statement `st` that leave the loop (`break`, `return`)."""
    if not st.exits:
        return frozenset()
    out = set()
    for i in range(st.start, st.stop):
        item = items[i]
        if not isinstance(item, Instr):
            continue
        if item.name in pyversion.RETURNS:
            out.add(i)
        elif item.name in pyversion.UNCONDITIONAL_JUMPS and isinstance(item.arg, Label):
            target = label_index.get(item.arg)
            if target is not None and (target >= lp.exit or target < lp.for_iter):
                out.add(i)
    return frozenset(out)


def _commit_statement(items, st, layout: Layout, result: str, leaves_loop=lambda i: False,
                      leaving=frozenset(), outer_target=None) -> list:
    """The statement's own instructions, each hoisted argument replaced by its tuple slot.

    If computing a hoisted argument failed, its exception is raised where the argument
    stood: after what the statement evaluates before it, and inside the statement's own
    `try`, whose `except` then handles it as in sequential code."""
    out = []
    hoists = {h.start: h for h in st.hoists}
    i = st.start
    while i < st.stop:
        h = hoists.get(i)
        if h is not None:
            slot = layout.hoists[h.temp]
            loc = items[i].location
            out += _raise_if_failed(result, layout.stages[h.temp], loc, leaves_loop(h.start))
            out.append(Instr("LOAD_FAST", result, location=loc))
            out += pyversion.subscript_const(slot.index, loc)
            # An awaited argument interrupts the range around the loop (3.12+): its pieces stay.
            out += [x for x in items[h.start:h.stop] if outer_target is not None and _continues(x, {outer_target})]
            i = h.stop
            continue
        if i in leaving:
            # The iteration's results must not outlive the loop it leaves.
            loc = items[i].location
            out += _forget(result, loc)
        out.append(items[i])
        i += 1
    return out


def _first_location(items, st):
    for item in items[st.start:st.stop]:
        if isinstance(item, Instr) and item.lineno:
            return item.location
    return None


def _check_signature(old, new) -> None:
    for attr in ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_cellvars", "co_freevars"):
        if getattr(old, attr) != getattr(new, attr):
            raise TransformError(f"variant changed {attr}")
    if old.co_varnames[:old.co_argcount + old.co_kwonlyargcount] != new.co_varnames[:new.co_argcount + new.co_kwonlyargcount]:
        raise TransformError("variant changed argument names")
