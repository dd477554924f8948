"""A function that compiles itself on its first call, then *is* its variant.

`@xcs.jit` returns a real function object built from a small trampoline code object with
the user's closure. Its first call analyses and transforms the user's function (late, so
globals defined after the decorator are seen), swaps its own `__code__` for the result and
runs it. Later calls run the chosen code directly: no wrapper frame, no per-call cost.
"""
from __future__ import annotations

import types

from bytecode import Bytecode, Instr

from xcs import pyversion
from xcs.transform import awaits

CO_OPTIMIZED, CO_NEWLOCALS, CO_VARARGS, CO_VARKEYWORDS, CO_NESTED = 0x1, 0x2, 0x4, 0x8, 0x10


class Holder:
    """Links the trampoline code to the function object it lives in."""

    __slots__ = ("function", "original", "first_call")


def make(original: types.FunctionType, first_call) -> types.FunctionType:
    """A copy of `original` whose first call runs `first_call(holder, args, kwargs)` — which
    compiles, swaps the function's code and returns the function — then calls it with the
    arguments.

    The call happens in the trampoline's own frame (file and name of the user's function),
    so no XCS frame sits in a traceback even on the first call.
    """
    code = original.__code__
    holder = Holder()
    holder.original = original
    holder.first_call = first_call
    loc = None
    # An `async def` gets a coroutine trampoline that awaits the function's coroutine: the
    # swapped-in code is a coroutine's too (the kind of a function's code never changes).
    coroutine = code.co_flags & pyversion.CO_COROUTINE
    instrs = (pyversion.coroutine_prologue if coroutine else pyversion.code_prologue)(len(code.co_freevars), loc)
    instrs += pyversion.push_callable(first_call, loc)
    instrs += [Instr("LOAD_CONST", holder), Instr("LOAD_FAST", "args"), Instr("LOAD_FAST", "kwargs")]
    instrs += pyversion.call(3, loc)
    instrs += pyversion.null_below_top()
    instrs += [Instr("LOAD_FAST", "args"), Instr("LOAD_FAST", "kwargs"), Instr("CALL_FUNCTION_EX", 1)]
    cleanup: list = []
    if coroutine:
        inline, cleanup = pyversion.await_top(loc)
        instrs += inline
    instrs += [Instr("RETURN_VALUE"), *cleanup]
    bytecode = Bytecode(awaits.place(instrs) if coroutine else instrs)
    bytecode.argnames = ["args", "kwargs"]
    bytecode.argcount = 0
    bytecode.flags = CO_OPTIMIZED | CO_NEWLOCALS | CO_VARARGS | CO_VARKEYWORDS | (CO_NESTED if code.co_freevars else 0) | \
        (pyversion.CO_COROUTINE if coroutine else 0)
    bytecode.freevars = list(code.co_freevars)
    bytecode.name, bytecode.qualname = code.co_name, code.co_qualname
    bytecode.filename, bytecode.first_lineno = code.co_filename, code.co_firstlineno
    function = types.FunctionType(bytecode.to_code(), original.__globals__, original.__name__,
                                  original.__defaults__, original.__closure__)
    function.__kwdefaults__ = original.__kwdefaults__
    holder.function = function
    return function
