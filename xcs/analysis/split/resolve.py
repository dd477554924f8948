"""What the names a loop body uses refer to, and the guards those answers rely on.

A `Resolver` serves one pass: it answers through the function's globals and closure, the
modules imported inside it, the objects it constructs once and the first call's arguments,
and records each resolution the split relies on as a guard ((kind, name, chain) -> object),
which the runner re-checks at every loop start. The pass returns `guards()` with its
result; the driver joins them.
"""
from __future__ import annotations

import types

from xcs.analysis import effects, receiver


class Resolver:
    """Resolutions made by one pass over a `LoopDescription`, with their guards."""

    def __init__(self, desc):
        self.desc = desc
        self._guards: dict = {}

    def guards(self) -> types.MappingProxyType:
        """The guards recorded so far, as a read-only copy."""
        return types.MappingProxyType(dict(self._guards))

    def constructed(self) -> dict:
        """`scope.constructed` for this function; its guards join this pass's."""
        found, guards = self.desc.constructed
        self._guards.update(guards)
        return found

    def resolve(self, value):
        """What a callee expression refers to, or None. Globals and closure cells resolve
        through the function, outer locals through the first call's arguments (`self.fetch`).
        Each resolution becomes a guard the runner re-checks at every loop start: a later
        call may pass other objects, and a global may be rebound (`mock.patch`)."""
        desc = self.desc
        if value is None:
            return None
        if value.kind == "local" and (not value.chain or desc.is_body_local(value.name)):
            return None
        if value.kind not in ("local", "global", "deref"):
            return None
        constructed_cell = value.kind == "deref" and value.name in desc.cellvars
        if value.kind in ("local", "deref") and value.chain and value.name in desc.imported and \
                (value.kind == "local" or value.name in desc.cellvars):
            try:
                return effects.follow_chain(desc.imported[value.name], value.chain)   # `import os` inside
            except Exception:  # noqa: BLE001
                return None
        if (value.kind == "local" and value.name not in desc.env.arguments) or constructed_cell:
            cls = self.constructed().get(value.name)
            if cls is None:
                return None
            try:
                return effects.follow_chain(cls, value.chain)   # `work = queue.Queue()`; `work.get`
            except Exception:  # noqa: BLE001
                return None
        try:
            obj = desc.env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001 - unknown name, or a descriptor we should not poke at
            return None
        self._guards[(value.kind, value.name, value.chain)] = obj
        return obj

    def resolve_root(self, value):
        """The object the root name of `value` refers to (no guard), or None."""
        desc = self.desc
        if value.kind in ("local", "deref") and value.name in desc.imported and \
                (value.kind == "local" or value.name in desc.cellvars):
            return desc.imported[value.name]   # `import os` inside the function
        try:
            return desc.env.lookup(value.kind, value.name)
        except Exception:  # noqa: BLE001
            return None

    def held(self, value):
        """The object an argument expression names (a global, a closure variable, an outer
        local through the first call's arguments), or `effects.UNKNOWN`."""
        desc = self.desc
        if value.kind == "local" and (value.name not in desc.env.arguments or desc.is_body_local(value.name)):
            return effects.UNKNOWN
        if value.kind not in ("local", "global", "deref"):
            return effects.UNKNOWN
        try:
            return desc.env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001
            return effects.UNKNOWN

    def module_path(self, callee) -> str:
        """`os.mkdir` for a callee read as an attribute of a module, else ''."""
        root = self.resolve_root(callee) if callee is not None and callee.kind in ("global", "deref") else None
        if isinstance(root, types.ModuleType) and callee.chain:
            return ".".join((root.__name__,) + callee.chain)
        return ""

    def receiver(self, callee):
        """`receiver.call_receiver` for a callee of this function: its root resolved through
        the globals, closure, modules imported inside the function, or the first call's
        arguments (an outer local the loop does not assign)."""
        desc = self.desc
        if callee is None or not callee.chain:
            return receiver.NO_RECEIVER
        if callee.kind in ("global", "deref") or (callee.kind == "local" and callee.name in desc.imported):
            root = self.resolve_root(callee)
            return receiver.call_receiver(callee, receiver.UNRESOLVED if root is None else root)
        if callee.kind == "local" and callee.name in desc.env.arguments and not desc.is_body_local(callee.name):
            return receiver.call_receiver(callee, desc.env.arguments[callee.name])
        return receiver.call_receiver(callee)

    def is_bound_method(self, callee) -> bool:
        """True for a callee read as an attribute of an object (`self.fetch`), False for a
        plain function, a module's function (`json.loads`, also with `import json` inside the
        function) and a function read from a class: `receiver.call_receiver`'s rule."""
        return self.receiver(callee) is not receiver.NO_RECEIVER

    def env_for(self, func) -> effects.Environment:
        """The environment a callee `func` is read in: its own globals and closure."""
        closure = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        env = self.desc.env
        return effects.Environment(globals=func.__globals__, closure=closure, extra_ordered=env.extra_ordered,
                                   trusted=env.trusted)

    def callee_env_for(self, callee, func):
        """`env_for`, with the callee's `self` bound when it is a method of a known object."""
        obj = receiver.for_binding(self.receiver(callee))
        if obj is None or obj is ... or not func.__code__.co_argcount:
            return self.env_for
        return effects.binding(self.env_for, func, {func.__code__.co_varnames[0]: obj})
