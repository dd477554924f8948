"""Stub of the `xcs._hook` C extension (csrc/hook.c). Import it only through `xcs.native`."""
from types import CodeType, FunctionType
from typing import Callable, Literal

API_VERSION: int

def install(callback: Callable[[FunctionType], CodeType | None], /) -> None:
    """Install the PEP 523 hook; `callback(function)` is asked once per unseen code object
    and returns the variant code to run for every call of it, or None."""

def install_bare() -> None:
    """Install a hook that only reads co_extra (measures the floor any hook costs)."""

def uninstall() -> None:
    """Restore the previous evaluator if XCS's is installed."""

def installed() -> Literal["callback", "bare"] | None: ...

def set_decision(code: CodeType, variant: CodeType | None, /) -> None:
    """Overwrite `code`'s decision: run `variant` for its calls, or (None) run it as written."""

def decision(code: CodeType, /) -> CodeType | Literal[False] | None:
    """None (unseen), False (run as written) or the variant code object."""

def frame_function(code: CodeType, /) -> FunctionType | None:
    """(3.12+) The function object of the nearest frame of this thread running `code`."""

def stack_guard() -> tuple[int, int]:
    """(lowest address a new frame may start at, margin in bytes) for this thread; (0, 0) if unknown."""
