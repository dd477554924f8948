"""Where a loop is: the key the evidence layer reports a decision under.

The transform builds one `LoopSite` per parallel-capable loop and hands it to that loop's
`LoopRunner`; `explain()` and the decision's words use it to name the loop.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoopSite:
    """A `for` loop of a user function: the function's qualified name, its file, the loop's
    line, and the offset of the loop's FOR_ITER in the original code."""

    code_name: str
    filename: str
    line: int
    offset: int

    def __str__(self) -> str:
        return f"{self.code_name} ({self.filename}:{self.line})"
