"""Give every relative jump the direction its target now lies in.

Moving instructions into a new code object can put a label on the other side of a jump
(a `continue` that becomes a jump to the body's epilogue, a handler placed after it).
CPython encodes direction in the opcode (`JUMP_FORWARD`/`JUMP_BACKWARD`, and on 3.11 the
conditional jumps too), so the opcode is chosen from the final layout.
"""
from __future__ import annotations

from bytecode import Instr, Label

from xcs import pyversion


class JumpDirectionError(Exception):
    """A conditional jump would have to go backward on 3.12+, where none exists."""


def fix_directions(items: list) -> list:
    """Return `items` with each relative jump's opcode matching its target's side."""
    position = {item: i for i, item in enumerate(items) if isinstance(item, Label)}
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Instr) and isinstance(item.arg, Label) and item.arg in position:
            backward = position[item.arg] < i
            name = item.name
            if "FORWARD" in name or "BACKWARD" in name:
                wanted = name if ("BACKWARD" in name) == backward else pyversion.flip_direction(name)
                if wanted != name:
                    item = Instr(wanted, item.arg, location=item.location)
            elif backward and name.startswith("POP_JUMP_IF"):
                raise JumpDirectionError(f"{name} cannot jump backward on this Python")
        out.append(item)
    return out
