"""What the loop iterates, and what the body does to it: the iterated variable and view
(`for k in d.items()`), the objects the iterable expression reads (`f` in `enumerate(f)`)
and the body's uses of them, and whether the iterable expression makes its own object."""
from __future__ import annotations

import types

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import effects
from xcs.analysis.split import scope
from xcs.analysis.split.changes import call_may_change_arguments
from xcs.analysis.split.resolve import Resolver
from xcs.analysis.stack import Event, Value, render, simulate

# Builtins that read an argument without advancing or changing it.
NOT_ADVANCING = frozenset({"len", "isinstance", "issubclass", "id", "type", "repr", "str", "hash", "bool",
                           "callable", "hasattr", "getattr", "print", "format"})


def iterated_object(desc):
    """(kind, name, attribute chain) of the expression the loop iterates over
    (`for t in self.tar` -> ("local", "self", ("tar",))), or None."""
    items = desc.items
    chain = []
    j = desc.loop.iter_insert - 1
    while j >= 0 and isinstance(items[j], Instr) and items[j].name in pyversion.ATTR_LOADS:
        chain.insert(0, pyversion.attr_name(items[j]))
        j -= 1
    prev = items[j] if j >= 0 else None
    if not isinstance(prev, Instr):
        return None
    kind = {**dict.fromkeys(pyversion.LOCAL_READS, "local"), "LOAD_GLOBAL": "global",
            "LOAD_DEREF": "deref"}.get(prev.name)
    if kind is None:
        return None
    name = pyversion.global_name(prev) if kind == "global" else pyversion.deref_name(prev.arg)
    return kind, name, tuple(chain)


def uses_iterated_object(iterated, e: Event) -> str | None:
    """The iterated object's name when event e calls one of its methods: a file, a
    streaming archive or a cursor moves on as the loop pulls, so its methods see a
    different state once items are pulled ahead. `iterated`: `iterated_object(desc)`."""
    if iterated is None or e.op != "call" or e.target is None:
        return None
    kind, name, chain = iterated
    callee = e.target
    if callee.kind == kind and callee.name == name and len(callee.chain) > len(chain) and \
            callee.chain[:len(chain)] == chain:
        return render(name, chain)
    return None


def iterated_view(desc):
    """(name, view) of the variable the loop iterates: `for k in d` -> (d, "keys");
    `d.keys()`, `d.items()`, `d.values()` -> (d, that method's name); else None."""
    items = desc.items

    def named(ins):
        if isinstance(ins, Instr) and (ins.name in pyversion.LOCAL_READS or ins.name in ("LOAD_GLOBAL", "LOAD_DEREF")):
            return pyversion.global_name(ins) if ins.name == "LOAD_GLOBAL" else pyversion.deref_name(ins.arg)
        return None

    j = desc.loop.iter_insert - 1
    prev = items[j] if j >= 0 else None
    if named(prev):
        return named(prev), "keys"
    if not (isinstance(prev, Instr) and prev.name == "CALL" and prev.arg == 0):
        return None
    k = j - 1
    while k > 0 and isinstance(items[k], Instr) and items[k].name in pyversion.PRECALLS:
        k -= 1
    method = items[k]
    if k > 0 and isinstance(method, Instr) and method.name in pyversion.ATTR_LOADS and \
            pyversion.attr_name(method) in ("keys", "items", "values") and named(items[k - 1]):
        return named(items[k - 1]), pyversion.attr_name(method)
    return None


def mutates(e: Event) -> bool:
    if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr"):
        return True
    if e.op == "call" and e.target.chain and len(e.target.chain) == 1:
        return e.target.chain[-1] in effects.MUTATORS
    return False


def replaces_current_value(desc, view, e: Event) -> bool:
    """True for `d[k] = value` in `for k in d` (or `for k, v in d.items()`): a store at
    the key being visited, which the body never rebinds. On a dict that replaces a value
    and keeps the keys, their order and the size (a new key would make the plain loop
    fail at its next item, so any other key stays refused); the runner checks that the
    loop walks a plain dict (`LoopFacts.replaces_iterated_values`). `view`: `iterated_view`."""
    if e.op != "store-subscr" or e.target.chain or not e.args:
        return False
    key = e.args[-1]
    view = view[1] if view else None
    at = {"keys": (), "items": (0,)}.get(view)   # where the key is in the item
    if key.kind != "local" or key.chain or at is None or desc.target_paths.get(key.name) != at:
        return False
    return not any(key.name in desc.writes(s) for s in desc.raw[1:])


def iterable_roots(desc) -> list:
    """(kind, name, chain) of each outer variable read by the expression the loop iterates
    over (`f` in `enumerate(f)`, `proc.stdout` in `for line in proc.stdout`) and, for a
    local assigned once before (`reader = csv.reader(f)`), by the expression assigned."""
    roots = _expression_roots(desc, desc.loop.iter_insert)
    for kind, name, chain in list(roots):
        store = scope.single_store(desc.shared, desc.items, desc.code, name) if kind == "local" and not chain else None
        if store is not None:
            roots += [r for r in _expression_roots(desc, store) if r not in roots]
    return roots


def _expression_start(items, stop: int):
    """The index where the expression whose value is on top of the stack just before
    items[stop] starts, or None (a label or a try marker on the way: not understood)."""
    total = 0
    for k in range(stop - 1, -1, -1):
        item = items[k]
        if not isinstance(item, Instr):
            return None
        total += item.stack_effect(jump=False)
        if total >= 1:
            return k
    return None


def _expression_roots(desc, stop: int) -> list:
    """The outer variables read by the expression whose value is on top of the stack just
    before items[stop]."""
    items = desc.items
    start = _expression_start(items, stop)
    if start is None:
        return []
    roots = []
    for i in range(start, stop):
        ins = items[i]
        if not isinstance(ins, Instr):
            continue
        if ins.name in pyversion.LOCAL_READS and not desc.is_body_local(ins.arg):
            kind, name = "local", ins.arg
        elif ins.name == "LOAD_GLOBAL":
            kind, name = "global", pyversion.global_name(ins)
        elif ins.name in pyversion.DEREF_LOADS or pyversion.is_closure_load(ins):
            kind, name = "deref", pyversion.deref_name(ins.arg)
        else:
            continue
        read = desc.read_chain(i)
        chain = tuple(c for c in read if not c.startswith("["))
        if chain and _method_called(items, i + sum(2 if c.startswith("[") else 1 for c in read)) and \
                not isinstance(Resolver(desc).resolve_root(Value(kind, i, name)), types.ModuleType):
            # `src.lines()`: a generator (or iterator) method reads its own object as it
            # yields, so the body's calls on `src`, stores into it, and passing it on are
            # uses of the iterable (`for x in src.lines(): ...; src.ack(x)`). A module's
            # function (`re.finditer(p, s)`) is no method of it: `re.sub` is no use.
            chain = chain[:-1]
        roots.append((kind, name, chain))
    return roots


def _method_called(items, last: int) -> bool:
    """True when items[last], the end of an attribute chain, is a method load (`src.lines`
    of `src.lines()`)."""
    last = items[last] if last < len(items) else None
    return isinstance(last, Instr) and last.name in pyversion.ATTR_LOADS and pyversion.is_method_load(last)


def iterable_uses(desc) -> tuple:
    """(expression, changes) for each use the body makes of an object the iterable
    expression reads: a method call on it, passing it to a call, a store into it. Its
    resolutions are not guards (they decide no split)."""
    res = Resolver(desc)
    roots = iterable_roots(desc)
    found: dict = {}
    for events in desc.events:
        for e in events:
            for kind, name, chain in roots:
                use = _iterable_use(desc, res, e, kind, name, chain)
                if use is not None:
                    found[use[0]] = found.get(use[0], False) or use[1]
    return tuple(found.items())


def _iterable_use(desc, res, e: Event, kind: str, name: str, chain: tuple):
    def names(value):
        return value is not None and value.kind == kind and value.name == name and \
            value.chain[:len(chain)] == chain

    if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr") and names(e.target):
        return render(name, chain), True
    if e.op != "call":
        return None
    callee = e.target
    if names(callee) and len(callee.chain) > len(chain):
        return render(name, callee.chain), callee.chain[-1] in effects.MUTATORS
    if any(names(a) and a.chain == chain for a in e.args):   # the object itself, not an attribute of it
        obj = res.resolve(callee)
        if isinstance(obj, types.BuiltinFunctionType) and obj.__name__ in NOT_ADVANCING:
            return None
        if obj is print or obj is str or obj is repr or obj is type:
            return None
        return render(name, chain), call_may_change_arguments(desc, res, e)
    return None


def iterable_made_here(desc, res) -> bool:
    """True when the iterable expression ends in a call of a class (`enumerate(xs)`,
    `zip(a, b)`, `itertools.count()`): the new object it makes is held by the loop alone
    (`iter(it)` is no such call: it hands back `it`)."""
    items = desc.items
    stop = desc.loop.iter_insert
    start = _expression_start(items, stop)
    if start is None:
        return False
    try:
        events = simulate(items, start, stop, 0, {})
    except Exception:  # noqa: BLE001
        return False
    last = next((e for e in reversed(events) if e.op == "call"), None)
    if last is None or not any(isinstance(items[j], Instr) and items[j].name in
                               pyversion.CALLS for j in range(last.index, stop)) or \
            last.index != max(j for j in range(start, stop) if isinstance(items[j], Instr)):
        return False
    return isinstance(res.resolve(last.target) if last.target is not None else None, type)


def changed_globals(desc, kinds, mutated) -> tuple:
    """Globals the in-order part assigns, or changes the object of."""
    stored = {ins.arg if isinstance(ins.arg, str) else pyversion.global_name(ins)
              for s, kind in zip(desc.raw, kinds) if kind == "commit"
              for _, ins in desc.instrs(s) if ins.name in ("STORE_GLOBAL", "DELETE_GLOBAL")}
    changed = {name for kind, name, _, _ in mutated if kind == "global"}
    return tuple(sorted(stored | changed))
