"""What `explain` can say about a safe loop before its first run: the static evidence.

At run time the evidence layer decides a safe loop from the registry's verdict on its body's
code (`requests.get` blocks; a `sqlite3` connection is thread-affine), with the values the
loop's inputs have then, and probes the first iteration only when the code shows nothing.
Before any run, the same verdict can be read from what the body reaches through globals and
closure cells alone: when that finds something, `explain` reports the decision the first run
will take; when it finds nothing, the first run decides (by the probe, or by what the inputs
turn out to be).
"""
from __future__ import annotations

import dis
import types

from xcs.evidence.decision import Decision, from_static
from xcs.evidence.static import scan_body


def static_prediction(func, variant: types.CodeType, runner) -> Decision | None:
    """The decision the static evidence takes for the loop `runner` runs in `variant` (the
    variant of `func`), seen through `func`'s globals and closure only; None when it takes none
    or anything fails (explain then says the first run decides)."""
    try:
        body_code = _body_code(variant, runner)
        if body_code is None:
            return None
        cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        closure = tuple(cells.get(name) or types.CellType() for name in body_code.co_freevars)
        body = types.FunctionType(body_code, func.__globals__, body_code.co_name, None, closure or None)
        return from_static(scan_body(body, ()))
    except Exception:  # noqa: BLE001 - a prediction is a courtesy; the first run decides anyway
        return None


def _body_code(code: types.CodeType, runner) -> types.CodeType | None:
    """The loop body code the variant hands to `runner`: the first code constant loaded after
    the runner itself (see `xcs.transform.variant._runner_call`), in `code` or its nested code."""
    after_runner = False
    for ins in dis.get_instructions(code):
        if ins.opname == "LOAD_CONST" and ins.argval is runner:
            after_runner = True
        elif after_runner and ins.opname == "LOAD_CONST" and isinstance(ins.argval, types.CodeType):
            return ins.argval
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found = _body_code(const, runner)
            if found is not None:
                return found
    return None
