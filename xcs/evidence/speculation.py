"""Speculation past `break` and `return`: which loops may run later iterations' work before
an earlier iteration decides to leave (docs/speculation.md).

The analysis runs a statement that may leave the loop in order and lists what the work of
such a loop calls outside the process (`LoopFacts.speculative_calls`). Here those calls are
judged: by default a loop runs speculatively only when each is a *read* — an HTTP GET/HEAD
through `requests`, `httpx` or `urllib`, a DNS lookup, `time.sleep`, or what the user
registered with `register_read_only` — since iterations past the exit then change nothing
anywhere. `@xcs.jit(speculate=True)` allows any call (an LLM request that costs money, a POST
the user knows to be idempotent). `apply(facts, speculate)` turns the loops that may not
speculate sequential, with a "speculation" refusal naming the call.

At run time, `iterable_check(lp)` makes sure pulling items ahead is invisible after an early
exit: plain code leaves the iterator just past the breaking item, so an iterator someone else
holds (`it = iter(xs)`, an open file read on after the loop) must not be pulled further.
"""
from __future__ import annotations

import gc
import sys
import threading
import types
from dataclasses import replace

from xcs import pyversion
from xcs.analysis.refusal import Cause, Kind, Refusal
from xcs.analysis.speculation import Listed
from xcs.evidence import guards, registry
from xcs.evidence.names import public_name, qualified_name

# Dotted names (longest prefix wins, as in the registry) of calls that only read. urllib's two
# are reads only without a body (`data`) or another method: see `_ARGUMENT_RULES`.
READ_ONLY = frozenset({
    "time.sleep",
    *(f"requests.{p}{m}" for p in ("", "api.", "Session.", "sessions.Session.") for m in ("get", "head", "options")),
    *(f"httpx.{p}{m}" for p in ("", "_api.", "Client.", "_client.Client.") for m in ("get", "head", "options")),
    "urllib.request.urlopen", "urllib.request.Request",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.getnameinfo", "socket.getfqdn",
    "os.read", "os.pread", "os.readv",
})

# name -> (most positional arguments, keywords that make it a write).
_ARGUMENT_RULES = {
    "urllib.request.urlopen": (1, frozenset({"data"})),
    "urllib.request.Request": (1, frozenset({"data", "method"})),
}

# Methods called on a value the analysis cannot name (an item, a parameter): reads when they
# are those of the built-in strings and containers (`u.strip()`, `row.get("url")`).
_DATA_METHODS = frozenset(name for cls in (str, bytes, int, float, tuple, frozenset) for name in dir(cls)
                          if not name.startswith("_")) | {"get", "keys", "values", "items", "copy", "index", "count"}

_lock = threading.Lock()
_registered: dict = {}   # object or code object -> True


def register_read_only(fn_or_name):
    """Mark a callable (or a dotted name, or a class) as blocking I/O that only reads: a loop
    that may `break` or `return` runs later iterations' calls of it speculatively without
    `speculate=True`. Implies `register_blocking`. Returns its argument unchanged."""
    registry.register_blocking(fn_or_name)
    with _lock:
        if isinstance(fn_or_name, str):
            _registered[fn_or_name] = True
        else:
            func = getattr(fn_or_name, "__func__", fn_or_name)
            _registered[func] = True
            code = getattr(func, "__code__", None)
            if code is not None:
                _registered[code] = True
    return fn_or_name


def is_read_only(obj, positional: int = 0, keywords: tuple = ()) -> bool:
    """True when calling `obj` with that many positional arguments and these keywords only
    reads (registered, or named in READ_ONLY within its argument rule)."""
    try:
        target = getattr(obj, "__func__", obj)
        if _registered.get(target) or _registered.get(getattr(target, "__code__", None)):
            return True
    except TypeError:   # unhashable
        pass
    name = public_name(qualified_name(obj) or "")
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if _registered.get(prefix):
            return True
        if prefix in READ_ONLY:
            most, writes = _ARGUMENT_RULES.get(prefix, (None, frozenset()))
            return (most is None or positional <= most) and not (writes & set(keywords))
    return False


def verdict(lp) -> Refusal | None:
    """Why loop `lp`, which may leave early, must not run its work speculatively by default:
    a "speculation" refusal naming the first call that is not known to only read; or None."""
    for call in lp.speculative_calls:
        if call.why is Listed.UNRESOLVED and call.method in _DATA_METHODS:
            continue
        if call.obj is None or not is_read_only(call.obj, call.positional, call.keywords):
            return Refusal(Kind.SPECULATION, call.line, call.callee, callee=call.callee, detail=call.within,
                           cause=_CAUSES.get(call.why))
    return None


# Why a call was listed, as the refusal's cause (a named client or an unnamed callee: None).
_CAUSES = {Listed.TOO_DEEP: Cause.TOO_DEEP, Listed.UNREADABLE: Cause.UNREADABLE}


def apply(facts, speculate: bool):
    """`facts` with every parallel loop that may leave early, and may not speculate, made
    sequential (its reasons led by the "speculation" refusal)."""
    coroutine = facts.code is not None and facts.code.co_flags & pyversion.CO_COROUTINE
    if (speculate and not coroutine) or not any(lp.exits and lp.parallel for lp in facts.loops):
        return facts
    loops = []
    for lp in facts.loops:
        if coroutine and lp.exits and lp.parallel:
            # The task window has no speculation protocol: a coroutine's loop that may leave
            # early runs as written.
            kind, line = lp.exits[0]
            why = Refusal("async-exit", line, kind)
        else:
            why = verdict(lp) if lp.exits and lp.parallel and not speculate else None
        if why is not None:
            # Nothing runs speculatively: the notes that say it would go.
            lp = replace(lp, parallel=False, reasons=(why,) + tuple(r for r in lp.reasons if r.kind != "commit:exit"))
        loops.append(lp)
    return replace(facts, loops=tuple(loops))


# ----------------------------------------------------------------- the iterable, at run time

_ITERATOR_WORDS = ("the loop may leave early, and it iterates over an iterator that other code can hold: "
                   "plain code leaves it just past the last item the loop used, so items must not be "
                   "pulled ahead")


def iterable_check(lp):
    """`check(iterable) -> reason | None` for a loop that may leave early, given the object
    the `for` statement iterates (before `iter()`): None when pulling its items ahead leaves
    no trace after the loop — a built-in container (the loop's own iterator is dropped with
    the loop), or an iterator the iterable expression made itself (`enumerate(xs)`,
    `zip(a, b)`) over such containers, held by nothing else; a tqdm bar over one of these."""
    made_here = lp.iterable_made_here

    def check(iterable) -> str | None:
        if type(iterable) in guards._CONTAINERS:
            return None
        source = _bar_source(iterable)
        if source is not None:
            return None if type(source) in guards._CONTAINERS else _ITERATOR_WORDS
        if made_here and type(iterable) in guards._INERT:
            return None   # `itertools.count()`, `os.scandir(d)` made by the loop's own expression
        if made_here and type(iterable) in guards._WRAPPERS and _fresh_sources(iterable, 6):
            return None
        return _ITERATOR_WORDS

    return check


def _bar_source(obj):
    """The iterable of a tqdm bar (`tqdm(xs)`), or None."""
    std = sys.modules.get("tqdm.std")
    base = getattr(std, "tqdm", None) if std is not None else None
    if isinstance(base, type) and isinstance(obj, base):
        return vars(obj).get("iterable")
    return None


def _fresh_sources(wrapper, depth) -> bool:
    """True when every iterator `wrapper` pulls from is a container's iterator or another
    wrapper, each held by its wrapper alone (counted references), down to containers."""
    if depth <= 0:
        return False
    refs = [r for r in gc.get_referents(wrapper) if r is not type(wrapper)]
    for n in range(len(refs)):
        if isinstance(refs[n], tuple) and type(wrapper) is zip:
            sources = refs[n]
            for k in range(len(sources)):
                if sources[k] is None:
                    continue   # zip's reused result tuple
                # Held by zip's tuple alone: one reference fewer than the wrapper-and-list case.
                if sys.getrefcount(sources[k]) > _BASELINE - 1 or not _fresh(sources[k], depth):
                    return False
            continue
        kind = type(refs[n])
        if kind in guards._INERT or kind in guards._WRAPPERS:
            if sys.getrefcount(refs[n]) > _BASELINE or not _fresh(refs[n], depth):
                return False
        elif kind in (types.FunctionType, types.BuiltinFunctionType, int, type) or kind in guards._CONTAINERS:
            continue   # map's function, enumerate's count: the pull check judges them
        else:
            return False
    return True


def _fresh(obj, depth) -> bool:
    if type(obj) in guards._INERT:
        return True
    return type(obj) in guards._WRAPPERS and _fresh_sources(obj, depth - 1)


def _baseline() -> int:
    """References to a fresh wrapped iterator as `_fresh_sources` sees it: its wrapper, the
    referents list and the call's argument (measured: versions differ)."""
    wrapper = enumerate(iter([1]))
    refs = [r for r in gc.get_referents(wrapper) if r is not type(wrapper)]
    k = next(n for n in range(len(refs)) if type(refs[n]) is type(iter([])))
    return sys.getrefcount(refs[k])


_BASELINE = _baseline()
