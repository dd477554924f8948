"""Tracebacks as plain Python shows them: without XCS's own frames or the import machinery's.

`python -m xcs run script.py` runs the script from inside XCS, and `explain mod:f` imports
the user's module; a failure there is the user's, so its traceback should read as it would
under `python script.py`: the user's frames only, each with the path plain Python gives.
"""
from __future__ import annotations

import importlib
import os
import sys
import types

from xcs.sourcepaths import is_xcs_file

_MACHINERY = ("<frozen importlib._bootstrap", "<frozen runpy>")
_IMPORTLIB = os.path.dirname(importlib.__file__) + os.sep


def _internal(filename: str) -> bool:
    return filename.startswith(_MACHINERY) or filename.startswith(_IMPORTLIB) or is_xcs_file(filename)


def without_internal_frames(error: BaseException, _seen: set | None = None) -> BaseException:
    """`error` with the XCS and import-machinery frames removed from its traceback, and from
    those of its cause, context and (for an ExceptionGroup) members. Returns `error`."""
    seen = set() if _seen is None else _seen
    if id(error) in seen:
        return error
    seen.add(id(error))
    kept = []
    tb = error.__traceback__
    while tb is not None:
        if not _internal(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for tb in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    error.__traceback__ = rebuilt
    for linked in (error.__cause__, error.__context__, *getattr(error, "exceptions", ())):
        if isinstance(linked, BaseException):
            without_internal_frames(linked, seen)
    return error


def print_user_traceback(error: BaseException) -> None:
    """Print `error` through `sys.excepthook`, as the interpreter does for an uncaught exception."""
    without_internal_frames(error)
    sys.excepthook(type(error), error, error.__traceback__)
