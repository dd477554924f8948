"""Turn a code object into the instruction list the analysis and transform share.

3.13 superinstructions (`LOAD_FAST_LOAD_FAST`, ...) are split into plain pairs so that
every instruction touches at most one local, and every `TryBegin` carries the stack depth
CPython's exception table gives it (the `bytecode` library leaves it unset on input).
"""
from __future__ import annotations

from bytecode import Bytecode, ControlFlowGraph, Instr

from xcs import pyversion


def split_superinstructions(bytecode: Bytecode) -> Bytecode:
    """Replace each fused local-variable instruction by its two plain halves, in place."""
    out = []
    for item in bytecode:
        pair = pyversion.SUPERINSTRUCTIONS.get(getattr(item, "name", None))
        if pair is None:
            out.append(item)
            continue
        for name, arg in zip(pair, item.arg):
            out.append(Instr(name, arg, location=item.location))
    bytecode[:] = out
    return bytecode


def normalize(code) -> Bytecode:
    """The normalized `Bytecode` of `code` (a fresh object; `code` is not touched)."""
    bytecode = split_superinstructions(Bytecode.from_code(code))
    cfg = ControlFlowGraph.from_bytecode(bytecode)
    cfg.compute_stacksize(compute_exception_stack_depths=True)
    return cfg.to_bytecode()
