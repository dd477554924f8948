"""Callee variants: a copy of a callee's code that calls `take_turn()` before each statement
holding an ordered effect (`xcs.analysis.callee_turns` says where), and the instructions
that load it in a loop body in place of the callee.

The variant is made once per compiled loop, with the callee's globals, defaults, keyword
defaults and closure; the loop-start guards re-check that the name still refers to the
analysed function and that its `__code__` is the analysed code (otherwise the loop runs in
order, the original code). `take_turn` is handed in by the caller (the runtime layer is
above this one); off an XCS worker it returns after one thread-local lookup, so the
variant does what the callee does.
"""
from __future__ import annotations

import types

from bytecode import Bytecode, FreeVar, Instr

from xcs import pyversion
from xcs.transform.jumps import fix_directions


def variant_code(code, points, take_turn):
    """`code` with `take_turn()` called before each item index of `points` (indices into
    `xcs.analysis.normalize.normalize(code)`)."""
    from xcs.analysis.normalize import normalize

    items = list(normalize(code))
    wanted = set(points)
    out = []
    for i, item in enumerate(items):
        if i in wanted and isinstance(item, Instr):
            loc = item.location
            out += pyversion.push_callable(take_turn, loc)
            out += pyversion.call(0, loc)
            out.append(Instr("POP_TOP", location=loc))
        out.append(item)
    bytecode = Bytecode(fix_directions(out))
    original = Bytecode.from_code(code)
    for attr in ("argcount", "posonlyargcount", "kwonlyargcount", "flags", "name", "qualname", "filename",
                 "first_lineno", "argnames", "cellvars", "freevars", "docstring"):
        if hasattr(original, attr):
            setattr(bytecode, attr, getattr(original, attr))
    return bytecode.to_code()


def callee_variant(func, points, take_turn):
    """A function running `variant_code(func.__code__, ...)` as `func` would run it."""
    variant = types.FunctionType(variant_code(func.__code__, points, take_turn), func.__globals__, func.__name__,
                                 func.__defaults__, func.__closure__)
    variant.__kwdefaults__ = func.__kwdefaults__
    variant.__qualname__ = func.__qualname__
    variant.__module__ = func.__module__
    variant.__doc__ = func.__doc__
    return variant


def load_variant(instr, variant) -> list:
    """The instructions replacing `instr` (the load of the callee before its call) so that
    the call calls `variant`. The name is still loaded (and dropped): what reads the body's
    code for evidence (`xcs.evidence.static`) sees the callee it names."""
    loc = instr.location
    if instr.name == "LOAD_GLOBAL" and isinstance(instr.arg, tuple) and instr.arg[0]:
        # 3.11+: the load also pushed the NULL a call needs
        return [Instr("LOAD_GLOBAL", (False, instr.arg[1]), location=loc), Instr("POP_TOP", location=loc),
                *pyversion.push_callable(variant, loc)]
    # A closure variable: the loop body reads it as a free variable of its own.
    return [Instr("LOAD_DEREF", FreeVar(pyversion.deref_name(instr.arg)), location=loc), Instr("POP_TOP", location=loc),
            Instr("LOAD_CONST", variant, location=loc)]
