"""One walker over the callables a loop reaches: resolve a callable once, follow it with one
depth budget and one cycle set, and say what it does as data (`Summary`).

Before this module, three walkers followed callables, each its own way:

* `effects.ordered_effects_in(func, env_for, depth, seen, shared_params, outputs, changes)`
  (analysis layer) computed the first effect whose order is visible in a Python function
  and what it calls: stores into globals, cells and shared parameters, mutating method calls
  on shared objects, ordered output, unknown callees. It resolved names through an
  `Environment` (globals, closure cells, the first call's arguments) and, at each call event,
  looked through callable objects (`type(obj).__call__` read statically), classes (their
  Python `__new__`/`__init__` by MRO, `effects.class_construction`), `__wrapped__` of Python
  functions (`functools.wraps`), bound methods (the receiver bound to the first parameter,
  `receiver.call_receiver`); a `functools.partial` and any C callable were judged by
  `effects.opaque_call` (the curated `knowledge` table: pure, thread-bound, argument
  writers; anything else unknown). Properties and `__getattr__` read on known objects were
  scanned as callees (`attribute_effects`). Depth: `SCAN_DEPTH` = 6 levels; cycles: a
  `seen` set of (code, shared parameters, outputs?) keys, never removed. At the bottom, a
  user function cut off by the depth or too large to read, an unresolvable callee or an
  unknown C function was an effect (unknown => ordered); library code cut off was not.
  `shared_reads(func, env_for, depth, seen)` walked the same call graph again for the read
  set (globals, cells, parameters' attributes, the file system), following only plain
  Python functions, `seen` keyed by code.

* `static._Scanner.follow(obj, depth, via)` (evidence layer) looked for known-blocking,
  thread-affine and ordered library calls the loop body *refers to*: every global, cell and
  known-argument load and its attribute chain (read with `inspect.getattr_static`), classified
  by the evidence registry; what the registry did not know it followed. Resolution: a
  `functools.partial` -> its function; a bound Python method -> its function with `self`
  known; a class -> its own `__init__` (not inherited); another callable -> the Python
  `__call__` of its type; nested code constants were scanned with the enclosing function's
  names. Depth: 3 levels below the body; cycles: a `seen` set of code objects, also a cap of
  200 code objects. At the bottom (C code, depth, cap): nothing found, which is the safe
  direction for evidence of blocking (no evidence => not parallel on that ground).

* `guards._verdict(obj, receiver, depth)` (evidence layer; `call_verdict` caches it per
  (callable, type of receiver) with guards) judged a callable found at loop start (an input,
  a closure cell, an item's method, what an iterator calls). Resolution: ordered/argument
  changing names first, then `functools.partial` -> func, bound method -> function with the
  receiver, a non-function's `__wrapped__`, a callable object's Python `__call__`; a Python
  function went to `ordered_effects_in` with the receiver bound; anything else to
  `opaque_call`. Depth: 3 unwrapping steps, and when they ran out the verdict was None
  (pure) — the one place where "cut off" read as "pure".

Here: `resolve(obj, receiver)` is the one resolution (partial, bound method, staticmethod,
classmethod, property getter, `__wrapped__` of non-functions, callable objects' `__call__`;
classes stop at the class, whose construction `constructor(cls)` resolves); running out of
layers is reported (`Resolved.cut`), and the clients treat it as unknown. `Walk` is one depth
budget, one cycle set and the path of callees being followed. `summarize(func, env_for)`
returns a frozen `Summary`: the facts found in order (`Fact`: kind, words, path of callees,
and for a store the `Write` it makes), the read set (`Read`), and, given the evidence
registry's classifier, the blocking/thread-affine/ordered library calls referred to.
`effects.ordered_effects_in` is the first fact of the same walk, computed lazily so it
stops where it always stopped; `static` and `guards` are clients. `dependencies(roots,
receiver)` reports what resolving a callable rested on (the globals, class attributes, closure
cells and `__code__` objects read on the way, as `Dependency` records): the guards that
re-check a verdict at each loop start are built from it, where `guards.watch` once walked
callables a fourth way.

The analysis layer does not import the evidence registry: `references` takes the
classifier as arguments.
"""
from __future__ import annotations

import builtins
import dis
import functools
import inspect
import types
from dataclasses import dataclass, field, replace

from xcs import pyversion
from xcs.analysis import budget, effects, knowledge
from xcs.analysis.names import qualified_name, type_name
from xcs.analysis.receiver import NO_RECEIVER, call_receiver, for_binding
from xcs.sourcepaths import is_library_file

SCAN_DEPTH = effects.SCAN_DEPTH

# Fact kinds.
ORDERED = "ordered"    # its order is visible (output, synchronisation, a random stream, ...)
WRITE = "write"        # a store into state other iterations see (`Fact.write` says which)
UNKNOWN = "unknown"    # not seen to the bottom: depth, size, unreadable, unresolvable, C code
THREAD = "thread"      # answers for the thread that runs it (`threading.local`, bare `raise`)

Read = effects.Read


@dataclass(frozen=True)
class Write:
    """State a function changes. root: "global" (a module global of the function's own
    module), "cell" (a closure variable), "param" (an object the caller handed it, by
    parameter name), "module" (another module's state: `os.environ`, `sys.stdout`),
    "object" (an object reached another way). `part` is what changes in it — an attribute
    (`.x`), an item (`[]`), a method that changes it (`append()`) — or None when the name
    itself is rebound (`global n; n = 1`, `nonlocal`)."""

    root: str
    name: str
    part: str | None = None


@dataclass(frozen=True)
class Fact:
    """One thing a function (or a callee of it) does that other iterations could see.

    `words` is the sentence `ordered_effects_in` returns for it; `path` the qualified names
    of the functions from the one summarized down to the one it was found in."""

    kind: str
    words: str
    path: tuple = ()
    write: Write | None = None
    # The index (in the normalized items of the function at the head of `path`) of the
    # instruction that makes it, or of the call that reaches it; None when not tied to one
    # (a property read, the function a decorator wraps).
    at: int | None = None
    # An `UNKNOWN` C call handed only the function's own objects (none other iterations
    # see): what it may change is not the user's shared state.
    own_objects: bool = False

    def via(self, name: str, at: int | None = None) -> "Fact":
        return replace(self, path=(name,) + self.path, at=at)


@dataclass(frozen=True)
class Reference:
    """A library call the code refers to, classified by the evidence registry: its kind,
    the name it answers to, the functions followed to reach it (empty for the root) and the
    line it is on."""

    kind: str
    name: str
    path: tuple
    line: int | None


@dataclass(frozen=True)
class Summary:
    """What calling a function does, as far as the walker can tell.

    `facts` in the order found; `reads` the shared state it reads (`effects.Read`);
    `references` the classified library calls it refers to (when a classifier was given).
    `pure` is True only when nothing was found and nothing was cut off: a scan that did not
    reach the bottom has an `UNKNOWN` fact."""

    name: str
    facts: tuple = ()
    reads: frozenset = frozenset()
    references: tuple = ()

    @property
    def writes(self) -> frozenset:
        return frozenset(f.write for f in self.facts if f.write is not None)

    @property
    def ordered(self) -> tuple:
        return tuple(f for f in self.facts if f.kind == ORDERED)

    @property
    def unknown(self) -> tuple:
        return tuple(f for f in self.facts if f.kind == UNKNOWN)

    @property
    def pure(self) -> bool:
        return not self.facts

    def first(self) -> str | None:
        """The words of the first fact (what `ordered_effects_in` returns), or None."""
        return self.facts[0].words if self.facts else None

    def blocking(self, kind: str = "blocking") -> tuple:
        return tuple(r for r in self.references if r.kind == kind)


# ----------------------------------------------------------------- resolving a callable

MAX_LAYERS = 8   # partial(partial(method)): more wrappers than this are not looked through


@dataclass(frozen=True)
class Resolved:
    """What calling an object runs first. `function`: the Python function, or None; then
    `receiver` is bound to its first parameter (None if nothing is). `opaque`: the object at
    the bottom when it is not Python code (a C function, a class, a C callable object).
    `layers`: every object looked through, outermost first. `cut`: the layers ran out
    (unknown)."""

    function: types.FunctionType | None
    receiver: object
    opaque: object
    layers: tuple
    cut: bool = False


def resolve(obj, receiver=None, layers: int = MAX_LAYERS) -> Resolved:
    """Look through what a call of `obj` passes on to: `functools.partial` (its function),
    bound methods (their function, with `__self__` as receiver), `staticmethod`/`classmethod`
    objects, a `property` (its getter), a non-function's `__wrapped__` (`lru_cache`, other
    C wrappers: read from its own `__dict__`, no user code runs), a callable object's Python
    `__call__` (with the object as receiver). Stops at a Python function, a class (see
    `constructor`) or anything else (C code). Reads nothing that runs user code."""
    seen = []
    while len(seen) < layers:
        seen.append(obj)
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        elif isinstance(obj, property):
            obj = obj.fget
        elif isinstance(obj, functools.partial):
            obj, receiver = obj.func, None
        elif isinstance(obj, types.MethodType):
            obj, receiver = obj.__func__, obj.__self__
        elif isinstance(obj, types.FunctionType):
            return Resolved(obj, receiver, None, tuple(seen))
        elif isinstance(obj, (type, types.ModuleType)) or obj is None:
            return Resolved(None, receiver, obj, tuple(seen))
        else:
            wrapped = (_own_dict(obj) or {}).get("__wrapped__")
            call = inspect.getattr_static(type(obj), "__call__", None) if callable(obj) else None
            if wrapped is not None:
                obj = wrapped
            elif isinstance(call, types.FunctionType):
                obj, receiver = call, obj
            else:
                return Resolved(None, receiver, obj, tuple(seen))
    return Resolved(None, receiver, obj, tuple(seen), cut=True)


def constructor(cls):
    """The Python `__init__` building an instance of `cls` runs (by MRO), or None."""
    for klass in getattr(cls, "__mro__", (cls,)):
        init = vars(klass).get("__init__")
        if init is not None:
            return init if isinstance(init, types.FunctionType) else None
    return None


def _own_dict(obj) -> dict | None:
    try:
        space = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return space if isinstance(space, dict) else None


# ----------------------------------------------------------------- what resolving rests on
#
# A verdict on a callable rests on more than the object: on the code of each function the
# walk reads, and on what the names that code reads resolved to — globals (a `mock.patch`
# target), attributes of modules and classes (`Model.predict = noisy_predict`), closure cells
# (a `nonlocal` rebinding), the Python `__call__`/`__init__` of a class. `dependencies`
# reports them as `Dependency` records, resolving callables with `resolve` (one resolution
# path for the effect walk, the references and the guards) and one `Walk` for the cycle set;
# the evidence layer's guards (`guards.watch`) turn them into checks re-run at each loop
# start. Plain data (numbers, strings, containers) is not followed or reported: rebinding it
# does not change what a call does.

# Dependency kinds: where a value was found.
NAME = "name"              # `holder[name]`: a function's globals, the builtins, a module's namespace
ATTRIBUTE = "attribute"    # `name` looked up by MRO on the class `holder`
CODE = "code"              # `holder.__code__` of a function
CELL = "cell"              # the contents of the closure cell `holder`
ABSENT = object()          # the value of a name not there (a builtin a module global could come to shadow)

DEPENDENCY_DEPTH = 4       # levels of functions whose names are followed
MAX_DEPENDENCIES = 512
_DATA = (int, float, complex, str, bytes, bytearray, bool, type(None), list, dict, set, frozenset, tuple)


@dataclass(frozen=True, eq=False)
class Dependency:
    """One value a call was resolved through: `holder` and `name` say where it was read (see
    the kinds above), `value` what it was (`ABSENT` when nothing was there)."""

    kind: str
    holder: object
    name: str | None
    value: object


def dependencies(roots, receiver=None, depth: int = DEPENDENCY_DEPTH, limit: int = MAX_DEPENDENCIES) -> tuple:
    """The `Dependency`s of calling each of `roots` (on `receiver`, if any): what `resolve`
    looked through (a callable object's class `__call__`), each function's `__code__`, and
    what the global, attribute and closure names its code reads resolve to, following
    functions `depth` levels down (library code: its `__code__` only, as the effect walk holds
    it to what the levels above saw). At most `limit` records. Reads nothing that runs user
    code; an object that cannot be read is skipped (what was reported before it stands)."""
    walk = _Dependencies(limit)
    for root in roots:
        try:
            walk.callable(root, depth, receiver)
        except Exception:  # noqa: BLE001 - an exotic object: its callers guard it by identity
            continue
    return tuple(walk.found)


def class_attribute(cls, name):
    """`name` as the class `cls` finds it by MRO (its raw `__dict__` value), or `ABSENT`."""
    try:
        for klass in cls.__mro__:
            space = klass.__dict__
            if name in space:
                return space[name]
    except Exception:  # noqa: BLE001 - an exotic metaclass
        pass
    return ABSENT


def code_names(code) -> frozenset:
    """The global and attribute names `code` and the code nested in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_names(const)
    return frozenset(names)


_NOT_OBJECTS = (staticmethod, classmethod, property, functools.partial, types.MethodType, types.FunctionType, type,
                types.ModuleType)


class _Dependencies:
    def __init__(self, limit: int):
        self.found: list = []
        self.limit = limit
        self.walk = Walk()
        self.keep: list = []   # keeps visited objects alive, so their ids stay theirs while walking

    def add(self, kind, holder, name, value) -> None:
        if len(self.found) < self.limit:
            self.found.append(Dependency(kind, holder, name, value))

    def first_visit(self, key, obj) -> bool:
        if len(self.found) >= self.limit or not self.walk.visit((key, id(obj))):
            return False
        self.keep.append(obj)
        return True

    def callable(self, obj, depth, receiver=None) -> None:
        """What calling `obj` runs, resolved by `resolve`."""
        if depth <= 0 or not self.first_visit("object", obj):
            return
        found = resolve(obj, receiver)
        for layer in found.layers:
            self.through(layer, depth)
        if found.function is not None:
            self.function(found.function, depth, found.receiver)
        elif isinstance(found.opaque, type):
            self.construction(found.opaque, depth)

    def through(self, layer, depth) -> None:
        """A callable object `resolve` looked through: its class's Python `__call__` is what
        the call finds (and runs, also when `resolve` went on to what it wraps)."""
        if isinstance(layer, _NOT_OBJECTS) or layer is None or not callable(layer):
            return
        call = class_attribute(type(layer), "__call__")
        if isinstance(call, types.FunctionType):
            self.add(ATTRIBUTE, type(layer), "__call__", call)
            if "__wrapped__" in (_own_dict(layer) or {}):
                self.callable(call, depth, layer)

    def construction(self, cls, depth) -> None:
        """Calling a class: its Python `__init__`, `__new__` and (for its instances) `__call__`."""
        for name in ("__init__", "__new__", "__call__"):
            found = class_attribute(cls, name)
            target = found.__func__ if isinstance(found, (staticmethod, classmethod)) else found
            if isinstance(target, types.FunctionType):
                self.add(ATTRIBUTE, cls, name, found)
                self.callable(target, depth - 1)

    def function(self, fn, depth, receiver) -> None:
        if not self.first_visit("function", fn):
            return
        space = _own_dict(fn) or {}
        original = space.get("__xcs_original__")
        if isinstance(original, types.FunctionType):
            # `@xcs.jit` swaps its wrapper's code on the first call (and back when its loops
            # are not worth it): the user's function is what it runs.
            self.callable(original, depth, receiver)
            return
        wrapped = space.get("__wrapped__")
        if wrapped is not None:   # `functools.wraps`: the wrapper runs it
            self.callable(wrapped, depth - 1)
        code = fn.__code__
        self.add(CODE, fn, None, code)
        if is_library_file(code.co_filename):
            return   # library code: its own names are its business (as in the effect walk)
        names = code_names(code)
        globals_ = fn.__globals__
        builtins_of = globals_.get("__builtins__", vars(builtins))
        builtins_of = vars(builtins_of) if isinstance(builtins_of, types.ModuleType) else builtins_of
        for name in names:
            if name in globals_:
                value = globals_[name]
                if not isinstance(value, _DATA):
                    self.add(NAME, globals_, name, value)
                    self.follow(value, names, depth - 1)
            elif isinstance(builtins_of, dict) and name in builtins_of:
                self.add(NAME, globals_, name, ABSENT)   # a module global may come to shadow it
                self.add(NAME, builtins_of, name, builtins_of[name])
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                value = ABSENT
            if not isinstance(value, _DATA):
                self.add(CELL, cell, None, value)
                self.follow(value, names, depth - 1)
        if receiver is not None:
            self.follow(receiver, names, depth - 1)

    def follow(self, value, names, depth) -> None:
        """What the attribute names a function reads resolve to on `value`, and `value` itself."""
        if depth <= 0 or value is ABSENT:
            return
        if isinstance(value, types.ModuleType):
            space = vars(value)
            for name in names:
                if name in space and not isinstance(space[name], _DATA):
                    self.add(NAME, space, name, space[name])
                    self.callable(space[name], depth)
            return
        if isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
            self.callable(value, depth)
            return
        cls = value if isinstance(value, type) else type(value)
        if cls.__module__ != "builtins":
            for name in names:
                found = class_attribute(cls, name)
                if found is not ABSENT:
                    self.add(ATTRIBUTE, cls, name, found)
                    self.callable(found, depth, None if value is cls else value)
        self.callable(value, depth)


# ----------------------------------------------------------------- one walk

@dataclass
class Walk:
    """One traversal: a depth budget, a cycle set and the path of callees followed.

    `seen` holds keys never removed (a function reached twice is read once per walk);
    `limit` caps how many keys one walk reads (None: no cap). `per_event`: each event of the
    function the walk starts at is followed with its own copy of `seen`, so a callee that two
    of its statements reach is found at both (`xcs.analysis.callee_turns` places a turn before
    each statement holding an effect)."""

    depth: int = SCAN_DEPTH
    seen: set = field(default_factory=set)
    limit: int | None = None
    per_event: bool = False
    # With `per_event`: the code of the function the walk starts at. A call that comes back
    # to it (recursion) is a fact there: it runs the original code, whose effects take no turn.
    root_code: object = None

    def visit(self, key) -> bool:
        """True when `key` is new (and now seen), False for a cycle or past the cap."""
        if key in self.seen or (self.limit is not None and len(self.seen) >= self.limit):
            return False
        self.seen.add(key)
        return True


# ----------------------------------------------------------------- effects


def summarize(func, env_for, depth: int = SCAN_DEPTH, shared_params: frozenset | None = None,
              classify=None, classify_name=None, with_reads: bool = True) -> Summary:
    """The `Summary` of calling the Python function `func` (`env_for(f)` gives each
    function's `Environment`): every fact the effect walk finds, the read set (unless
    `with_reads` is False), and with `classify(obj)`/`classify_name(name)` (the evidence
    registry) the references.

    An error while reading on after the first fact ends the walk with an `UNKNOWN` fact (the
    first fact, which `ordered_effects_in` would have stopped at, stays first); an error
    before any fact is raised, as `ordered_effects_in` raises it."""
    code = getattr(func, "__code__", None)
    name = getattr(code, "co_qualname", "") or getattr(func, "__qualname__", "")
    facts: list = []
    try:
        for found in effects_of(func, env_for, Walk(depth), depth, shared_params):
            facts.append(found)
    except Exception as error:  # noqa: BLE001
        if not facts:
            raise
        facts.append(Fact(UNKNOWN, f"{name} could not be read to the end ({error!r})", (name,)))
    facts = tuple(facts)
    reads = reads_of(func, env_for, depth) if with_reads else frozenset()
    refs = references(func, classify, classify_name) if classify is not None else ()
    return Summary(name, facts, reads, refs)


def first_effect(func, env_for, depth: int = SCAN_DEPTH, seen: set | None = None,
                 shared_params: frozenset | None = None, outputs: list | None = None,
                 changes: list | None = None) -> str | None:
    """The words of the first fact `effects_of` finds, or None; the walk stops there."""
    walk = Walk(depth, set() if seen is None else seen)
    for fact in effects_of(func, env_for, walk, depth, shared_params, outputs, changes):
        return fact.words
    return None


def effects_of(func, env_for, walk: Walk, depth: int, shared_params: frozenset | None = None,
               outputs: list | None = None, changes: list | None = None):
    """Yield the `Fact`s of `func` and what it calls, in the order the analysis meets them
    (the contract of `effects.ordered_effects_in`, which takes the first)."""
    from xcs.analysis.normalize import normalize
    from xcs.analysis.stack import simulate

    E = effects
    code = getattr(func, "__code__", None)
    key = (code, shared_params, outputs is not None)
    if code is not None and key in walk.seen and walk.root_code is code:
        yield Fact(UNKNOWN, f"{code.co_name} calls itself back", (getattr(code, "co_qualname", code.co_name),))
        return
    if code is None or key in walk.seen:
        return
    env = env_for(func)
    if env.is_trusted(func):
        return
    here = getattr(code, "co_qualname", code.co_name)
    at_item = [None]   # the index of the instruction or event being read
    root_walk = walk

    def fact(kind, words, write=None):
        return Fact(kind, words, (here,), write, at_item[0])

    if budget.instruction_count(code) > budget.MAX_INSTRUCTIONS:   # reading it would cost seconds
        yield fact(UNKNOWN, f"{code.co_name} has more instructions than XCS reads (limit {budget.MAX_INSTRUCTIONS:,})")
        return
    library = is_library_file(code.co_filename)
    if depth <= 0:
        # Not seen to the bottom: unknown, hence ordered (library code is held to what the
        # levels above saw of it, as the README's assumptions say).
        if not library:
            yield fact(UNKNOWN, f"{code.co_name} calls deeper than XCS follows ({SCAN_DEPTH} levels)")
        return
    walk.seen.add(key)
    try:
        items = list(normalize(code))
        events = simulate(items, 0, len(items), 0, E.handler_depths(items))
    except Exception:  # noqa: BLE001 - an unreadable callee: assume the worst
        yield fact(UNKNOWN, f"{code.co_name} could not be read")
        return
    wrapped = getattr(func, "__wrapped__", None)
    if isinstance(wrapped, types.FunctionType) and wrapped is not func and not wrapped.__code__.co_flags & 0x2A0:
        # A decorated function (`functools.wraps`, `@xcs.jit`'s trampoline): the wrapper runs
        # it. (A `@contextmanager` generator runs when its block is entered: the caller's
        # `with` looks at it.)
        for found in effects_of(wrapped, env_for, walk, depth - 1, None, outputs, changes):
            yield found.via(here)
    if changes is not None:
        changes.extend(f"{code.co_name} (line {getattr(items[e.index], 'lineno', '?')}): {found}"
                       for e in events if e.op == "call" and
                       (found := E.filesystem_change(e, items, E._resolved_or_none(env, e.target))))
    if E._has_mutable_defaults(func):
        shared_params = None
    for at_item[0], item in enumerate(() if library else items):
        if getattr(item, "name", None) in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            yield fact(WRITE, f"{code.co_name} (line {item.lineno}) assigns global `{item.arg}`",
                       Write("global", item.arg))
    shared = E._SharedValues(code, shared_params, events,
                             (lambda value: E._library_owned(value, env)) if library else None)
    handlers = E.in_handler(items)
    at_item[0] = None
    found = E._thread_bound_reads(code, items, env, library)
    if found:
        yield fact(THREAD, found)
    found = None if library else E._attribute_reads(items, env, env_for, depth, walk.seen)
    if found:
        yield fact(ORDERED, found)
    for at_item[0], item in enumerate(() if library else items):
        if getattr(item, "name", None) in ("STORE_DEREF", "DELETE_DEREF") and \
                pyversion.deref_name(item.arg) in code.co_freevars:
            var = pyversion.deref_name(item.arg)
            yield fact(WRITE, f"{code.co_name} (line {item.lineno}) rebinds `{var}`, "
                              "a variable of an enclosing function", Write("cell", var))
    fork = root_walk.per_event and depth == root_walk.depth
    for e in events:
        at_item[0] = e.index
        walk = Walk(root_walk.depth, set(root_walk.seen), root_walk.limit, root_code=root_walk.root_code) \
            if fork else root_walk
        line = getattr(items[e.index], "lineno", "?")
        where = f"{code.co_name} (line {line})"
        target = e.target
        if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr"):
            attr = f".{pyversion.attr_name(items[e.index])}" if e.op.endswith("attr") else ""
            part = attr or "[]"
            if E._into_other_module(target, env, func):
                yield fact(WRITE, f"{where} changes `{target.describe()}{attr}`, which the whole process sees",
                           Write("module", target.describe(), part))
                continue
            if library and e.op.endswith("attr") and not (target.kind == "local" and shared_params is not None
                                                          and target.name in shared_params):
                # A library object's own attributes: its internal state — unless the object is
                # one other iterations see (`msg.set_flags(...)` on an object made before the loop).
                continue
            if (target.kind == "global" and not library) or target.kind == "deref" or \
                    (target.kind == "local" and shared.local(target.name)):
                yield fact(WRITE, f"{where} stores into `{target.describe()}{attr}`", _write_to(target, code, part))
            continue
        if e.op == "enter" and target is not None:
            found = E._enter_effects(e, env, env_for, depth, walk.seen)
            if found:
                yield fact(ORDERED, E.nest(f"{where}: `with` {found}", found))
            continue
        if e.op != "call" or target is None:
            continue
        if target.kind == "global" and not target.chain and target.name in ("setattr", "delattr") and e.args and \
                E._into_other_module(e.args[0], env, func):
            yield fact(WRITE, f"{where} changes an attribute of `{e.args[0].describe()}`, which the whole process "
                              "sees", Write("module", e.args[0].describe(), target.name + "()"))
            continue
        method = target.chain[-1] if target.chain else None
        if library and E._is_warnings_call(target):
            continue   # a library's warning (a deprecation on a cold path): its output is captured
        if outputs is not None and E.captured_output(target, e, items, env, shared):
            outputs.append(f"{where} calls `{target.describe()}()`")
            continue
        if method in E.ORDERED_METHODS:
            yield fact(ORDERED, f"{where} calls `{target.describe()}()`")
            continue
        if target.kind == "local" and method in E.MUTATORS and shared.local(target.name):
            yield fact(WRITE, f"{where} changes `{target.name}`, which other iterations can see "
                              f"(`{target.describe()}()`)", _write_to(target, code, f".{method}()", receiver=True))
            continue
        via_argument = target.kind == "local" and target.name in env.arguments
        if target.kind == "local" and not target.chain and not via_argument and shared.local(target.name) \
                and not library:
            # A function it was handed (`on_done(x)`, `callback(r)`): what it does is not known here.
            yield fact(UNKNOWN, f"{where} calls `{target.name}`, a function it was handed that XCS cannot see")
            continue
        if target.kind not in ("global", "deref") and not via_argument:
            continue
        try:
            root = env.lookup(target.kind, target.name)
            obj = env.lookup(target.kind, target.name, target.chain)
        except Exception:  # noqa: BLE001
            if library or E._trusted_prefix(env, target):
                continue
            yield fact(UNKNOWN, f"{where} calls `{target.describe()}()`, which XCS cannot resolve")
            continue
        if env.is_trusted(obj):
            continue
        if target.chain and not isinstance(root, types.ModuleType) and method in E.MUTATORS and \
                (not library or (target.kind == "deref" and not E._library_owned(target, env))):
            # A library's own module state is exempt, cells are not.
            yield fact(WRITE, f"{where} calls `{target.describe()}()`",
                       _write_to(target, code, f".{method}()", receiver=True))
            continue
        if isinstance(root, types.ModuleType) and len(target.chain) > 1 and method in E.MUTATORS and \
                (not library or root.__name__ != getattr(func, "__module__", None)):
            # `os.environ.update(...)`: another module's state, which the whole process sees.
            yield fact(WRITE, f"{where} calls `{target.describe()}()`, which changes state the whole process sees",
                       Write("module", E.receiver_of(target).describe(), f".{method}()"))
            continue
        if isinstance(root, types.ModuleType) and target.chain:
            if ".".join((root.__name__,) + target.chain) in E.ORDERED_QUALNAMES:
                yield fact(ORDERED, f"{where} calls `{target.describe()}()`")
                continue
        if outputs is not None and library and isinstance(obj, type) and obj.__module__ == "logging":
            continue   # `logging.getLogger` making its Logger: the logging module's own registry
        if obj in E.ORDERED_OBJECTS or E.is_ordered_callable(obj, env):
            yield fact(ORDERED, f"{where} calls `{target.describe()}()`")
            continue
        if E.reads_own_exception(obj, e.index, handlers):
            continue
        if obj is builtins.getattr and len(e.args) >= 2 and shared.value(e.args[0]) and not library:
            held = e.args[0]
            try:
                held_obj = env.lookup(held.kind, held.name, held.chain) if held.kind in ("global", "deref") or \
                    (held.kind == "local" and held.name in env.arguments) else E.UNKNOWN
            except Exception:  # noqa: BLE001
                held_obj = E.UNKNOWN
            found = E.getattr_effects(held_obj, E.constant_name(items, e.args[1]), env_for, depth, walk.seen)
            if found:
                yield fact(ORDERED, E.nest(f"{where}: {found}", found))
                continue
        bound_to_shared = call_receiver(target, root) is not NO_RECEIVER
        if target.kind == "global" and not target.chain and target.name in ("setattr", "delattr") and e.args:
            args_shared = shared.value(e.args[0])
        else:
            args_shared = bound_to_shared or any(shared.value(a) for a in e.args)
        opaque = E.opaque_fact(obj, env, args_shared, library, depth, walk.seen)
        if opaque:
            yield replace(fact(opaque[0], E.nest(f"{where}: {opaque[1]}", opaque[1])), own_objects=not args_shared)
            continue
        if not isinstance(obj, (types.FunctionType, type)) and callable(obj):
            call = inspect.getattr_static(type(obj), "__call__", None)
            if isinstance(call, types.FunctionType):
                obj = call   # a callable object: its __call__ runs
        if isinstance(obj, type) and not library:
            found = E.class_construction(obj, env, depth, walk.seen)
            if found:
                yield fact(ORDERED, E.nest(f"{where}: {found}", found))
            continue
        wrapped = getattr(obj, "__wrapped__", None) if isinstance(obj, types.FunctionType) else None
        if isinstance(wrapped, types.FunctionType):
            # A decorated function (`@contextmanager`, `functools.wraps`): the wrapper runs it.
            for found in effects_of(wrapped, env_for, walk, depth - 1, None, outputs, changes):
                yield found.via(here, e.index)
        if isinstance(obj, types.FunctionType):
            receiver = for_binding(call_receiver(target, root))

            def resolve_value(value):
                obj_ = E.UNKNOWN
                if value.kind in ("global", "deref") or (value.kind == "local" and value.name in env.arguments):
                    try:
                        obj_ = env.lookup(value.kind, value.name, value.chain)
                    except Exception:  # noqa: BLE001
                        obj_ = E.UNKNOWN
                return shared.value(value), obj_

            keywords = E.call_keywords(items, e.index)
            arguments, params = E.bind_call(obj, e.args, keywords, resolve_value, receiver)
            if receiver is not None and obj.__code__.co_argcount and \
                    (not shared.value(E.receiver_of(target)) or (library and target.kind == "global")):
                # `self` is as shared as the object it is bound to; a library's objects reached
                # through its own globals (`Logger.manager`) are its own state.
                params = params - {obj.__code__.co_varnames[0]}
            passed = _passed(obj, e.args, keywords, E.receiver_of(target) if receiver is not None else None)
            for found in effects_of(obj, E.binding(env_for, obj, arguments), walk, depth - 1, params, outputs,
                                    changes):
                yield _as_caller(found, passed, code).via(here, e.index)


def _render(chain: tuple) -> str:
    return "".join(c if c.startswith("[") else "." + c for c in chain)


def _write_to(target, code, part: str, receiver: bool = False) -> Write:
    """The `Write` a store into (or a changing call on) the simulated value `target` makes;
    `part` is `.attr`, `[]` or `.method()`."""
    part = _render(target.chain[:-1] if receiver else target.chain) + part
    if target.kind == "global":
        return Write("global", target.name, part)
    if target.kind == "deref":
        return Write("cell", target.name, part)
    if target.kind == "local" and target.name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        return Write("param", target.name, part)
    return Write("object", target.name, part)


def _passed(func, args, keywords, receiver) -> dict:
    """{parameter of `func`: the caller's simulated value passed to it} at one call."""
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    positional = list(args[:len(args) - len(keywords)]) if keywords else list(args)
    if receiver is not None:
        positional.insert(0, receiver)
    out = dict(zip(names[:code.co_argcount], positional))
    if keywords:
        out.update((k, v) for k, v in zip(keywords, args[len(args) - len(keywords):]) if k in names)
    return out


def _as_caller(found: Fact, passed: dict, code) -> Fact:
    """A callee's fact as the caller sees it: a write into a parameter is a write into what
    the caller passed (its own parameter, a global, a cell)."""
    w = found.write
    if w is None or w.root != "param":
        return found
    value = passed.get(w.name)
    if value is None or value.kind not in ("local", "global", "deref"):
        return replace(found, write=Write("object", w.name, w.part))
    part = (_render(value.chain) + (w.part or "")) or None
    if value.kind == "global":
        return replace(found, write=Write("global", value.name, part))
    if value.kind == "deref":
        return replace(found, write=Write("cell", value.name, part))
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    return replace(found, write=Write("param" if value.name in params else "object", value.name, part))


# ----------------------------------------------------------------- reads


def reads_of(func, env_for, depth: int = SCAN_DEPTH, seen: set | None = None,
             skip: frozenset = frozenset()) -> frozenset:
    """The shared state `func` reads, following the user functions it calls (library code
    keeps its own state, as the README says; what it reads of the file system counts).

    Parameters are reported by index so the caller can map them onto its own arguments.
    `skip`: indices of `func`'s own normalized items (instructions and call events) whose
    reads are not counted (those that run after a turn, `xcs.analysis.callee_turns`)."""
    from xcs.analysis.normalize import normalize
    from xcs.analysis.stack import simulate

    E = effects
    seen = set() if seen is None else seen
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return frozenset()
    env = env_for(func)
    if env.is_trusted(func):
        return frozenset()
    library = is_library_file(code.co_filename)
    if depth <= 0:
        return frozenset() if library else frozenset({Read("any")})
    seen.add(code)
    try:
        items = list(normalize(code))
        events = simulate(items, 0, len(items), 0, E.handler_depths(items))
    except Exception:  # noqa: BLE001 - unreadable: it may read anything
        return frozenset({Read("any")})
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    reads: set = set()
    if not library:
        for i, item in enumerate(items):
            name = getattr(item, "name", None)
            if i in skip:
                continue
            if name == "LOAD_GLOBAL":
                var = pyversion.global_name(item)
                try:
                    value = env.lookup("global", var)
                except Exception:  # noqa: BLE001
                    continue
                if not isinstance(value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)):
                    reads.add(Read("global", (id(env.globals), var)))
            elif name == "LOAD_DEREF" or (name is not None and pyversion.is_closure_load(item)):
                var = pyversion.deref_name(item.arg)
                if var in code.co_freevars:
                    reads.add(Read("cell", var))
            elif name in pyversion.LOCAL_READS and item.arg in params:
                nxt = items[i + 1] if i + 1 < len(items) else None
                attr = pyversion.attr_name(nxt) if getattr(nxt, "name", None) in pyversion.ATTR_LOADS else None
                reads.add(Read("param", params.index(item.arg), attr))
    for e in events:
        if e.op != "call" or e.target is None or e.index in skip:
            continue
        target = e.target
        if target.chain and target.chain[-1] in E.PATH_READING_METHODS:
            reads.add(Read("fs"))   # `path.exists()` on a path of any origin
            continue
        try:
            if target.kind in ("global", "deref") or (target.kind == "local" and target.name in env.arguments):
                root = env.lookup(target.kind, target.name)
                obj = env.lookup(target.kind, target.name, target.chain)
            else:
                continue
        except Exception:  # noqa: BLE001
            continue
        if E.qualified_name_or_empty(obj) in E.FILESYSTEM_READING or \
                knowledge._lookup(E.FILESYSTEM_READING, E.qualified_name_or_empty(obj)):
            reads.add(Read("fs"))
            continue
        if not isinstance(obj, types.FunctionType) or library:
            continue
        inner = reads_of(obj, env_for, depth - 1, seen)
        # The inner function's parameters are this one's arguments at the call.
        bound = call_receiver(target, root) is not NO_RECEIVER
        passed = ([E.receiver_of(target)] if bound else []) + list(e.args)
        for r in inner:
            if r.kind != "param":
                reads.add(r)
                continue
            value = passed[r.key] if r.key < len(passed) else None
            if value is not None and value.kind == "local" and value.name in params and not value.chain:
                reads.add(Read("param", params.index(value.name), r.attr))
            elif value is not None and value.kind == "local" and value.name in params:
                reads.add(Read("param", params.index(value.name), value.chain[0]))
            elif value is not None and value.kind in ("global", "deref") and not library:
                reads.add(Read("global", (id(env.globals), value.name)) if value.kind == "global"
                          else Read("cell", value.name))
    return frozenset(reads)


# ----------------------------------------------------------------- references (evidence)
#
# What the code refers to, classified by a registry the caller hands in: every global, cell
# and known-argument load with its attribute chain, read statically. This is the walk the
# blocking evidence rests on; it follows what the registry does not know, three levels down.

REFERENCE_DEPTH = 3        # the root is level 0; functions it refers to are read down to this level
MAX_CODE_OBJECTS = 200     # bounds the work on large libraries the registry does not know

_ROOT_LOADS = {"LOAD_GLOBAL": "global", **dict.fromkeys(pyversion.DEREF_LOADS, "deref"),
               **dict.fromkeys(pyversion.LOCAL_LOADS, "local")}
_MISSING = object()


def references(func, classify, classify_name, known: dict | None = None, follow_root: bool = True) -> tuple:
    """The `Reference`s of the code `func` runs (and of what it refers to, `REFERENCE_DEPTH`
    levels), each (kind, name) once, in the order found. `classify(obj)` and
    `classify_name(name)` return a kind or None. `known` gives values of `func`'s
    parameters (a loop body's inputs). With `follow_root` the root is resolved like any
    callee (`resolve`); without it `func` must be a Python function, read as level 0."""
    walk = _References(classify, classify_name)
    if follow_root:
        walk.follow(func, 0, ())
    else:
        walk.scan(func.__code__, func.__globals__, _cells(func), known or {}, 0, ())
    return tuple(walk.found)


def _cells(fn) -> dict:
    return dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))


class _References:
    def __init__(self, classify, classify_name):
        self.classify, self.classify_name = classify, classify_name
        self.found: list = []
        self.names_seen: set = set()
        self.walk = Walk(REFERENCE_DEPTH, limit=MAX_CODE_OBJECTS)

    def record(self, kind, name, path, line) -> None:
        if (kind, name) not in self.names_seen:
            self.names_seen.add((kind, name))
            self.found.append(Reference(kind, name, path, line))

    def scan(self, code, globals_, cells, known, depth, path) -> None:
        if depth > 0 and budget.instruction_count(code) > budget.MAX_INSTRUCTIONS:
            return   # the analysis budget: a callee this long is not read for evidence either
        if not self.walk.visit(code):
            return
        builtins_ = globals_.get("__builtins__", {})
        builtins_ = vars(builtins_) if isinstance(builtins_, types.ModuleType) else builtins_
        instrs = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
        line = code.co_firstlineno
        for n, ins in enumerate(instrs):
            line = _line(ins) or line
            if ins.opname == "LOAD_CONST" and isinstance(ins.argval, types.CodeType):
                self.scan(ins.argval, globals_, cells, known, depth, path)
                continue
            root = _root(ins, globals_, builtins_, cells, known)
            if root is _MISSING:
                continue
            chain = []
            for j in range(n + 1, len(instrs)):   # not instrs[n + 1:]: a copy per load is quadratic
                if instrs[j].opname not in pyversion.ATTR_LOADS:
                    break
                chain.append(instrs[j].argval)
            self.examine(root, chain, depth, path, line)

    def examine(self, obj, chain, depth, path, line) -> None:
        """Classify `obj.chain...` and, failing that, follow it into Python code."""
        for k, attr in enumerate(chain):
            nxt = static_attr(obj, attr)
            if nxt is _MISSING:
                name = ".".join([_owner_name(obj), *chain[k:]])
                kind = self.classify_name(name)
                if kind is not None:
                    self.record(kind, name, path, line)
                return
            obj = nxt
        kind = self.classify(obj)
        if kind is not None:
            self.record(kind, qualified_name(obj), path, line)
            return
        self.follow(obj, depth + 1, path, line)

    def follow(self, obj, depth, path, line=None) -> None:
        """Read the Python code calling `obj` would run, if it is within reach."""
        if depth > self.walk.depth:
            return
        found = resolve(obj)
        target, receiver = found.function, found.receiver
        if target is None and isinstance(found.opaque, type):
            target, receiver = constructor(found.opaque), None
        if target is None:
            return
        known = dict(zip(target.__code__.co_varnames[:1], (receiver,))) if receiver is not None else {}
        try:
            self.scan(target.__code__, target.__globals__, _cells(target), known, depth,
                      path or (qualified_name(target),))
        except Exception:  # noqa: BLE001 - a function we cannot read is simply not evidence
            return


def _root(ins, globals_, builtins_, cells, known):
    kind = _ROOT_LOADS.get(ins.opname)
    name = ins.argval
    if kind is None and pyversion.SUPERINSTRUCTIONS.get(ins.opname, ("", ""))[1] == "LOAD_FAST":
        kind, name = "local", ins.argval[1]   # 3.13 fused loads: the second one is pushed last
    if kind == "global":
        if name in globals_:
            return globals_[name]
        return builtins_.get(name, _MISSING)
    if kind == "deref":
        cell = cells.get(name)
        if cell is not None:
            try:
                return cell.cell_contents
            except ValueError:  # empty cell
                return _MISSING
        return known.get(name, _MISSING)   # an argument that is also a cell variable
    if kind == "local":
        return known.get(name, _MISSING)
    return _MISSING


def _line(ins):
    positions = getattr(ins, "positions", None)
    return getattr(positions, "lineno", None)


def static_attr(obj, attr):
    """`obj.attr` when it can be read without running code, else `_MISSING`."""
    try:
        if isinstance(obj, types.ModuleType):
            return vars(obj).get(attr, _MISSING)
        value = inspect.getattr_static(obj, attr)
    except Exception:  # noqa: BLE001 - AttributeError, or an object whose __dict__ misbehaves
        return _MISSING
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, types.MemberDescriptorType) and not isinstance(obj, type):
        try:
            return value.__get__(obj, type(obj))   # a __slots__ value: read by C, no user code
        except AttributeError:
            return _MISSING
    if isinstance(value, types.FunctionType) and not isinstance(obj, type):
        return types.MethodType(value, obj)
    if isinstance(value, (property, functools.cached_property)) or (
            hasattr(type(value), "__get__") and not callable(value) and not isinstance(value, type)):
        return _MISSING   # computing it would run the user's code
    return value


def _owner_name(obj) -> str:
    if isinstance(obj, (types.ModuleType, type)):
        return qualified_name(obj)
    return type_name(type(obj))
