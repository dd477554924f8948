"""Facts about the whole function a loop belongs to, computed once and shared by the
analyses of all its loops (one scan of the function per loop made a function with many
loops quadratic). Each is kept in the `shared` dict the driver receives per function."""
from __future__ import annotations

import sys

from bytecode import Instr

from xcs import pyversion
from xcs.analysis.flow import definitely_assigned
from xcs.analysis.memo import per_function


def assignment_counts(shared: dict, items) -> dict:
    """How many times the function assigns or deletes each local and cell variable."""
    return per_function(shared, "assignment_counts", lambda: _count_assignments(items))


def _count_assignments(items) -> dict:
    counts: dict = {}
    for item in items:
        if isinstance(item, Instr) and item.name in ("STORE_FAST", "DELETE_FAST", *pyversion.COMPREHENSION_SAVES,
                                                     "STORE_DEREF", "DELETE_DEREF"):
            name = pyversion.deref_name(item.arg) if "DEREF" in item.name else item.arg
            counts[name] = counts.get(name, 0) + 1
    return counts


def imported(shared: dict, items) -> dict:
    """Locals bound once by an import inside the function (`import os`, `from os import
    path`) to a module already loaded: name -> the module or object. Nothing is imported."""
    return per_function(shared, "imported", lambda: _find_imported(shared, items))


def _find_imported(shared: dict, items) -> dict:
    counts = assignment_counts(shared, items)
    found = {}
    top = full = pending = None
    for item in items:
        if not isinstance(item, Instr):
            continue
        if item.name == "IMPORT_NAME":
            full, top, pending = sys.modules.get(item.arg), sys.modules.get(item.arg.split(".")[0]), None
        elif item.name == "IMPORT_FROM" and top is not None:
            pending = getattr(full, item.arg, None) if full is not None else None
            if pending is None:
                pending = getattr(top, item.arg, None)
        elif item.name in ("STORE_FAST", "STORE_DEREF") and top is not None:
            value = pending if pending is not None else top
            name = pyversion.deref_name(item.arg)
            if counts.get(name) == 1:
                found[name] = value
            pending = None
        elif item.name not in ("LOAD_CONST", "POP_TOP"):
            top = full = pending = None
    return found


def parameters(code) -> tuple:
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def constructed(shared: dict, items, code, env, cellvars, whole_function_events) -> tuple[dict, dict]:
    """(locals the function assigns exactly once, from a call of a class it can resolve
    (`work = queue.Queue()`): name -> class; the guards that resolution relies on)."""
    return per_function(shared, "constructed",
                        lambda: _find_constructed(shared, items, code, env, cellvars, whole_function_events))


def _find_constructed(shared, items, code, env, cellvars, whole_function_events) -> tuple[dict, dict]:
    counts = assignment_counts(shared, items)
    params = set(parameters(code))
    guards: dict = {}
    try:
        events = whole_function_events()
    except Exception:  # noqa: BLE001 - not understood: nothing inferred
        return {}, guards
    calls = {e.index: e.target for e in events if e.op == "call"}
    found = {}
    cell_stores = [(i, pyversion.deref_name(item.arg)) for i, item in enumerate(items)
                   if isinstance(item, Instr) and item.name == "STORE_DEREF"]
    stores = [(e.index, e.args[0]) for e in events if e.op == "store-local" and e.args[0] not in cellvars]
    for index, name in stores + cell_stores:
        if counts.get(name) != 1 or name in params:
            continue
        callee = calls.get(index - 1)
        if callee is None or callee.kind not in ("global", "deref"):
            continue
        try:
            cls = env.lookup(callee.kind, callee.name, callee.chain)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(cls, type):
            guards[(callee.kind, callee.name, callee.chain)] = cls
            found[name] = cls
    return found, guards


def single_store(shared: dict, items, code, name: str):
    """The index of the only STORE_FAST of `name` in the function, if it is not a parameter."""
    if assignment_counts(shared, items).get(name) != 1 or name in parameters(code):
        return None
    return next((i for i, item in enumerate(items)
                 if isinstance(item, Instr) and item.name == "STORE_FAST" and item.arg == name), None)


def defined_at_entry(shared: dict, flow, code) -> dict:
    """`flow.definitely_assigned` from the function's entry, its parameters bound."""
    nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
    entry = flow.next_instr(0)
    return per_function(shared, "defined",
                        lambda: definitely_assigned(flow, entry, frozenset(code.co_varnames[:nargs])))
