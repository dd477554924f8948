"""Checks a parallel-capable loop runs when it starts and as items arrive.

The analysis proves a loop safe for the objects it could see when the function was first
compiled. These checks cover what it could only see later, cheaply and with cached verdicts:
that resolved names still refer to the same objects (guards), that functions and methods
reached through the loop's inputs or items do nothing order-dependent, and that pulling
items ahead of the iterations is invisible. Each returns a reason in words, or None.
"""
from __future__ import annotations

import array
import collections
import csv
import functools
import gc
import inspect
import io
import itertools
import logging
import os
import stat
import sys
import threading
import types

from xcs.analysis import Environment, effects, walker
from xcs.analysis.effects import follow_chain
from xcs.evidence.environment import environment
from xcs.sourcepaths import is_library_file

log = logging.getLogger("xcs")

_lock = threading.Lock()


class _SequenceLike:
    """A sequence by `__getitem__` only: `iter()` of it is CPython's generic sequence iterator."""

    def __getitem__(self, k):
        raise IndexError(k)


def precheck(lp):
    """`check(body, args) -> reason | None`, run at each loop start: what the analysis resolved
    still resolves to the same objects (`self.fetch`, a global `fetch`, a closure's
    `client.get`), and no function among the loop's inputs (`parse = parser.parse_args`)
    prints, logs or changes shared state. None when there is nothing to check."""
    index = {name: k for k, name in enumerate(lp.inputs)}
    cells = {name: k for k, name in enumerate(lp.closure)}
    checks = tuple((kind, index.get(name) if kind == "local" else cells.get(name), name, chain, obj)
                   for kind, name, chain, obj in lp.guards)
    # What the verdicts on those objects rested on, a few calls deep: the functions' code,
    # the globals, module attributes, class attributes and closure cells their code reads.
    deep = watch([obj for *_, obj in lp.guards])
    verdicts: dict = {}
    turned = tuple(call.turns.function for call in getattr(lp, "turned_calls", ()))

    def check(body, args, watched=()) -> str | None:
        same = _same_object(lp.inputs, args, zip(lp.watched, watched)) or \
            _changed_global_read(lp, body, args)
        if same:
            return same
        for kind, k, name, chain, expected in checks:
            try:
                if kind == "local":
                    root = args[k]
                elif kind == "deref":
                    root = body.__closure__[k].cell_contents
                elif name in body.__globals__:
                    root = body.__globals__[name]
                else:
                    root = body.__builtins__[name]
                same = follow_chain(root, chain) is expected
            except Exception:  # noqa: BLE001 - anything unexpected: not proven for these objects
                same = False
            if not same:
                return f"`{name}` is not the object the analysis saw (rebound, or another class)"
        changed = stale(deep)
        if changed:
            return changed
        for value in args:
            if callable(value) and not isinstance(value, type):
                found = call_verdict(value, None, verdicts)
                if found:
                    return found
        for k, name in enumerate(lp.closure):
            # A function held in a cell (3.11: `append = out.append` used in a comprehension,
            # whose code sees it as a free variable): checked like one among the inputs.
            try:
                value = body.__closure__[k].cell_contents
            except (ValueError, IndexError, TypeError):
                continue
            if any(value is f for f in turned):
                continue   # called through its variant, which takes the turn (the guards above hold)
            if callable(value) and not isinstance(value, (type, types.ModuleType)):
                found = call_verdict(value, None, verdicts)
                if found:
                    return found
        for name, chain in lp.input_calls:
            try:
                receiver = follow_chain(args[index[name]], chain[:-1])
                method = follow_chain(receiver, chain[-1:])
            except Exception:  # noqa: BLE001 - found only when the call runs
                continue
            found = call_verdict(method, receiver, verdicts)
            if found:
                return found
        return None

    return check


_MUTABLE = (dict, list, set, bytearray)


def _same_object(names, args, watched=()) -> str | None:
    """Words when two inputs the analysis took for two objects are one mutable object (`f(d, d)`),
    or an input is one of the `watched` (name, object) pairs — locals only the in-order part
    changes (`read(src, i)` in the work, `dst[k] = v` in order, called with `src is dst`):
    what it proved about reading one and changing the other does not hold."""
    seen: dict = {}
    for name, value in zip(names, args):
        if not _aliasable(value):
            continue
        other = seen.setdefault(id(value), name)
        if other != name:
            return f"`{other}` and `{name}` are the same object, which the analysis took for two"
    for name, value in watched:
        other = seen.get(id(value)) if _aliasable(value) else None
        if other is not None and other != name:
            return f"`{other}` and `{name}` are the same object, which the analysis took for two"
    return None


def _changed_global_read(lp, body, args) -> str | None:
    """Words when a global the in-order part changes (`CACHE[k] = v`) is the very object an
    input or closure variable of the map part names (`src`, called as `fill(CACHE)`): the
    analysis took them for two objects, so the work would read it before earlier iterations'
    in-order changes."""
    for gname in lp.changed_globals:
        value = body.__globals__.get(gname, _MISSING)
        if value is _MISSING or not _aliasable(value):
            continue
        for name, arg in zip(lp.inputs, args):
            if arg is value:
                return f"`{name}` and the global `{gname}` are the same object, which the analysis took for two"
        for k, name in enumerate(lp.closure):
            try:
                held = body.__closure__[k].cell_contents
            except (ValueError, IndexError, TypeError):
                continue
            if held is value:
                return f"`{name}` and the global `{gname}` are the same object, which the analysis took for two"
    return None


def _aliasable(value) -> bool:
    return (isinstance(value, _MUTABLE) or hasattr(value, "__dict__")) and not callable(value) and \
        not isinstance(value, type)


def call_verdict(obj, receiver, verdicts: dict) -> str | None:
    """Why calling `obj` (found on `receiver`, if any) on a worker could change the result —
    it prints, logs, synchronises, draws random numbers or changes shared state — or None.
    Looks through what `walker.resolve` does (`functools.partial`, bound methods,
    `__wrapped__` of `lru_cache` and other C wrappers, callable objects' `__call__`); the
    function found is judged by its `walker.Summary`. Verdicts are cached in `verdicts` per
    (callable, type of receiver), with the guards they rest on (`watch`)."""
    try:
        key = (obj, type(receiver))
        cached = verdicts.get(key)
    except TypeError:
        key = cached = None
    if cached is not None and stale(cached[1]) is None:
        return cached[0]
    verdict = _verdict(obj, receiver)
    if key is not None and (key in verdicts or len(verdicts) < MAX_ITEM_TYPES):
        verdicts[key] = (verdict, watch([obj], receiver))
    return verdict


def _verdict(obj, receiver) -> str | None:
    try:
        found = walker.resolve(obj, receiver)
        for layer in found.layers:   # the names the table knows, at every layer looked through
            if layer in effects.ORDERED_OBJECTS or effects.is_ordered_callable(layer, Environment()):
                return f"`{effects.qualified_name(layer)}` is called in order"
            if effects.qualified_name_or_empty(layer) in effects.ARGUMENT_CHANGING:
                return f"`{effects.qualified_name(layer)}` changes its arguments"
        if found.cut:   # not seen to the bottom: unknown, hence ordered
            return f"XCS could not see through the wrappers of `{effects.qualified_name_or_empty(obj)}`"
        func = found.function
        if func is not None:
            summary = summary_of(func, found.receiver)
            return None if summary.pure else f"`{func.__qualname__}`, called by the loop: {summary.first()}"
        # Unknown means ordered: a C function or method (`append = out.append`) XCS cannot read.
        return effects.opaque_call(found.opaque, _known_environment(), True)
    except Exception as error:  # noqa: BLE001 - cannot tell: keep the loop in order
        return f"XCS could not check a callable of the loop ({error!r})"


def summary_of(func, receiver=None) -> walker.Summary:
    """The walker's summary of `func` called with `receiver` bound to its first parameter."""
    arguments = {}
    if receiver is not None and func.__code__.co_argcount:
        arguments = {func.__code__.co_varnames[0]: receiver}
    return walker.summarize(func, effects.binding(environment, func, arguments), with_reads=False)


def _known_environment() -> Environment:
    """An environment that knows what the evidence registry trusts (blocking clients, `xcs.io`)."""
    env = environment(_known_environment)
    env.globals, env.closure = {}, {}
    return env


MAX_ITEM_TYPES = 256


def item_check(lp):
    """`check(item)`: why running the map part for `item` on a worker could change the
    result — a method it calls on the item (`model.predict`) prints, logs or changes shared
    state — or None. Decided once per item type and method found on it (per function, for
    items that are functions); a cached verdict is used only while what it rested on (the
    method's `__code__`, the names its code reads) is unchanged."""
    if not lp.item_calls:
        return None
    calls = lp.item_calls
    verdicts: dict = {}

    def check(item):
        try:
            parts = [_part(item, path) for path, _ in calls]
        except Exception:  # noqa: BLE001 - the body's own unpacking will fail the same way
            return None
        try:
            key = tuple(p if isinstance(p, types.FunctionType) else (type(p), _resolved(p, chain))
                        for p, (_, chain) in zip(parts, calls))
            cached = verdicts.get(key)
        except TypeError:
            key, cached = None, None
        if cached is not None and stale(cached[1]) is None:
            return cached[0]
        verdict = _item_verdict(parts, calls)
        if key is not None and (key in verdicts or len(verdicts) < MAX_ITEM_TYPES):
            verdicts[key] = (verdict, _item_watch(parts, calls))
        return verdict

    return check


def _resolved(part, chain):
    """What `part.chain` resolves to (the class's function for a method), or None."""
    try:
        return follow_chain(part, chain)
    except Exception:  # noqa: BLE001 - resolved only when the call runs
        return None


def _item_watch(parts, calls) -> tuple:
    entries = ()
    for part, (_, chain) in zip(parts, calls):
        obj = _resolved(part, chain)
        if obj is not None:
            entries += watch([obj], _resolved(part, chain[:-1]) if chain else None)
    return entries


def _part(item, path):
    for k in path:
        item = item[k]
    return item


def _item_verdict(parts, calls) -> str | None:
    verdicts: dict = {}
    for part, (_, chain) in zip(parts, calls):
        try:
            receiver = follow_chain(part, chain[:-1]) if chain else None
            obj = follow_chain(part, chain)
        except Exception:  # noqa: BLE001 - resolved only at run time by the call itself
            continue
        found = call_verdict(obj, receiver, verdicts)
        if found:
            return found
    return None


# ----------------------------------------------------------------- guards a few calls deep
#
# A verdict on a function rests on more than the function object: on its code, and on what
# the names its code reads resolve to — globals (a `mock.patch` target), attributes of
# modules and classes (`Model.predict = noisy_predict`), closure cells (a `nonlocal`
# rebinding). The walker reports those (`walker.dependencies`, resolving callables the one
# way the effect walk does); `watch` turns them into (kind, holder, name, object) entries
# when the verdict is reached, and `stale` re-reads them with dictionary lookups and identity
# comparisons (TorchDynamo's guards: identity of the object, of its `__code__`, of what a
# name resolves to).

_DICT, _MRO, _CODE, _CELL, _DICT_TYPE, _CELL_TYPE = range(6)
_MISSING = walker.ABSENT
MAX_WATCHED = walker.MAX_DEPENDENCIES
_KINDS = {walker.NAME: _DICT, walker.ATTRIBUTE: _MRO, walker.CODE: _CODE, walker.CELL: _CELL}


def watch(roots, receiver=None, depth: int = walker.DEPENDENCY_DEPTH) -> tuple:
    """The entries a verdict on the callables `roots` (called on `receiver`, if any) rests on:
    the walker's `dependencies`, each checked by identity — a global or cell holding an
    object that is not a function, class or module (a client, a model) by its type, whose
    attributes the walker reported in turn."""
    entries = []
    for found in walker.dependencies(roots, receiver, depth, MAX_WATCHED):
        kind, expected = _KINDS[found.kind], found.value
        if kind in (_DICT, _CELL) and expected is not _MISSING:
            kind, expected = _by_identity_or_type(kind, expected)
        entries.append((kind, found.holder, found.name, expected))
    return tuple(entries)


def stale(entries) -> str | None:
    """Words naming the first entry that no longer holds, or None."""
    for kind, holder, name, expected in entries:
        if kind == _DICT:
            now = holder.get(name, _MISSING)
        elif kind == _MRO:
            now = _mro_lookup(holder, name)
        elif kind == _CODE:
            now = holder.__code__
        elif kind == _DICT_TYPE:
            now = type(holder.get(name, _MISSING))
        elif kind == _CELL_TYPE:
            now = type(_cell(holder))
        else:
            now = _cell(holder)
        if now is not expected:
            return _stale_words(kind, holder, name)
    return None


def _by_identity_or_type(kind, value) -> tuple:
    """(kind, expected): functions, classes and modules are guarded by identity; other
    objects (a client, a model) by their type, whose attributes are guarded in turn."""
    if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type, types.ModuleType,
                          functools.partial)) or type(value).__module__ in ("builtins", "unittest.mock"):
        return kind, value
    return (_DICT_TYPE if kind == _DICT else _CELL_TYPE), type(value)


def _stale_words(kind, holder, name) -> str:
    if kind == _CODE:
        return f"the code of `{getattr(holder, '__qualname__', holder)}` was replaced after the analysis"
    if kind == _MRO:
        return f"`{getattr(holder, '__qualname__', holder)}.{name}` is not the attribute the analysis saw"
    if kind in (_CELL, _CELL_TYPE):
        return "a closure variable of a function the loop calls was rebound after the analysis"
    owner = holder.get("__name__", "?") if isinstance(holder, dict) else "?"
    return f"`{owner}.{name}` is not the object the analysis saw (rebound or patched)"


_mro_lookup = walker.class_attribute
_names = walker.code_names


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _MISSING


# ----------------------------------------------------------------- pulling items ahead
#
# The runner pulls up to a window of items ahead of the iterations running them. That is
# invisible only when pulling is: walking a container (a list, a range, a dict view, or
# `enumerate`/`zip`/`map`/`islice`... over them), or running a generator or `__next__` the
# effect scan proves does nothing others see, whose items are not lazy views of its own
# source (the `chunks` recipe, `groupby` groups), and that reads nothing the loop body uses
# (`for i, line in enumerate(f): f.tell()`). Anything else — a pipe or socket, whose next
# line may wait for what the body writes; an iterator XCS does not know — is pulled one
# item at a time, when the loop needs it.

_CONTAINERS = frozenset({list, tuple, range, dict, set, frozenset, str, bytes, bytearray, memoryview,
                         collections.deque, collections.OrderedDict, collections.defaultdict, array.array,
                         type({}.keys()), type({}.values()), type({}.items())})
_INERT = frozenset({type(iter(x)) for x in ([], (), range(0), range(1 << 70), "", "\u00e9", b"", bytearray(),
                                            {}, {}.values(), {}.items(), set(), collections.deque(),
                                            collections.OrderedDict(), collections.OrderedDict().values(),
                                            collections.OrderedDict().items(), memoryview(b""), array.array("b"))}
                   | {type(reversed(x)) for x in ([], {}, {}.values(), {}.items(), collections.deque(),
                                                  collections.OrderedDict(), range(0))}
                   | {itertools.count, itertools.repeat, type(os.scandir(os.curdir))})
_WRAPPERS = frozenset({enumerate, zip, map, filter, reversed, itertools.islice, itertools.chain,
                       itertools.starmap, itertools.takewhile, itertools.dropwhile, itertools.compress,
                       itertools.zip_longest, itertools.accumulate, itertools.filterfalse, itertools.cycle,
                       itertools.product, itertools.permutations, itertools.combinations,
                       itertools.combinations_with_replacement, type(itertools.tee(())[0]),
                       type(iter(lambda: 0, 1)), type(csv.reader(())),
                       *(getattr(itertools, name) for name in ("pairwise", "batched") if hasattr(itertools, name))})
_GROUPER = type(next(itertools.groupby("a"))[1])
_TEE_DATA = next(type(r) for r in gc.get_referents(itertools.tee(())[0]) if type(r).__name__ == "_tee_dataobject")
_WRAPPERS = _WRAPPERS | {_TEE_DATA}
MAX_ELEMENTS = 4096
_SEQITER = type(iter(_SequenceLike()))
_SCALARS = (int, float, complex, str, bytes, bool, type(None))
_PIPE_WORDS = ("reading ahead from a pipe, socket or terminal waits for data the loop body may be the one to "
               "cause (a request/response protocol)")
MAX_WALK = 64
_pull_verdicts: dict = {}


def _pull_check(lp, uses=None):
    """`check(iterator, body)`, run at each loop start with the iterator the loop pulls from
    and the loop's body function: why its items must not be pulled ahead (a reason in
    words); None when pulling ahead is invisible; or `item_check(item) -> reason | None` when
    it is so far, but the items must be looked at as they arrive (a generator or `__next__`
    produces them, see `_Produced`)."""
    uses = lp.iterable_uses if uses is None else uses
    changed = lp.changed_globals

    def check(it, body=None):
        space = getattr(body, "__globals__", None)
        targets = _Changed(space, changed) if changed and isinstance(space, dict) else None
        pull = _Pull(targets)
        pull.walk(it, depth=6)
        reason = _pull_reason(pull, uses)
        if reason is None and pull.lazy:
            return _Produced(it, uses, targets)
        return reason

    return check


class _Changed:
    """The globals the loop's in-order part assigns or changes: by name in the loop's own
    module, by object (a container) anywhere."""

    def __init__(self, space: dict, names):
        self.space, self.names = space, frozenset(names)
        self.objects = {id(space[n]) for n in names if isinstance(space.get(n), _SHARED_KINDS)}

    def read_by(self, func_globals: dict, code) -> str | None:
        """The first of them `code` (running with `func_globals`) reads, or None."""
        for name in _names(code):
            if func_globals is self.space and name in self.names:
                return name
            value = func_globals.get(name, _MISSING)
            if value is not _MISSING and id(value) in self.objects:
                return name
        return None


def _pull_reason(pull, uses) -> str | None:
    if pull.reason:
        return pull.reason
    for expression, changes in uses:
        if changes or not pull.containers_only:
            return (f"the loop body uses `{expression}`, which the iterable reads from: pulling items "
                    f"ahead would change what it sees — hint: if the items do not depend on what the body "
                    f"does there, make them first (`for x in list(...):`)")
    return None


class _Produced:
    """The per-item check for items a generator or a `__next__` produces.

    A generator that has not started shows only its arguments; what it pulls from (a pipe it
    opens, `proc.stdout` it loops over) appears in its frame with the first item. So the
    walk is repeated after the first item arrives, before anything is pulled ahead of it.
    Every item is then looked at for being a lazy view of the iterable's own source."""

    RECHECKS = 1

    def __init__(self, it, uses, changed=None):
        self.it, self.uses, self.changed, self.seen = it, uses, changed, 0

    def __call__(self, item) -> str | None:
        if self.seen < self.RECHECKS:
            self.seen += 1
            pull = _Pull(self.changed)
            pull.walk(self.it, depth=6)
            reason = _pull_reason(pull, self.uses)
            if reason:
                return reason
        return _view_reason(self.it, item)


def iterable_check(lp):
    """`check(iterator, body)` for loop `lp`: the pull check, and for a loop that replaces values
    of the dict it iterates (`for k in d: d[k] = fetch(k)`), that the iterator walks the keys
    (or items) of a plain dict — a store at an existing key keeps a dict's size, so the plain loop could
    not fail on it; a dict subclass's `__setitem__`, or a list's `xs[k] = ...` (a later item),
    could change what later items are."""
    if not lp.replaces_iterated_values:
        return _pull_check(lp)
    # The analysis allowed one change of the iterated dict: the store at the current key.
    pulled = _pull_check(lp, tuple(use for use in lp.iterable_uses if not use[1]))

    def check(iterator, body=None):
        if type(iterator) not in _DICT_ITERATORS or type(_iterated_dict(iterator)) is not dict:
            return "the loop stores into the object it iterates, which is not a plain dict"
        return pulled(iterator, body)

    return check


_DICT_ITERATORS = (type(iter({})), type(iter({}.keys())), type(iter({}.items())))


def _iterated_dict(iterator):
    """The dict a dict key or item iterator walks (CPython's iterator holds it, and for items
    a reused result tuple), or None."""
    import gc

    found = [o for o in gc.get_referents(iterator) if isinstance(o, dict)]
    return found[0] if len(found) == 1 else None


class _Pull:
    """What pulling from an iterator does, found by walking what it wraps (`gc.get_referents`
    reads the references a C object or a generator's frame holds without running code)."""

    def __init__(self, changed: "_Changed | None" = None):
        self.changed = changed
        self.reason: str | None = None
        self.containers_only = True   # every source reached is a container (or its iterator)
        self.lazy = False             # a generator or `__next__` produces the items: look at them
        self.seen: set = set()

    def walk(self, obj, depth) -> None:
        if self.reason or id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        kind = type(obj)
        if kind in _INERT or kind in _CONTAINERS:
            return
        self.containers_only = False
        if depth <= 0 or len(self.seen) > MAX_WALK:
            self.reason = "the iterable wraps too many layers for XCS to inspect"
        elif kind is itertools.groupby:
            self.reason = "the groups of itertools.groupby are valid only until its next item is pulled"
        elif kind is _GROUPER:
            for ref in _referents(obj):      # one group of a groupby: pulled from its source
                if type(ref) is itertools.groupby:
                    self.seen.add(id(ref))
                    for inner in _referents(ref):
                        self.referent(inner, depth - 1)
        elif kind is itertools.chain:
            for ref in _referents(obj):       # its source iterator yields the iterables it chains
                if type(ref) in _INERT:
                    self.elements(ref, depth - 1)
                else:
                    self.referent(ref, depth - 1)
        elif kind is _SEQITER or kind is reversed:
            for ref in _referents(obj):       # a sequence read by index: its `__getitem__` runs
                if type(ref) not in _CONTAINERS and not isinstance(ref, _SCALARS):
                    self.indexed(ref)
        elif kind in _WRAPPERS:
            for ref in _referents(obj):
                self.referent(ref, depth - 1)
        elif isinstance(obj, (types.GeneratorType, types.AsyncGeneratorType)):
            self.generator(obj, depth)
        elif isinstance(obj, io.IOBase):
            self.stream(obj)
        elif isinstance(_mro_lookup(kind, "__next__"), types.FunctionType):
            self.iterator(obj, depth)
        else:
            self.reason = (f"XCS does not know what pulling an item from a `{kind.__module__}.{kind.__qualname__}` "
                           f"does")

    def referent(self, ref, depth) -> None:
        """One object a wrapper or generator holds: its sources, and the functions it calls."""
        if self.reason or isinstance(ref, (type, types.CodeType, types.ModuleType) + _SCALARS):
            return
        if isinstance(ref, tuple):
            for part in ref:
                self.referent(part, depth)
            return
        if _is_iterator(ref) or isinstance(ref, io.IOBase) or type(ref) in _WRAPPERS:
            self.walk(ref, depth)
            return
        if callable(ref):
            found = call_verdict(ref, None, _pull_verdicts)
            if found:
                self.reason = f"pulling an item calls {found}"
                return
            owner = getattr(ref, "__self__", None)   # `iter(f.readline, "")`: reads f
            if owner is not None and (_is_iterator(owner) or isinstance(owner, io.IOBase)):
                self.walk(owner, depth)

    def elements(self, it, depth) -> None:
        """The items a container's iterator will hand out, when they are iterated in turn."""
        for container in _referents(it):
            if type(container) not in (list, tuple, collections.deque):
                continue
            if len(container) > MAX_ELEMENTS:
                self.reason = "the iterable chains more iterables than XCS inspects"
                return
            for element in list(container):
                if type(element) not in _CONTAINERS and not isinstance(element, _SCALARS):
                    self.referent(element, depth)

    def indexed(self, seq) -> None:
        getitem = _mro_lookup(type(seq), "__getitem__")
        if isinstance(getitem, types.FunctionType):
            self.lazy = True
            found = call_verdict(getitem, seq, _pull_verdicts)
            if found:
                self.reason = f"pulling an item calls {found}"

    def generator(self, gen, depth) -> None:
        """A generator, or an async generator (an `async for`'s source): its code is scanned
        like a callee's (its output and shared changes would run ahead of the loop's)."""
        code, frame = _gen_code(gen), _gen_frame(gen)
        if frame is None:
            return   # finished: pulling runs nothing
        self.lazy = True
        refs = _referents(gen)
        function = next((r for r in refs if isinstance(r, types.FunctionType) and r.__code__ is code), None)
        found = _generator_hazard(gen, function) or self.reads_changed(frame.f_globals, code)
        if found:
            self.reason = found
            return
        # An async generator holds the event loop's finalizer once it has started (it runs at
        # `aclose()`/collection, never at a pull).
        finalizer = sys.get_asyncgen_hooks().finalizer if isinstance(gen, types.AsyncGeneratorType) else None
        for ref in refs:
            if ref is not function and not (finalizer is not None and ref == finalizer):
                self.referent(ref, depth - 1)

    def reads_changed(self, func_globals, code) -> str | None:
        name = self.changed.read_by(func_globals, code) if self.changed is not None else None
        if name is None:
            return None
        return (f"pulling an item runs `{code.co_qualname}`, which reads `{name}`: the loop changes it, so it "
                f"must not be read ahead")

    def stream(self, f) -> None:
        """A file object: lines of a regular file (or of memory) may be read ahead; a pipe's,
        a socket's or a terminal's next line may wait for the loop body."""
        if isinstance(_mro_lookup(type(f), "fileno"), types.FunctionType):
            self.reason = f"XCS does not know what pulling a line from a `{type(f).__qualname__}` does"
            return
        try:
            fd = f.fileno()
        except (OSError, ValueError):
            return   # StringIO, BytesIO: memory
        try:
            mode = os.fstat(fd).st_mode
        except OSError as error:
            self.reason = f"XCS could not inspect the file the loop reads ({error!r})"
            return
        if not stat.S_ISREG(mode):
            self.reason = _PIPE_WORDS

    def iterator(self, it, depth) -> None:
        """A class whose `__next__` is Python: scanned like a callee, with the iterator's
        own state private to it; what it reads of shared objects keeps it in order."""
        self.lazy = True
        method = _mro_lookup(type(it), "__next__")
        found = _next_hazard(it) or self.reads_changed(method.__globals__, method.__code__)
        if found:
            self.reason = found
            return
        for value in _instance_values(it):
            if _is_iterator(value) or isinstance(value, io.IOBase):
                self.walk(value, depth - 1)


def _referents(obj) -> list:
    own = type(obj)
    return [r for r in gc.get_referents(obj) if r is not own]


def _is_iterator(obj) -> bool:
    return _mro_lookup(type(obj), "__next__") is not _MISSING


def _own_dict(obj) -> dict | None:
    """`obj.__dict__` read without running the object's own code (`__getattr__`), or None."""
    try:
        space = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return space if isinstance(space, dict) else None


def _instance_values(obj) -> list:
    space = _own_dict(obj)
    return list(space.values()) if space is not None else []


_SHARED_KINDS = (list, dict, set, bytearray, collections.deque)


def _next_hazard(it) -> str | None:
    kind = type(it)
    method = _mro_lookup(kind, "__next__")
    key = (kind, method)
    with _lock:
        cached = _next_verdicts.get(key)
    if cached is None or stale(cached[1]) is not None:
        cached = (_scan_next(method, it), watch([method], it))
        with _lock:
            if key in _next_verdicts or len(_next_verdicts) < MAX_ITEM_TYPES:
                _next_verdicts[key] = cached
    if cached[0]:
        return cached[0]
    # What it reads of the objects its instance holds: an object someone else also holds
    # (a counter, a list the loop body changes) may change between pulls.
    names = _names(method.__code__)
    space = _own_dict(it)
    if space is None:
        return None
    for name in names:
        if name in space and isinstance(space[name], _SHARED_KINDS) and _refs(space, name) > _OWN_REFS:
            return (f"`{kind.__qualname__}.__next__` reads `self.{name}`, an object others hold: pulling "
                    f"ahead would read it before the loop body changes it")
    return None


def _refs(space: dict, name: str) -> int:
    return sys.getrefcount(space[name])


_next_verdicts: dict = {}
_OWN_REFS = _refs({"x": []}, "x")   # held by the instance's dict alone (measured: versions differ)


def _scan_next(method, it) -> str | None:
    where = f"`{type(it).__qualname__}.__next__`"
    if is_library_file(method.__code__.co_filename):
        found = walker.summarize(method, effects.binding(environment, method, {}), shared_params=frozenset(),
                                 with_reads=False).first()
        return f"pulling an item runs {where}, which {found}" if found else None
    self_name = method.__code__.co_varnames[:1]
    env_for = effects.binding(environment, method, dict(zip(self_name, (it,))))
    found = walker.summarize(method, env_for, shared_params=frozenset(), with_reads=False).first()
    if found:
        return f"pulling an item runs {where}, which {found}"
    shared = _shared_globals(method)
    if shared:
        return f"{where} reads `{shared}`, which the loop may change between pulls"
    return None


def _shared_globals(func) -> str | None:
    """A global the function reads that holds a mutable object (a counter, a list)."""
    space = func.__globals__
    for name in _names(func.__code__):
        value = space.get(name, _MISSING)
        if isinstance(value, _SHARED_KINDS):
            return name
    return None


def _gen_code(gen):
    return gen.ag_code if isinstance(gen, types.AsyncGeneratorType) else gen.gi_code


def _gen_frame(gen):
    return gen.ag_frame if isinstance(gen, types.AsyncGeneratorType) else gen.gi_frame


def _generator_hazard(gen, function) -> str | None:
    code = _gen_code(gen)
    with _lock:
        cached = _generator_verdicts.get(code)
    if cached is not None and stale(cached[1]) is None:
        return cached[0]
    target = function if function is not None else _GeneratorCode(code, _gen_frame(gen))
    found = walker.summarize(target, environment, with_reads=False).first()
    verdict = f"pulling an item runs `{code.co_qualname}`, which {found}" if found else None
    entries = watch([function]) if function is not None else ()
    with _lock:
        if len(_generator_verdicts) >= MAX_GENERATOR_CODES:
            _generator_verdicts.clear()   # bounded: the entries hold the functions, so no weak keys
        _generator_verdicts[code] = (verdict, entries)
    return verdict


_generator_verdicts: dict = {}
MAX_GENERATOR_CODES = 1024


class _GeneratorCode:
    """What the analysis needs of a function, for a running generator's code."""

    def __init__(self, code, frame):
        self.__code__ = code
        self.__globals__ = frame.f_globals if frame is not None else {}
        self.__closure__ = None
        self.__qualname__ = code.co_qualname
        self.__module__ = self.__globals__.get("__name__")


def _view_reason(source, item) -> str | None:
    """Why `item` (or a part of a tuple item) is tied to what `source` does at its next pull,
    or None. An iterator or a resource (a file, a connection) the generator still holds, or
    whose method it holds (the pending `__exit__` of `with open(p) as f: yield f` closes the
    file at the next pull), may be advanced or closed then; a lazy view sharing what the
    iterable pulls from (`chain([first], islice(it, n))`, a `groupby` group) moves on with it."""
    parts = item if type(item) is tuple else (item,)
    views = [x for x in parts if _is_iterator(x)]
    resources = views + [x for x in parts if not _is_iterator(x) and (
        _mro_lookup(type(x), "__exit__") is not _MISSING or _mro_lookup(type(x), "close") is not _MISSING)]
    if not resources:
        return None
    sources, held = _under(source, {id(x) for x in resources})
    if any(id(x) in held for x in resources):
        return ("the iterable still holds its item, or a method of it, and may advance or close it at the "
                "next pull: from this item on, each is handed over before the next is pulled")
    for candidate in views:
        if _under(candidate, {id(candidate)})[0] & sources:
            return ("the iterable's items are lazy views of its own source (the next pull would change "
                    "them): from this item on, each is handed over before the next is pulled")
    return None


def _under(obj, items: set, limit: int = MAX_WALK) -> tuple:
    """(ids of the iterators reachable from `obj` through iterators, generators, tuples and
    tee/groupby state, not passing through `items`; ids among `items` that this reaches
    directly or as the owner of a bound method)."""
    found, held, stack, seen = set(), set(), [obj], set()
    while stack and len(seen) < limit:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current is not obj and _is_iterator(current):
            found.add(id(current))
        for ref in _referents(current):
            owner = getattr(ref, "__self__", None) if isinstance(ref, _BOUND_METHODS) else None
            if id(ref) in items or (owner is not None and id(owner) in items):
                held.add(id(ref) if id(ref) in items else id(owner))
            elif isinstance(ref, tuple) or _is_iterator(ref) or type(ref) in (itertools.groupby, _TEE_DATA):
                stack.append(ref)
    return found, held


_BOUND_METHODS = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)
