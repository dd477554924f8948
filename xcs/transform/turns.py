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
            out += turn_call(take_turn, item.location)
        out.append(item)
    bytecode = Bytecode(fix_directions(out))
    original = Bytecode.from_code(code)
    for attr in ("argcount", "posonlyargcount", "kwonlyargcount", "flags", "name", "qualname", "filename",
                 "first_lineno", "argnames", "cellvars", "freevars", "docstring"):
        if hasattr(original, attr):
            setattr(bytecode, attr, getattr(original, attr))
    return bytecode.to_code()


def turn_call(take_turn, loc) -> list:
    """`take_turn()`, its result dropped."""
    return pyversion.push_callable(take_turn, loc) + pyversion.call(0, loc) + [Instr("POP_TOP", location=loc)]


def callee_variant(func, points, take_turn):
    """A function running `variant_code(func.__code__, ...)` as `func` would run it."""
    variant = types.FunctionType(variant_code(func.__code__, points, take_turn), func.__globals__, func.__name__,
                                 func.__defaults__, func.__closure__)
    variant.__kwdefaults__ = func.__kwdefaults__
    variant.__qualname__ = func.__qualname__
    variant.__module__ = func.__module__
    variant.__doc__ = func.__doc__
    return variant


def chooser(func, variant, take_turn):
    """`choose(current)`: `variant` while `current` is `func` with the code, defaults and
    keyword defaults it was analysed with; otherwise `current` itself (a `mock.patch`, a
    replaced `__code__` or `__defaults__`: what the plain loop would call), after taking the
    turn — nothing proves what it does may run before earlier iterations' turns."""
    code, defaults, kwdefaults = func.__code__, func.__defaults__, func.__kwdefaults__

    def choose(current):
        if current is func and current.__code__ is code and current.__defaults__ is defaults and \
                current.__kwdefaults__ is kwdefaults:
            return variant
        take_turn()
        return current

    return choose


def load_variant(instr, choose) -> list:
    """The instructions replacing `instr` (the load of the callee before its call, with the
    NULL a call needs on 3.11+): the callee loaded as before, handed to `choose`, and its
    answer left where the callee was. What reads the body's code for evidence
    (`xcs.evidence.static`) still sees the name."""
    loc = instr.location
    if instr.name == "LOAD_GLOBAL":
        load = Instr("LOAD_GLOBAL", (False, instr.arg[1]) if isinstance(instr.arg, tuple) else instr.arg,
                     location=loc)
        with_null = isinstance(instr.arg, tuple) and instr.arg[0]
    else:   # a closure variable: the loop body reads it as a free variable of its own
        load = Instr("LOAD_DEREF", FreeVar(pyversion.deref_name(instr.arg)), location=loc)
        with_null = False
    out = pyversion.push_callable(choose, loc) + [load] + pyversion.call(1, loc)
    if with_null:
        for i in pyversion.null_below_top():
            i.location = loc
            out.append(i)
    return out
