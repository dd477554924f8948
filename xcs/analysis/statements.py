"""Split a loop body into statements: the units the map/commit split moves as a whole.

A statement ends where the stack is back at the loop's base depth, no try range is open
and no forward jump is pending. Jumps back to the loop head are `continue`s (or the loop's
natural end); jumps past the exit are `break`s. A statement holding a `break` or a `return`
records it in `exits`: it ends the loop when it runs, so it runs in order and the work of
later iterations is speculative (`LoopFacts.exits`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.analysis.flow import Flow
from xcs.analysis.loops import LoopShape
from xcs.analysis.refusal import Refusal

SUSPENDING = {"YIELD_VALUE", "SEND", "GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "END_ASYNC_FOR",
              "BEFORE_ASYNC_WITH", "RETURN_GENERATOR", "GET_YIELD_FROM_ITER"} | pyversion.ASYNC_GEN_WRAPS
# An `await` in a coroutine: these suspend only the task that runs them, so an iteration's
# awaits may run in its own task. An `async with` awaits its manager's `__aenter__` and
# `__aexit__` the same way; whether its block may leave the order is the classification's
# question (`xcs.analysis.aio_blocks`: known clients' responses only).
AWAITING = pyversion.AWAIT_STEPS | {"BEFORE_ASYNC_WITH"}
CO_COROUTINE = 0x80


@dataclass
class RawStatement:
    """One statement before classification: items[start:stop] plus its handler blocks."""

    start: int
    stop: int
    line: int | None
    skips: bool = False
    handlers: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    exits: list = field(default_factory=list)   # ("break" | "return", line) it may leave the loop by

    def indices(self):
        """Item indices of the statement, its handler blocks included."""
        yield from range(self.start, self.stop)
        for lo, hi in self.handlers:
            yield from range(lo, hi)

    def first_instr(self, items) -> int | None:
        return next((i for i in range(self.start, self.stop) if isinstance(items[i], Instr)), None)


def line_of(items, start, stop) -> int | None:
    for item in items[start:stop]:
        if isinstance(item, Instr) and item.lineno:
            return item.lineno
    return None


def split_statements(flow: Flow, loop: LoopShape, base_depth: int,
                     awaits: bool = False) -> tuple[list[RawStatement], list[Refusal]]:
    """The statements of `loop`'s body in order, and loop-level refusals found on the way.

    `awaits`: the loop is in a coroutine, whose `await`s do not stop the split."""
    items = flow.items
    head_instr = loop.for_iter
    body = loop.body
    statements: list[RawStatement] = []
    refusals: list[Refusal] = []
    pending: set = set()
    open_tries = 0
    start = body.start
    skips = False
    exits: list = []
    under = False
    for i in body:
        item = items[i]
        if loop.is_outer_marker(item):
            pass
        elif isinstance(item, Label):
            pending.discard(item)
        elif isinstance(item, TryBegin):
            open_tries += 1
            if i < flow.label_index[item.target] < body.stop:
                pending.add(item.target)
        elif isinstance(item, TryEnd):
            open_tries -= 1
        elif isinstance(item, Instr):
            skips |= _check_instr(flow, loop, i, pending, start, refusals, exits, awaits)
            # A `break`/`return` pops the loop's iterator (`SWAP 2; POP_TOP`) and may then push
            # a value back to the loop's depth: the statement goes on to where it leaves.
            if i in flow.depth and flow.depth[i] + item.pre_and_post_stack_effect(jump=False)[0] < base_depth:
                under = True
        if refusals:
            return statements, refusals
        nxt = i + 1
        if nxt < body.stop and not isinstance(items[nxt], Instr):
            continue
        if under and not (isinstance(item, Instr) and (item.name in pyversion.TERMINATORS or
                                                       item.name in pyversion.UNCONDITIONAL_JUMPS)):
            continue
        if pending or open_tries or not _at_base(flow, i, nxt, body, base_depth):
            continue
        statements.append(RawStatement(start, nxt, line_of(items, start, nxt), skips, exits=exits))
        start, skips, exits, under = nxt, False, [], False
    if start < body.stop:
        return statements, [Refusal("control-flow", line_of(items, start, body.stop), "a statement never returns to the loop's stack depth")]
    refusals.extend(_move_loop_labels(flow, loop, statements))
    if not refusals:
        refusals.extend(_assign_handlers(flow, loop, statements, head_instr))
    return statements, refusals


def _move_loop_labels(flow: Flow, loop: LoopShape, statements: list) -> list[Refusal]:
    """A `while` loop in the body jumps back to where it starts: its body must be one statement.

    The split ends a statement wherever the stack is back at the loop's depth with no forward
    jump pending, so the body of a `while True:` (no test at the top whose jump to the exit
    stays pending: every CPython version) or a `while` whose test CPython repeats at the
    bottom (3.12+) is cut into its own statements, and its label may end up at the end of the
    statement before it. For each jump back to an earlier place in the body: a label at the
    end of a statement moves to the start of the next one, and the statements from the one the
    jump goes to through the one that jumps are joined into one. A jump back into the middle
    of a statement (instructions on both sides of its target) is refused."""
    items = flow.items
    block_of = _blocks_by_item(loop)
    k = 0
    while k < len(statements):
        s = statements[k]
        # The jumps of its out-of-line handler blocks too: on 3.12+ a `while True:` whose
        # last statement is `break` jumps back only from an `except` block that `continue`s.
        for i in [*range(s.start, s.stop), *sorted(_handler_items(flow, loop, s, block_of))]:
            instr = items[i]
            if not (isinstance(instr, Instr) and isinstance(instr.arg, Label)):
                continue
            target = flow.label_index[instr.arg]
            if not (loop.for_iter < target < s.start):
                continue
            j = next((j for j in range(k) if statements[j].start <= target < statements[j].stop), None)
            if j is None:
                return [Refusal("control-flow", instr.lineno, "a jump back into an earlier statement")]
            owner = statements[j]
            if not any(isinstance(x, Instr) for x in items[target:owner.stop]):
                # The label trails statement j: it belongs to the statement after it.
                for m in range(owner.start, target):
                    other = items[m]
                    if isinstance(other, Instr) and isinstance(other.arg, Label) and \
                            target <= flow.label_index[other.arg] < owner.stop:
                        return [Refusal("control-flow", instr.lineno, "a label shared by two statements")]
                nxt = statements[j + 1]
                owner.stop, nxt.start = target, target
                j += 1
            elif any(isinstance(x, Instr) for x in items[owner.start:target]):
                return [Refusal("control-flow", instr.lineno, "a jump back into an earlier statement")]
            if j < k:
                statements[j:k + 1] = [_joined_statements(items, statements[j:k + 1])]
                k = j
            break
        else:
            k += 1
            continue
        # Joined: look at the joined statement again (it may hold a jump further back).
    return []


def _joined_statements(items, parts: list) -> RawStatement:
    """One statement made of consecutive `parts` (a `while` loop's body, `_move_loop_labels`)."""
    first, last = parts[0], parts[-1]
    return RawStatement(first.start, last.stop, line_of(items, first.start, last.stop),
                        any(p.skips for p in parts), refusals=[r for p in parts for r in p.refusals],
                        exits=[e for p in parts for e in p.exits])


def _at_base(flow: Flow, i: int, nxt: int, body: range, base_depth: int) -> bool:
    """True when the stack is at the loop's base depth between item i and item nxt."""
    instr = flow.items[i]
    if isinstance(instr, Instr) and i in flow.depth:
        if instr.name in pyversion.PLAIN_JUMPS or instr.name in pyversion.TERMINATORS:
            return True if nxt >= body.stop else flow.depth.get(nxt, base_depth) == base_depth
        return flow.depth[i] + instr.stack_effect(jump=False) == base_depth
    return nxt >= body.stop or flow.depth.get(nxt) == base_depth


def _check_instr(flow: Flow, loop: LoopShape, i: int, pending: set, start: int, refusals: list,
                 exits: list, awaits: bool = False) -> bool:
    """Record the jump of instruction i (a `break` or `return` into `exits`); returns True
    for a jump to the loop head."""
    instr = flow.items[i]
    line = instr.lineno
    if awaits and instr.name in AWAITING:
        return False
    if instr.name in SUSPENDING:
        refusals.append(Refusal("yield", line, instr.name))
        return False
    if instr.name in pyversion.RETURNS:
        exits.append(("return", line))
        return False
    if not isinstance(instr.arg, Label):
        return False
    target = flow.label_index[instr.arg]
    if target == loop.head:
        return True
    if target >= loop.exit or target < loop.for_iter:
        exits.append(("break", line))
    elif target > i:
        pending.add(instr.arg)
    return False


def _blocks_by_item(loop: LoopShape) -> dict:
    """{item index: (lo, hi)} for the loop's out-of-line handler blocks."""
    block_of = {}
    for lo, hi in loop.handlers:
        for k in range(lo, hi):
            block_of[k] = (lo, hi)
    return block_of


def _handler_items(flow: Flow, loop: LoopShape, s: RawStatement, block_of: dict) -> set:
    """Item indices of the out-of-line handler blocks statement `s`'s try ranges lead to."""
    items = flow.items
    work = [flow.target(items[k].target) for k in range(s.start, s.stop)
            if isinstance(items[k], TryBegin) and not loop.is_outer_marker(items[k])]
    seen: set = set()
    while work:
        k = work.pop()
        if k is None or k in seen or k not in block_of:
            continue
        seen.add(k)
        work.extend(j for j, _ in flow.succ.get(k, ()))
    return seen


def _assign_handlers(flow: Flow, loop: LoopShape, statements: list, head_instr: int) -> list[Refusal]:
    """Give each out-of-line handler block to the statement whose try statement owns it."""
    items = flow.items
    owner: dict = {}
    refusals = []
    block_of = _blocks_by_item(loop)
    for s in statements:
        seeds = [flow.target(items[k].target) for k in range(s.start, s.stop)
                 if isinstance(items[k], TryBegin) and not loop.is_outer_marker(items[k])]
        seen: set = set()
        work = [x for x in seeds if x is not None and x in block_of]
        while work:
            k = work.pop()
            if k in seen or k not in block_of:
                continue
            seen.add(k)
            block = block_of[k]
            if owner.setdefault(block, id(s)) != id(s):
                refusals.append(Refusal("control-flow", items[k].lineno, "exception handler shared by two statements"))
                return refusals
            if block not in s.handlers:
                s.handlers.append(block)
            instr = items[k]
            if isinstance(instr.arg, Label):
                target = flow.label_index[instr.arg]
                if target == loop.head:
                    s.skips = True
                elif target in block_of:
                    pass
                elif target >= loop.exit or target < loop.for_iter:
                    s.exits.append(("break", instr.lineno))
                elif loop.for_iter < target < loop.exit and not (s.start <= target <= s.stop):
                    refusals.append(Refusal("control-flow", instr.lineno, "a handler jumps into another statement"))
            if instr.name in pyversion.RETURNS:
                s.exits.append(("return", instr.lineno))
            work.extend(j for j, _ in flow.succ.get(k, ()))
    for s in statements:
        s.handlers = _joined(s.handlers)
    return refusals


def _joined(blocks: list) -> list:
    """A statement's handler blocks in code order, blocks that follow each other joined:
    the code keeps its layout (and its try ranges stay whole) when copied."""
    out: list = []
    for lo, hi in sorted(blocks):
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out
