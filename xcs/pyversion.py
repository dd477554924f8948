"""Every difference between CPython 3.11, 3.12 and 3.13 bytecode that XCS relies on.

Analysis and transform ask this module for opcode names and instruction shapes instead
of testing `sys.version_info` themselves.
"""
from __future__ import annotations

import sys

from bytecode import Instr

PY = sys.version_info[:2]
SUPPORTED = (3, 11) <= PY < (3, 14)

# 3.13 fuses pairs of local-variable instructions into one; XCS splits them back.
SUPERINSTRUCTIONS = {
    "LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST"),
}

UNCONDITIONAL_JUMPS = {"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP", "JUMP_NO_INTERRUPT"}
CONDITIONAL_JUMPS = {
    "POP_JUMP_IF_TRUE", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
    # 3.11 spells the direction out.
    "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
    "JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP",
}
TERMINATORS = {"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"}
LOCAL_LOADS = {"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR"}
LOCAL_STORES = {"STORE_FAST", "DELETE_FAST"}

# Opcode families. Each holds every supported version's spelling of one operation, so the
# other modules name a family and never a version's opcode (`python tools/opcodes.py`, run
# by tests/house, fails on a module that does).
LOCAL_READS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK"})    # 3.12+: LOAD_FAST_CHECK where it may be unbound
COMPREHENSION_SAVES = frozenset({"LOAD_FAST_AND_CLEAR"})     # 3.12+: an inlined comprehension saves its variable
DEREF_LOADS = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF"})   # 3.11-3.12: LOAD_CLASSDEREF in class bodies
ATTR_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})         # 3.11: LOAD_METHOD before a method call
NAMESPACE_LOADS = frozenset({"LOAD_LOCALS", "LOAD_FROM_DICT_OR_DEREF", "LOAD_FROM_DICT_OR_GLOBALS"})  # 3.12+ class bodies
CALLS = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION_EX"})
KEYWORD_CALLS = frozenset({"CALL_KW"})     # 3.13: the keyword names are a constant pushed after the arguments
KEYWORD_NAMES = frozenset({"KW_NAMES"})    # 3.11-3.12: the keyword names, set just before CALL
PRECALLS = frozenset({"PRECALL"})          # 3.11: before every CALL
CALL_PREFIXES = PRECALLS | KEYWORD_NAMES   # no stack effect the analysis cares about
RETURNS = frozenset({"RETURN_VALUE", "RETURN_CONST"})    # 3.12+: RETURN_CONST
PLAIN_JUMPS = frozenset({"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP"})
FORMATS = frozenset({"FORMAT_VALUE", "FORMAT_SIMPLE", "FORMAT_WITH_SPEC"})   # 3.13 splits FORMAT_VALUE
CONVERSIONS = frozenset({"CONVERT_VALUE"})   # 3.13: the `!r`/`!s`/`!a` of an f-string
SLICE_LOADS = frozenset({"BINARY_SLICE"})    # 3.12+: `x[a:b]`
SLICE_STORES = frozenset({"STORE_SLICE"})    # 3.12+: `x[a:b] = v`
BOOL_CONVERSIONS = frozenset({"TO_BOOL"})    # 3.13: before a conditional jump
# 3.11 LIST_TO_TUPLE; 3.12+ CALL_INTRINSIC_1, which also does other things (its arg says which).
UNARY_INTRINSICS = frozenset({"LIST_TO_TUPLE", "CALL_INTRINSIC_1"})
ASYNC_GEN_WRAPS = frozenset({"ASYNC_GEN_WRAP"})   # 3.11; 3.12+ wraps with CALL_INTRINSIC_1
STAR_IMPORTS = frozenset({"IMPORT_STAR"})         # 3.11; 3.12+ CALL_INTRINSIC_1
FUNCTION_BUILDS = frozenset({"MAKE_FUNCTION", "SET_FUNCTION_ATTRIBUTE"})   # 3.13 sets closure etc. apart
# The steps of an `await` (3.12+: END_SEND after the send loop, CLEANUP_THROW out of line).
AWAIT_STEPS = frozenset({"GET_AWAITABLE", "SEND", "YIELD_VALUE", "END_SEND", "CLEANUP_THROW"})
THROW_CLEANUPS = frozenset({"CLEANUP_THROW"})   # 3.12+: the out-of-line block of an `await`'s throw
LOOP_ENDS = frozenset({"END_FOR"})                # 3.12+: after an exhausted FOR_ITER


def flip_direction(name: str) -> str:
    """The same jump in the other direction (3.11 has both for conditional jumps too)."""
    if "FORWARD" in name:
        return name.replace("FORWARD", "BACKWARD")
    if "BACKWARD" in name:
        return name.replace("BACKWARD", "FORWARD")
    return name


def jump_if(condition: str, target, backward: bool, location) -> list:
    """Instructions that pop the top of stack and jump to `target` when it is `condition`
    ("TRUE", "FALSE", "NONE", "NOT_NONE").

    3.12+ conditional jumps go forward only, so a backward one is an inverted jump over
    an unconditional `JUMP_BACKWARD`.
    """
    from bytecode import Label

    if PY < (3, 12):
        direction = "BACKWARD" if backward else "FORWARD"
        return [Instr(f"POP_JUMP_{direction}_IF_{condition}", target, location=location)]
    if not backward:
        return [Instr(f"POP_JUMP_IF_{condition}", target, location=location)]
    inverse = {"TRUE": "FALSE", "FALSE": "TRUE", "NONE": "NOT_NONE", "NOT_NONE": "NONE"}[condition]
    over = Label()
    return [Instr(f"POP_JUMP_IF_{inverse}", over, location=location),
            Instr("JUMP_BACKWARD", target, location=location), over]


def call(argc: int, location) -> list:
    """The instructions that call a callable pushed by `push_callable` with `argc` arguments."""
    if PY < (3, 12):
        return [Instr("PRECALL", argc, location=location), Instr("CALL", argc, location=location)]
    return [Instr("CALL", argc, location=location)]


def push_callable_below_top(callable_obj, location) -> list:
    """Push `callable_obj` (and the NULL a call needs) *below* the value on top of the stack.

    3.11/3.12 expect `NULL, callable, args`; 3.13 expects `callable, NULL, args`.
    """
    if PY < (3, 13):
        return [Instr("LOAD_CONST", callable_obj, location=location), Instr("PUSH_NULL", location=location),
                Instr("SWAP", 3, location=location)]
    return [Instr("PUSH_NULL", location=location), Instr("LOAD_CONST", callable_obj, location=location),
            Instr("SWAP", 3, location=location)]


def make_function(code, closure_names: list, location) -> list:
    """Build a function from the constant `code`, with a closure of the given cells
    (`CellVar`/`FreeVar`) if any."""
    out = []
    if closure_names:
        out += [Instr(load_closure(v).name, v, location=location) for v in closure_names]
        out.append(Instr("BUILD_TUPLE", len(closure_names), location=location))
    out.append(Instr("LOAD_CONST", code, location=location))
    if PY < (3, 13):
        out.append(Instr("MAKE_FUNCTION", 8 if closure_names else 0, location=location))
    else:
        out.append(Instr("MAKE_FUNCTION", location=location))
        if closure_names:
            out.append(Instr("SET_FUNCTION_ATTRIBUTE", 8, location=location))
    return out


def code_prologue(freevar_count: int, location) -> list:
    """The first instructions of a generated function: copy its free variables, then RESUME."""
    out = []
    if freevar_count:
        out.append(Instr("COPY_FREE_VARS", freevar_count, location=location))
    out.append(Instr("RESUME", 0, location=location))
    return out


def subscript_const(index: int, location) -> list:
    """Replace the top of stack `t` by `t[index]` (`BINARY_SUBSCR` on 3.11–3.13)."""
    return [Instr("LOAD_CONST", index, location=location), Instr("BINARY_SUBSCR", location=location)]


def load_attr(name: str, location) -> Instr:
    """`LOAD_ATTR name` (3.12+ pack a load-method flag with the name)."""
    return Instr("LOAD_ATTR", (False, name) if PY >= (3, 12) else name, location=location)


def is_method_load(instr) -> bool:
    """True when `instr` loads a bound method as a (method, self) pair for a call."""
    if instr.name == "LOAD_METHOD":  # 3.11
        return True
    return instr.name == "LOAD_ATTR" and PY >= (3, 12) and isinstance(instr.arg, tuple) and instr.arg[0]


def attr_name(instr) -> str:
    """The attribute name of a LOAD_ATTR / LOAD_METHOD / STORE_ATTR (3.12+ pack a flag with it)."""
    return instr.arg[1] if isinstance(instr.arg, tuple) else instr.arg


def global_name(instr) -> str:
    """The name of a LOAD_GLOBAL (3.11+ pack a push-NULL flag with it)."""
    return instr.arg[1] if isinstance(instr.arg, tuple) else instr.arg


def deref_name(arg) -> str:
    """The variable name of a LOAD_DEREF / STORE_DEREF / LOAD_CLOSURE argument."""
    return getattr(arg, "name", arg)


def inplace_binary(instr) -> bool:
    """True for an augmented-assignment operator (`+=` ...), which may mutate its left operand."""
    if instr.name != "BINARY_OP":
        return False
    return getattr(instr.arg, "name", str(instr.arg)).startswith("INPLACE")


def is_closure_load(instr) -> bool:
    """True for the instruction that pushes a cell for a closure tuple.

    3.11/3.12 spell it `LOAD_CLOSURE`; 3.13 emits `LOAD_FAST` with the cell variable.
    """
    return instr.name == "LOAD_CLOSURE" or (instr.name == "LOAD_FAST" and not isinstance(instr.arg, str))


def load_closure(var) -> Instr:
    """Push the cell `var` (a `CellVar` or `FreeVar`) for a closure tuple."""
    return Instr("LOAD_FAST" if PY >= (3, 13) else "LOAD_CLOSURE", var)


def push_callable(callable_obj, location) -> list:
    """Push `callable_obj` and the NULL a call needs, in this version's order."""
    if PY < (3, 13):
        return [Instr("PUSH_NULL", location=location), Instr("LOAD_CONST", callable_obj, location=location)]
    return [Instr("LOAD_CONST", callable_obj, location=location), Instr("PUSH_NULL", location=location)]


def null_below_top() -> list:
    """Turn a callable on top of the stack into the (callable, NULL) pair a call expects."""
    if PY < (3, 13):
        return [Instr("PUSH_NULL"), Instr("SWAP", 2)]
    return [Instr("PUSH_NULL")]


def compare_equal(location) -> list:
    """Replace the two top values by `a == b` as an exact bool (3.13 jumps need one)."""
    from bytecode import Compare

    op = Compare.EQ_CAST if PY >= (3, 13) and hasattr(Compare, "EQ_CAST") else Compare.EQ
    return [Instr("COMPARE_OP", op, location=location)]


# Instructions at a `for` loop's exit label that an exhausted FOR_ITER jumps over
# (3.12: END_FOR; 3.13: END_FOR, POP_TOP); code run after every loop exit goes after them.
FOR_EXIT_SKIPPED = 0 if PY < (3, 12) else (1 if PY < (3, 13) else 2)


def for_exit_skipped(location) -> list:
    """New instructions of the kind an exhausted FOR_ITER jumps over (`FOR_EXIT_SKIPPED` of them)."""
    names = () if PY < (3, 12) else (("END_FOR",) if PY < (3, 13) else ("END_FOR", "POP_TOP"))
    return [Instr(name, location=location) for name in names]


# 3.12+: the instruction that ends an await's send loop (its result on top); 3.11 has none.
SEND_ENDS = frozenset() if PY < (3, 12) else frozenset({"END_SEND"})


# ----------------------------------------------------------------- coroutines
CO_COROUTINE = 0x80


def coroutine_prologue(freevar_count: int, location) -> list:
    """The first instructions of a generated coroutine function (`async def`): copy its free
    variables, make the coroutine object, then RESUME."""
    out = []
    if freevar_count:
        out.append(Instr("COPY_FREE_VARS", freevar_count, location=location))
    return out + [Instr("RETURN_GENERATOR", location=location), Instr("POP_TOP", location=location),
                  Instr("RESUME", 0, location=location)]


class YieldPoint:
    """Stands for the YIELD_VALUE of an `await` in a generated instruction list. On 3.12+ it
    needs its own try range (to `cleanup`, the CLEANUP_THROW block), which splits whatever
    range covers the code around it; `xcs.transform.awaits` puts the markers in."""

    __slots__ = ("cleanup", "location")

    def __init__(self, cleanup, location):
        self.cleanup, self.location = cleanup, location

    def instr(self) -> Instr:
        # 3.12: the oparg is the stack depth below an await's value (2); 3.13: 1 marks a yield
        # that is part of `await`/`yield from` (gen.close then closes the awaited object).
        arg = {(3, 12): 2}.get(PY, 1)
        return Instr("YIELD_VALUE", arg, location=self.location) if PY >= (3, 12) else \
            Instr("YIELD_VALUE", location=self.location)


def await_top(location) -> tuple[list, list]:
    """`await` the value on top of the stack, leaving its result there: (the inline items,
    the out-of-line cleanup block, empty before 3.12). The cleanup block must be placed where
    nothing falls into it and covered by the try range that covers the inline items."""
    from bytecode import Label

    send, done = Label(), Label()
    inline = [Instr("GET_AWAITABLE", 0, location=location), Instr("LOAD_CONST", None, location=location), send,
              Instr("SEND", done, location=location)]
    if PY < (3, 12):
        inline += [Instr("YIELD_VALUE", location=location), Instr("RESUME", 3, location=location),
                   Instr("JUMP_BACKWARD_NO_INTERRUPT", send, location=location), done]
        return inline, []
    cleanup = Label()
    inline += [YieldPoint(cleanup, location), Instr("RESUME", 3, location=location),
               Instr("JUMP_BACKWARD_NO_INTERRUPT", send, location=location), done,
               Instr("END_SEND", location=location)]
    back = "JUMP_BACKWARD" if PY < (3, 13) else "JUMP_BACKWARD_NO_INTERRUPT"
    return inline, [cleanup, Instr("CLEANUP_THROW", location=location), Instr(back, done, location=location)]
