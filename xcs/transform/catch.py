"""Wrap a span of generated code in a catch-all exception range.

`bytecode`'s TryBegin/TryEnd describe CPython's flat exception table, where only the
innermost handler of an instruction is recorded: a try statement inside the span ends the
outer range, and the outer range must be opened again after it. `cover` inserts those
markers so that every instruction of the span not already covered by a user try statement
goes to `handler` when it raises.
"""
from __future__ import annotations

from bytecode import Label, TryBegin, TryEnd


def cover(items: list, handler: Label) -> list:
    """`items` with TryBegin/TryEnd markers sending uncovered instructions to `handler`."""
    out: list = []
    outer = TryBegin(handler, push_lasti=False, stack_depth=0)
    out.append(outer)
    inner_open = 0
    for item in items:
        if isinstance(item, TryBegin):
            if inner_open == 0 and outer is not None:
                out.append(TryEnd(outer))
                outer = None
            inner_open += 1
            out.append(item)
        elif isinstance(item, TryEnd):
            out.append(item)
            inner_open -= 1
            if inner_open == 0:
                outer = TryBegin(handler, push_lasti=False, stack_depth=0)
                out.append(outer)
        else:
            out.append(item)
    if outer is not None:
        out.append(TryEnd(outer))
    return out
