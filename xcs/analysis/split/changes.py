"""What in-order statements change: the objects they may mutate, the names they assign,
and whether they synchronise with other threads or change the file system."""
from __future__ import annotations

import types

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import effects
from xcs.analysis.refusal import Refusal
from xcs.analysis.split.effect import opens_for_writing
from xcs.analysis.memo import per_function
from xcs.analysis.stack import Event, result_user, subscript_element, up_to_any_key


def synchronizes(desc, res, k: int, changing) -> Refusal | None:
    """A reason when commit statement k waits for or signals other threads
    (`barrier.wait()`, `event.set()`, `queue.get()`) or changes the file system
    (`os.mkdir(d)`, `f.write(...)`): work after it in the iteration must not run before
    it, as it would on a worker. `changing`: the calls already found to change it."""
    for e in desc.events[k]:
        if e.op != "call":
            continue
        if e.index in changing:
            return Refusal("after-sync", desc.raw[k].line, e.target.describe())
        obj = res.resolve(e.target)
        name = effects.qualified_name_or_empty(obj) if obj is not None else res.module_path(e.target)
        method = e.target.chain[-1] if e.target is not None and e.target.chain else None
        if method in ("write", "writelines") or opens_for_writing(desc, e, obj) or \
                effects.filesystem_change(e, desc.items, obj) is not None or \
                (obj is None and (name in effects.SYNCHRONIZING or name in effects.FILESYSTEM_CHANGING)):
            return Refusal("after-sync", desc.raw[k].line, e.target.describe())
    return None


def mutated_receivers(desc, res, kinds, statements=None) -> list:
    """(kind, name, element chain, statement index) of every object a commit statement
    (of `statements`, default all) may change: what it stores into or calls a mutating
    method on, and what it passes to a call that may change its arguments
    (`config.write(buffer)` fills `buffer`)."""
    out = []
    for k in range(len(desc.events)) if statements is None else statements:
        events = desc.events[k]
        if kinds[k] != "commit":
            continue
        for e in events:
            if e.op == "call" and call_may_change_arguments(desc, res, e, known_only=not outermost(desc, e)):
                for value in e.args:
                    if value.kind in ("local", "global", "deref"):
                        kind, name, chain = desc.canonical(value.kind, value.name, value.chain)
                        out.append((kind, name, up_to_any_key(chain), k))
                if _consumes(res, e):
                    for value in e.args:
                        out.extend(_viewed(desc, value, k))
            root = e.target
            if root is None or root.kind not in ("local", "global", "deref"):
                continue
            if e.op in ("store-attr", "delete-attr"):
                chain = root.chain + (desc.items[e.index].arg,)
            elif e.op in ("store-subscr", "delete-subscr"):
                chain = root.chain + (subscript_element(desc.items, e.args[-1]),)
            elif e.op == "inplace" and root.chain:
                chain = root.chain
            elif e.op == "call" and root.chain and (root.chain[-1] in effects.MUTATORS or e.discarded or
                                                    _ordered_method_call(desc, res, e)):
                chain = root.chain[:-1]
            else:
                continue
            kind, name, chain = desc.canonical(root.kind, root.name, chain)
            out.append((kind, name, up_to_any_key(chain), k))
            if e.op == "call":
                out.extend(_viewed(desc, root, k))
    return out


def _ordered_method_call(desc, res, e: Event) -> bool:
    """True for a method call whose result is kept (`ok = source.ack(y)`) that must itself run
    in order (its method changes what other iterations see, `self` most likely): like a call
    made for its effect, it changes its receiver, and reads of the receiver stay after it."""
    if not outermost(desc, e) or not res.is_bound_method(e.target):
        return False
    from xcs.analysis.split.effect import Marks, event_reason
    try:
        return event_reason(desc, res, e, Marks()) is not None
    except Exception:  # noqa: BLE001 - not proven harmless: it may change its receiver
        return True


def _consumes(res, e: Event) -> bool:
    """Whether call event `e` consumes from its argument (`next(it)`): an iterator over a
    named object moves that object on."""
    return res.resolve(e.target) is next


def _viewed(desc, value, k: int) -> list:
    """Entries for the named objects `value` may be a view of (`next(resp.iter_content(8))`
    consumes `resp`'s body; `next(it)` after `it = iter(f)` moves `f` on)."""
    over = value.over
    if value.kind == "local" and not value.chain:
        over = over + desc.views.get(value.name, ())
    out = []
    for kind, name, chain in over:
        kind, name, chain = desc.canonical(kind, name, chain)
        out.append((kind, name, up_to_any_key(chain), k))
    return out


def by_object(mutated) -> dict:
    """`mutated_receivers`' entries grouped by (kind, name), in order."""
    out: dict = {}
    for entry in mutated:
        out.setdefault(entry[:2], []).append(entry)
    return out


def commit_writes(desc, kinds) -> tuple[set, set]:
    """Locals, and cell/global names, that commit statements assign."""
    fast, names = set(), set()
    for k, s in enumerate(desc.raw):
        if kinds[k] != "commit":
            continue
        fast |= desc.writes(s)
        names |= {pyversion.deref_name(ins.arg) for _, ins in desc.instrs(s)
                  if ins.name in ("STORE_DEREF", "STORE_GLOBAL", "DELETE_DEREF", "DELETE_GLOBAL")}
    return fast, names


def call_may_change_arguments(desc, res, e: Event, known_only: bool = False) -> bool:
    """False for calls known to leave their arguments alone: print and logging, methods
    that put an argument into a container, builtins, Python functions that (scanned)
    change no argument; True for anything else — or, with `known_only` (a call nested in
    another, which may yet be hoisted), only for calls known to change them (`next(it)`)."""
    callee = e.target
    method = callee.chain[-1] if callee is not None and callee.chain else None
    if method in effects.STORES_ARGUMENT or method in effects.LOGGING_METHODS:
        return False
    obj = res.resolve(callee)
    if obj is print:
        return _has_keywords(desc.items, e.index)   # print(..., file=buffer) writes into buffer
    if isinstance(obj, types.BuiltinFunctionType) and getattr(obj, "__module__", None) == "builtins":
        return obj.__name__ in ("next", "iter", "setattr", "delattr", "exec", "eval")
    if effects.qualified_name_or_empty(obj) in effects.ARGUMENT_CHANGING:
        return True
    if isinstance(obj, types.FunctionType):
        try:
            # Output it writes (captured and replayed in order) changes no argument.
            return per_function(desc.shared, ("effects-captured", obj),
                                lambda: effects.ordered_effects_in(obj, res.env_for, outputs=[])) is not None
        except Exception:  # noqa: BLE001
            return True
    return not known_only


def outermost(desc, e: Event) -> bool:
    """True for a call whose result is dropped or assigned, not passed on: a call nested
    in another is a candidate for hoisting into the map part."""
    items = desc.items
    nxt = result_user(items, e.index)   # through an `await`: `await note(source, y)` is outermost
    if nxt is None:
        nxt = next((items[j] for j in range(e.index + 1, len(items)) if isinstance(items[j], Instr)), None)
    return nxt is None or nxt.name in ("POP_TOP", "STORE_FAST", "STORE_ATTR", "STORE_SUBSCR", "STORE_GLOBAL",
                                       "STORE_DEREF", "RETURN_VALUE", "UNPACK_SEQUENCE")


def _has_keywords(items, index: int) -> bool:
    item = items[index]
    if item.name in pyversion.KEYWORD_CALLS:
        return True
    previous = items[index - 1] if index else None
    return isinstance(previous, Instr) and previous.name in pyversion.KEYWORD_NAMES
