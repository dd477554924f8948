"""The receiver of a call: what a call `a.b.m(x)` passes before the arguments it spells.

One rule for every part of the analysis that binds a callee's parameters to a call's
arguments (the loop body's split, the effect walker over callees, the read-set walker):
a method read from an object passes that object as `self`; a module's function, a plain
name and a function read from a class pass nothing; a classmethod passes its class; a
staticmethod passes nothing, whatever it is read from.
"""
from __future__ import annotations

import inspect
import types

__all__ = ["follow_chain", "for_binding", "NO_RECEIVER", "UNKNOWN_RECEIVER", "UNRESOLVED", "call_receiver", "has_receiver"]


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_RECEIVER = _Marker("NO_RECEIVER")            # the call passes only the arguments it spells
UNKNOWN_RECEIVER = _Marker("UNKNOWN_RECEIVER")  # it passes an object the analysis cannot name
UNRESOLVED = _Marker("UNRESOLVED")              # a root the caller could not resolve


def follow_chain(obj, chain: tuple):
    """`obj.a.b...` read without running user code (`inspect.getattr_static`; modules by
    `getattr`), or raise LookupError."""
    for attr in chain:
        try:
            obj = inspect.getattr_static(obj, attr) if not isinstance(obj, types.ModuleType) else getattr(obj, attr)
        except AttributeError:
            raise LookupError(attr) from None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


def call_receiver(callee, root=UNRESOLVED):
    """What a call of `callee` passes as its first parameter before the written arguments.

    `callee` is the simulated callee (`stack.Value`: kind, name, attribute chain); `root` is
    the object its name refers to, or UNRESOLVED. Returns NO_RECEIVER for a plain name
    (`f(x)`), a module's function (`json.loads`, `os.path.join`), a function or staticmethod
    read from a class (`Cls.m(x)`); UNKNOWN_RECEIVER for a method of an object the analysis
    cannot name (a call's result, a local made in the loop, an unresolved root); else the
    receiver object itself (`self.session` for `self.session.get`, the class for a
    classmethod). Reading attributes runs no user code (`inspect.getattr_static`)."""
    if callee is None or not callee.chain:
        return NO_RECEIVER
    if root is UNRESOLVED or callee.kind not in ("local", "global", "deref"):
        return UNKNOWN_RECEIVER
    try:
        obj = follow_chain(root, callee.chain[:-1])
    except Exception:  # noqa: BLE001 - not readable without running code
        return UNKNOWN_RECEIVER
    if isinstance(obj, types.ModuleType):
        return NO_RECEIVER
    try:
        raw = inspect.getattr_static(obj, callee.chain[-1])
    except Exception:  # noqa: BLE001 - an attribute made at run time (`__getattr__`): a method of obj
        raw = None
    if isinstance(raw, staticmethod):
        return NO_RECEIVER
    if isinstance(obj, type):
        return obj if isinstance(raw, classmethod) else NO_RECEIVER
    return obj


def for_binding(receiver):
    """`call_receiver`'s answer as `effects.bind_call` takes it: None (no receiver), `...`
    (a receiver the analysis cannot name) or the object."""
    if receiver is NO_RECEIVER:
        return None
    return ... if receiver is UNKNOWN_RECEIVER else receiver


def has_receiver(callee, root=UNRESOLVED) -> bool:
    """True when a call of `callee` passes a receiver (known or not) before its arguments."""
    return call_receiver(callee, root) is not NO_RECEIVER
