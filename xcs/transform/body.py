"""Build a loop's map part as its own code object: `body(item, *inputs) -> tuple`.

The body runs the target assignment and every map statement (with their exception
handlers), computes hoisted arguments, and returns the `Layout` tuple. A `continue` in a
map statement records a skip flag and returns early. Instructions keep the user's file and
line numbers, so tracebacks from a worker point at the user's code.
"""
from __future__ import annotations

from bytecode import Bytecode, FreeVar, Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.transform.awaits import cleanup_blocks
from xcs.transform.catch import cover
from xcs.transform.jumps import fix_directions
from xcs.transform.layout import DELETED, UNSET, Layout

ITEM = "__xcs_item"
STAGE = "__xcs_stage"
ERROR = "__xcs_error"
CO_OPTIMIZED, CO_NEWLOCALS, CO_NESTED = 0x1, 0x2, 0x10


def drop_own_entry(error, stage, lines):
    """`error`, its traceback's first entry — the loop body's own frame — dropped when the
    user's frame, re-raising the failure of `stage`, will show the same line (`lines`:
    `BodyBuilder.reraise_lines`): the loop's line then appears once, as in sequential code.
    A failure on another line of a multi-line statement keeps both entries."""
    tb = error.__traceback__
    if tb is not None and (stage, tb.tb_lineno) in lines:
        error.__traceback__ = tb.tb_next
    return error


class BodyBuilder:
    """Copies one loop's map statements out of the function's instructions."""

    def __init__(self, facts, loop, layout: Layout, substitutions: dict | None = None, before: dict | None = None):
        self.items, self.loop, self.layout = facts.items, loop, layout
        # item index -> the instructions copied in its place (a callee's load replaced by
        # the load of its variant, `xcs.transform.turns`)
        self.substitutions = substitutions or {}
        # item index -> instructions copied just before it (`take_turn()` before a line with
        # an ordered effect, `LoopFacts.turn_points`)
        self.before = before or {}
        self.code = facts.code
        self.labels: dict = {}
        self.tries: dict = {}
        self.location = facts.items[loop.for_iter].location
        self.end = Label()

    def label(self, old: Label) -> Label:
        return self.labels.setdefault(old, Label())

    def copy(self, index_range, k: int, out: list, trampolines: list) -> None:
        """Copy items (label-mapped); jumps to the loop head go to statement k's skip path."""
        head = self.items[self.loop.head]
        for i in index_range:
            item = self.items[i]
            if self.loop_marker(item):
                continue
            if i in self.before:
                out += self.before[i]
            if isinstance(item, Label):
                out.append(self.label(item))
            elif isinstance(item, TryBegin):
                out.append(TryBegin(self.label(item.target), item.push_lasti, item.stack_depth))
                self.tries[item] = out[-1]
            elif isinstance(item, TryEnd):
                out.append(TryEnd(self.tries[item.entry]))
            elif i in self.substitutions:
                out += self.substitutions[i]
            else:
                arg = item.arg
                if item.name == "DELETE_FAST":
                    # Deleting would leave a hole the result tuple cannot carry: mark it instead.
                    out += [Instr("LOAD_CONST", DELETED, location=item.location),
                            Instr("STORE_FAST", arg, location=item.location)]
                    continue
                if isinstance(arg, Label):
                    arg = self.skip_label(k, trampolines) if arg is head else self.label(arg)
                elif item.name in ("STORE_DEREF", "DELETE_DEREF") or item.name in pyversion.DEREF_LOADS or \
                        pyversion.is_closure_load(item):
                    arg = FreeVar(pyversion.deref_name(arg))
                out.append(Instr(item.name, arg, location=item.location) if arg is not item.arg else item.copy())

    def loop_marker(self, item) -> bool:
        target = getattr(self, "outer_try", None)
        if target is None:
            return False
        if isinstance(item, TryBegin):
            return item.target is target
        if isinstance(item, TryEnd):
            return item.entry.target is target
        return False

    def skip_label(self, k: int, trampolines: list) -> Label:
        for kk, label in trampolines:
            if kk == k:
                return label
        label = Label()
        trampolines.append((k, label))
        return label

    def stage(self, number: int) -> list:
        return [Instr("LOAD_CONST", number, location=self.location), Instr("STORE_FAST", STAGE, location=self.location)]

    def reraise_lines(self) -> tuple:
        """((stage, line), ...): the line at which the compiled loop re-raises a failure of each
        stage in the user's frame (`variant._commit_loop`: a map statement's first line, a
        hoisted expression's own)."""
        default = getattr(self.location, "lineno", None)
        lines = []
        for k, st in enumerate(self.loop.statements):
            if st.kind == "map" and k in self.layout.stages:
                first = next((item.lineno for item in self.items[st.start:st.stop]
                              if isinstance(item, Instr) and item.lineno), None)
                lines.append((self.layout.stages[k], first or default))
            for h in st.hoists:
                lines.append((self.layout.stages[h.temp], getattr(self.items[h.start], "lineno", None)))
        return tuple(lines)

    def result_tuple(self) -> list:
        loc = self.location
        slots = sorted([s for slots in self.layout.snapshots.values() for s in slots] +
                       list(self.layout.skip_flags.values()) + list(self.layout.hoists.values()),
                       key=lambda s: s.index)
        out = [Instr("LOAD_CONST", None, location=loc), Instr("LOAD_FAST", STAGE, location=loc),
               Instr("LOAD_FAST", ERROR, location=loc)]
        out += [Instr("LOAD_FAST", s.local, location=loc) for s in slots]
        return out + [Instr("BUILD_TUPLE", len(slots) + 3, location=loc), Instr("RETURN_VALUE", location=loc)]

    def snapshot(self, k: int) -> list:
        """Copy what statement k assigned into its slots, and let go of earlier snapshots
        this one makes dead (so `del obj` frees obj in the worker as it would in the loop)."""
        loc = self.location
        out = []
        for slot in self.layout.snapshots.get(k, ()):
            out += [Instr("LOAD_FAST", slot.restores, location=loc), Instr("STORE_FAST", slot.local, location=loc)]
        for slot in self.layout.dead_after.get(k, ()):
            out += [Instr("LOAD_CONST", UNSET, location=loc), Instr("STORE_FAST", slot.local, location=loc)]
        return out

    def fill_unset(self) -> list:
        """On failure: the statements that completed keep their snapshots; slots still unset
        (the failing statement's, and dead ones) take the variables' current values."""
        loc = self.location
        out = []
        for slots in self.layout.snapshots.values():
            for slot in slots:
                keep = Label()
                out += [Instr("LOAD_FAST", slot.local, location=loc), Instr("LOAD_CONST", UNSET, location=loc),
                        Instr("IS_OP", 1, location=loc)]
                out += pyversion.jump_if("TRUE", keep, backward=False, location=loc)
                out += [Instr("LOAD_FAST", slot.restores, location=loc), Instr("STORE_FAST", slot.local, location=loc),
                        keep]
        return out

    def build(self, inputs: tuple, closure: tuple, outer_try) -> object:
        """The body's code object."""
        self.outer_try = outer_try
        loc = self.location
        coroutine = bool(self.code.co_flags & pyversion.CO_COROUTINE)
        out: list = (pyversion.coroutine_prologue if coroutine else pyversion.code_prologue)(len(closure), loc)
        locals_ = [s.local for slots in self.layout.snapshots.values() for s in slots]
        locals_ += [s.local for s in self.layout.hoists.values()]
        locals_ += list(self.loop.map_writes)
        for name in locals_:
            out += [Instr("LOAD_CONST", UNSET, location=loc), Instr("STORE_FAST", name, location=loc)]
        for slot in self.layout.skip_flags.values():
            out += [Instr("LOAD_CONST", False, location=loc), Instr("STORE_FAST", slot.local, location=loc)]
        out += [Instr("LOAD_CONST", None, location=loc), Instr("STORE_FAST", ERROR, location=loc)]
        out += self.stage(self.layout.stages[0])
        prologue, out = out, []
        out.append(Instr("LOAD_FAST", ITEM, location=loc))
        trampolines: list = []
        handlers: list = []
        for k, st in enumerate(self.loop.statements):
            if st.kind == "map":
                if k:
                    out += self.stage(self.layout.stages[k])
                self.copy(range(st.start, st.stop), k, out, trampolines)
                out += self.snapshot(k)
                for lo, hi in st.handlers:
                    block: list = []
                    self.copy(range(lo, hi), k, block, trampolines)
                    handlers.append(block)
            else:
                # Labels a previous statement jumps to must still exist here.
                for i in range(st.start, st.stop):
                    if isinstance(self.items[i], Label) and self.items[i] in self.labels:
                        out.append(self.labels[self.items[i]])
            for h in st.hoists:
                out += self.stage(self.layout.stages[h.temp])
                self.copy(range(h.start, h.stop), k, out, trampolines)
                out.append(Instr("STORE_FAST", h.temp, location=loc))
                for lo, hi in cleanup_blocks(self.items, h.start, h.stop):   # an awaited argument's
                    block: list = []
                    self.copy(range(lo, hi), k, block, trampolines)
                    handlers.append(block)
        caught = Label()
        out = prologue + cover(out, caught)
        out.append(self.end)
        out += self.stage(self.layout.NO_STAGE)
        out += self.result_tuple()
        # The catch-all: keep the exception and everything assigned so far, return them.
        # Its traceback starts at this frame; the compiled loop re-raises it in the user's
        # frame at the failing statement, which then shows that line: this frame's entry is
        # dropped when it names the same line (`drop_own_entry`).
        failure = [caught, Instr("PUSH_EXC_INFO", location=loc),
                   *pyversion.push_callable_below_top(drop_own_entry, loc),
                   Instr("LOAD_FAST", STAGE, location=loc), Instr("LOAD_CONST", self.reraise_lines(), location=loc),
                   *pyversion.call(3, loc),
                   Instr("STORE_FAST", ERROR, location=loc), Instr("POP_EXCEPT", location=loc)]
        failure += self.fill_unset()
        failure += self.result_tuple()
        for k, label in trampolines:
            out.append(label)
            out += self.snapshot(k)
            flag = self.layout.skip_flags[k]
            out += [Instr("LOAD_CONST", True, location=loc), Instr("STORE_FAST", flag.local, location=loc),
                    Instr("JUMP_FORWARD", self.end, location=loc)]
        handler_code = [item for block in handlers for item in block]
        if handler_code:
            out += cover(handler_code, caught)
        out += failure
        for label in set(self.labels.values()) - {x for x in out if isinstance(x, Label)}:
            raise ValueError("a jump target was not copied into the loop body")
        bytecode = Bytecode(fix_directions(out))
        bytecode.argnames = [ITEM, *inputs]
        bytecode.argcount = 1 + len(inputs)
        bytecode.freevars = list(closure)
        bytecode.flags = CO_OPTIMIZED | CO_NEWLOCALS | (CO_NESTED if closure else 0) | \
            (pyversion.CO_COROUTINE if coroutine else 0)
        bytecode.name = self.code.co_name
        bytecode.qualname = f"{self.code.co_qualname}.<xcs loop line {self.loop.line}>"
        bytecode.filename = self.code.co_filename
        bytecode.first_lineno = self.code.co_firstlineno
        return bytecode.to_code()
