"""Pass: the proof obligation of callee turns (`xcs.analysis.callee_turns`).

A call classified map through a callee variant runs on a worker up to the callee's first
turn, and in order after it. That is exact when what may run before a turn — the callee's
part before it, every other map statement, every hoisted argument — reads nothing that a
part after a turn writes (the turn parts of earlier iterations have run by then, or not,
depending on timing), and when no earlier statement of the iteration is in order (its
in-order part runs after the body; a turn part after it in the plain loop would run before
it). A turn part that may change the file system forbids any file-system read before a
turn (`os.path.exists(p)`, "skip if already downloaded"). What the in-order part changes
is checked by `dependencies` as for any call.

`check(desc, res, statements, turns)` returns the `TurnedCall`s (empty when there are
none) or None when the obligation fails: the driver then runs the split again without
turns, and today's refusal stands.
"""
from __future__ import annotations

import types
from typing import NamedTuple

from xcs.analysis import effects, knowledge, walker
from xcs.analysis.facts import TurnedCall

class Turned(NamedTuple):
    """What `check` found to hold: `TurnedCall`s, and body item indices before which the
    body takes the turn (statements of the body with ordered effects inside)."""

    calls: tuple
    points: tuple
    covered: frozenset = frozenset()   # body item indices that run after a statement's turn


ANY = ("any",)
FS = ("fs",)
_UNSEEN = object()   # the value a read sees is not known
_DATA = (int, float, complex, str, bytes, bool, type(None), frozenset, range, types.ModuleType,
         types.FunctionType, type)


def check(desc, res, statements, turns, statement_turns=None) -> Turned | None:
    """The turned calls and statement turn points that hold (`Turned`), or None when the
    obligation fails. `turns`: event -> `CalleeTurns`; `statement_turns`: statement ->
    `statement_turns.StatementTurns`."""
    turns, statement_turns = turns or {}, statement_turns or {}
    turned = []
    for k, st in enumerate(statements):
        if st.kind != "map":
            continue
        for e in desc.events[k]:
            found = turns.get(e.index)
            if found is not None:
                turned.append((k, e, found))
    in_statements = {k: t for k, t in statement_turns.items() if statements[k].kind == "map"}
    if not turned and not in_statements:
        return Turned((), ())
    first = min([k for k, _, _ in turned] + list(in_statements))
    if any(statements[j].kind == "commit" for j in range(1, first)):
        return None
    writes, reads, filesystem = set(), set(), False
    turned_events = {e.index for _, e, _ in turned}
    for _, e, t in turned:
        passed = _passed(desc, e, t.function)
        filesystem = filesystem or t.filesystem
        if t.unknown:
            writes.add(ANY)
        for w in t.writes:
            writes.add(_write_key(desc, w, t.function, passed))
        for r in t.reads:
            reads.add(_read_key(desc, r, t.function, passed))
    for t in in_statements.values():
        filesystem = filesystem or t.filesystem
        if t.unknown:
            writes.add(ANY)
        writes |= t.writes
    for k, st in enumerate(statements):
        if st.kind != "map" and not st.hoists:
            continue   # in order: after the turn parts of this and every earlier iteration
        covered = in_statements[k].covered if k in in_statements else frozenset()
        reads |= _statement_reads(desc, res, k, turned_events | covered, covered)
    writes.discard(None)
    reads.discard(None)
    result = Turned(_calls(desc, turned), tuple(sorted(p for t in in_statements.values() for p in t.points)),
                    frozenset(i for t in in_statements.values() for i in t.covered))
    if not writes and not filesystem:
        return result
    if FS in reads and filesystem:
        return None
    if ANY in reads and (writes or filesystem):
        return None
    if ANY in writes and any(_mutable(r) for r in reads if r != FS):
        return None
    if {_bare(w) for w in writes} & {_bare(r) for r in reads}:
        return None
    return result


def _calls(desc, turned) -> tuple:
    return tuple(TurnedCall(e.index, e.target.start, t, desc.items[e.index].lineno, e.target.describe())
                 for _, e, t in turned)


def _bare(key):
    """A read or write key without the value a read saw (kept for `_mutable`)."""
    return key[:3] if key[0] == "global" else key[:2]


def _mutable(read) -> bool:
    """A read an unknown write could change: anything but a variable holding plain data."""
    plain = read[3] if read[0] == "global" else read[2] if read[0] == "local" and len(read) > 2 else False
    return not plain


def _plain(value) -> bool:
    """Whether a variable's value is plain data no write can change (only rebinding it can)."""
    return value is not _UNSEEN and isinstance(value, _DATA)


def _passed(desc, e, func) -> dict:
    keywords = effects.call_keywords(desc.items, e.index)
    return walker._passed(func, e.args, keywords, None)


def _value_key(desc, value):
    """The shared object a caller's value names, as a key; None for the iteration's own."""
    if value is None:
        return ANY
    globals_ = desc.env.globals
    if value.kind == "global":
        return ("global", id(globals_), value.name, not value.chain and _plain(globals_.get(value.name, _UNSEEN)))
    if value.kind == "deref":
        return ("cell", value.name)
    if value.kind == "local":
        if desc.per_iteration(value.name):
            return None
        kind, name, chain = desc.canonical(value.kind, value.name, value.chain)
        if kind == "global":
            return ("global", id(globals_), name, False)
        if kind == "deref":
            return ("cell", name)
        return ("local", name, not chain and _plain(desc.env.arguments.get(name, _UNSEEN)))
    return None   # a call result, a constant, an object built in the iteration


def _param_value(func, passed, index=None, name=None):
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if name is None:
        if index is None or index >= len(names):
            return None
        name = names[index]
    return passed.get(name)   # None: a default value (shared across calls) or *args: unknown


def _default(func, index: int):
    """The default value of `func`'s parameter number `index`, or `_UNSEEN`."""
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if index >= len(names):
        return _UNSEEN
    if index >= code.co_argcount:
        return (func.__kwdefaults__ or {}).get(names[index], _UNSEEN)
    defaults = func.__defaults__ or ()
    first = code.co_argcount - len(defaults)
    return defaults[index - first] if index >= first else _UNSEEN


def _write_key(desc, w, func, passed):
    if w.root == "global":
        return ("global", id(func.__globals__), w.name)
    if w.root == "cell":
        return ("cell", w.name)
    if w.root == "param":
        return _value_key(desc, _param_value(func, passed, name=w.name))
    return ANY   # another module's state, an object reached another way


def _read_key(desc, r, func, passed):
    if r.kind == "any":
        return ANY
    if r.kind == "fs":
        return FS
    if r.kind == "global":
        gid, name = r.key
        space = func.__globals__ if gid == id(func.__globals__) else None
        return ("global", gid, name, space is not None and _plain(space.get(name, _UNSEEN)))
    if r.kind == "cell":
        return ("cell", r.key)
    if r.kind == "param":
        value = _param_value(func, passed, index=r.key)
        if value is None and _plain(_default(func, r.key)):
            return None   # not passed: its default, plain data
        return _value_key(desc, value)
    return ANY


def _statement_reads(desc, res, k: int, skip_events, skip_items=frozenset()) -> set:
    """What statement k reads of shared state: its variables (but those read at
    `skip_items`), and its callees' reads (but those of the calls at `skip_events`)."""
    out = set()
    globals_ = desc.env.globals
    for i, name, kind in desc.reads(desc.raw[k]):
        if i in skip_items:
            continue
        if kind == "global":
            out.add(("global", id(globals_), name, _plain(globals_.get(name, desc.env.builtins.get(name, _UNSEEN)))))
        elif kind == "deref":
            out.add(("cell", name))
        elif not desc.per_iteration(name):
            okind, oname, _ = desc.canonical("local", name, ())
            out.add(("global", id(globals_), oname, _plain(globals_.get(oname, _UNSEEN))) if okind == "global" else
                    ("cell", oname) if okind == "deref" else
                    ("local", oname, oname == name and _plain(desc.env.arguments.get(oname, _UNSEEN))))
    for e in desc.events[k]:
        if e.op != "call" or e.target is None or e.index in skip_events:
            continue
        obj = res.resolve(e.target)
        name = effects.qualified_name_or_empty(obj) if obj is not None else ""
        method = e.target.chain[-1] if e.target.chain else None
        if (name and (name in effects.FILESYSTEM_READING or knowledge._lookup(effects.FILESYSTEM_READING, name))) \
                or method in effects.PATH_READING_METHODS:
            out.add(FS)
            continue
        if isinstance(obj, types.MethodType):
            obj = obj.__func__
        if not isinstance(obj, types.FunctionType) or desc.env.is_trusted(obj):
            continue
        try:
            reads = effects.shared_reads(obj, res.callee_env_for(e.target, obj))
        except Exception:  # noqa: BLE001 - not understood: it may read anything
            out.add(ANY)
            continue
        bound = res.is_bound_method(e.target)
        passed = ([effects.receiver_of(e.target)] if bound else []) + list(e.args)
        for r in reads:
            if r.kind == "param":
                out.add(_value_key(desc, passed[r.key]) if r.key < len(passed) else ANY)
            elif r.kind == "global":
                gid, gname = r.key
                out.add(("global", gid, gname, gid == id(obj.__globals__) and _plain(obj.__globals__.get(gname, _UNSEEN))))
            else:
                out.add(_read_key(desc, r, obj, {}))
    return out
