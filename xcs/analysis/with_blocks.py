"""`with` blocks over a response or a file read: the block leaves the order, its last in-order
statement moves after the `with`.

```python
for u in urls:
    with client.stream("GET", u) as r:   # the request is sent at __enter__
        pages.append(r.read())
```

runs, once rewritten, as

```python
for u in urls:
    __xcs_w0 = NOT_REACHED
    with client.stream("GET", u) as r:
        __xcs_w0 = r.read()
    if __xcs_w0 is not NOT_REACHED:
        pages.append(__xcs_w0)
```

whose `with` statement the split then puts in the map part (entering the response, reading it
and closing it in parallel) and whose `pages.append` stays in order. The rewrite is made on
the function's instructions before the loops are analysed (`rewrite`), only where it is exact:

- The manager is known (`RESPONSES`, resolved as callees are, guarded): its `__enter__` returns
  the response (or file) and its `__exit__` closes it and does nothing else — it ignores the
  exception it is given, suppresses none, and closing is all a later statement could observe,
  which the moved statement cannot (below). A manager XCS does not know keeps its block in order
  (unknown means ordered), and `explain` says so (`notes`).
- Only the block's *last* statement moves, and it is straight-line code: nothing in the block
  comes after it, so nothing there can depend on its effect.
- What moves is that statement minus its operand expressions that read the block's names
  (`r.read()`): those stay in the block, computed into temporaries, in the order they had. The
  statement left over reads none of the block's names and none of the outer objects the
  manager expression reads (`client`), so it cannot reach the response, nor the client it
  came from: closing the response first is invisible to it.
- Exceptions keep their order: one raised in the block (`r.read()` failing) ends the `with`
  as before, in the map part, and the loop raises it where the `with` stood, after the earlier
  iterations' in-order parts; the temporary is still `NOT_REACHED` (reset before each
  `with`), so a manager that suppressed it would skip the moved statement as plain code does.
  One raised by the moved statement itself now happens with the response closed and not
  during `__exit__`, which for these managers only closes either way. The one assumption left:
  a known manager's `__exit__` does not itself fail after a completed block (closing a read
  response or file); if it did, the moved statement would not have run.

`async with` blocks are `aio_blocks`' (their known clients' responses); both modules resolve
a manager by the callable that built it (`aio_blocks.manager_name`).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.analysis.aio_blocks import manager_name
from xcs.analysis.refusal import Refusal
from xcs.analysis.stack import simulate
from xcs.analysis.statements import RawStatement

# Callables whose result, used as a `with` manager, is a response of the iteration's own: its
# `__enter__` returns it, its `__exit__` closes it (the connection goes back to the client's
# pool, made for concurrent requests). Qualified names as CPython spells them. The request
# itself is the manager expression's call (urlopen, requests) or the enter (httpx's stream):
# whether that may run in parallel is the ordinary classification's question.
_REQUESTS_METHODS = ("get", "options", "head", "post", "put", "patch", "delete", "request")
RESPONSES = frozenset({
    "httpx._client.Client.stream", "httpx._api.stream",
    *(f"requests.api.{m}" for m in _REQUESTS_METHODS),
    *(f"requests.sessions.Session.{m}" for m in _REQUESTS_METHODS),
    "urllib.request.urlopen", "urllib.request.OpenerDirector.open",
})
# `open(path)` for reading: `__exit__` closes the file. Opened for writing, the file's contents
# depend on what the block writes before the close: not moved (`opens_for_writing`).
OPENS = frozenset({"builtins.open", "io.open", "_io.open"})

# What the statement left after the `with` may do besides loading: its own effect.
_RESIDUE_OPS = {"POP_TOP", "STORE_SUBSCR", "STORE_ATTR", "STORE_FAST", "COPY", "SWAP", "NOP"}


class NotReached:
    """The value of a moved statement's temporary before its block computed it."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<xcs: with block not completed>"

    def __reduce__(self):
        return (NotReached, ())   # the one instance in every process (a map part shipped away)


NOT_REACHED = NotReached()


@dataclass(frozen=True)
class Move:
    """One `with` statement items[start:stop] whose last block statement items[tail:tail_end]
    moves after it, except its operand expressions `spans` ((lo, hi) each, in order)."""

    start: int
    tail: int
    tail_end: int
    stop: int
    spans: tuple


def candidates(desc):
    """(statement number, enter event, Move) for each statement of the loop that is a `with`
    whose block ends in a statement that could move (whatever its manager)."""
    found = []
    for k, s in enumerate(desc.raw):
        if k == 0:
            continue
        try:
            shaped = _shape(desc, s)
        except Exception:  # noqa: BLE001 - a shape not understood is not moved
            shaped = None
        if shaped is None:
            continue
        enter, move = shaped
        e = next((e for e in desc.events[k] if e.op == "enter" and e.index == enter), None)
        if e is not None:
            found.append((k, e, move))
    return found


def moves(desc, res) -> list:
    """The `Move`s of the loop whose manager is known (the resolutions are `res`' guards)."""
    return [move for k, e, move in candidates(desc) if _known(desc, res, k, e)]


def notes(desc, res, kinds) -> tuple:
    """A note for each in-order `with` statement that would move but for a manager XCS does
    not know (and whose enter and exit the analysis found nothing ordered in): its block stays
    in order."""
    from xcs.analysis.split.effect import enter_reason   # the split imports this module

    out = []
    for k, e, _ in candidates(desc):
        # A manager whose own enter or exit must stay in order has that said instead.
        if kinds[k] != "map" and not _known(desc, res, k, e) and enter_reason(desc, res, e, None) is None:
            made_by = e.args[0] if e.args else None
            described = (made_by or e.target).describe()
            out.append(Refusal("commit:with-block", desc.raw[k].line, described + ("(...)" if made_by else "")))
    return tuple(out)


def rewrite(items: list, found: list) -> list:
    """`items` with each `Move` applied (see the module docstring)."""
    out: list = []
    count = 0
    by_start = {m.start: m for m in found}
    by_tail = {m.tail: m for m in found}
    by_stop: dict = {}
    temps: dict = {}
    i = 0
    while i <= len(items):
        for m in by_stop.pop(i, ()):
            out += _residue(items, m, temps[m])
        if i == len(items):
            break
        m = by_start.get(i)
        if m is not None:
            temps[m] = [f"__xcs_w{count + n}" for n in range(len(m.spans))]
            count += len(m.spans)
            loc = _location(items, m.tail)
            for name in temps[m]:
                out += [Instr("LOAD_CONST", NOT_REACHED, location=loc), Instr("STORE_FAST", name, location=loc)]
            by_stop.setdefault(m.stop, []).append(m)
        m = by_tail.get(i)
        if m is not None:
            for (lo, hi), name in zip(m.spans, temps[m]):
                out += list(items[lo:hi]) + [Instr("STORE_FAST", name, location=_location(items, lo))]
            i = m.tail_end
            continue
        out.append(items[i])
        i += 1
    return out


def _residue(items, m: Move, names: list) -> list:
    """`if <last temp> is not NOT_REACHED: <the tail, its spans read from the temps>`."""
    loc = _location(items, m.tail)
    skip = Label()
    out = [Instr("LOAD_FAST", names[-1], location=loc), Instr("LOAD_CONST", NOT_REACHED, location=loc),
           Instr("IS_OP", 1, location=loc)]
    out += pyversion.jump_if("FALSE", skip, backward=False, location=loc)
    spans = dict(zip((lo for lo, _ in m.spans), zip(m.spans, names)))
    i = m.tail
    while i < m.tail_end:
        if i in spans:
            (lo, hi), name = spans[i]
            out.append(Instr("LOAD_FAST", name, location=_location(items, lo)))
            i = hi
            continue
        out.append(items[i])
        i += 1
    return out + [skip]


def _location(items, i):
    return next((x.location for x in items[i:] if isinstance(x, Instr)), None)


def _known(desc, res, k, e) -> bool:
    name = manager_name(desc, res, e)
    if name in RESPONSES:
        return True
    if name in OPENS:
        from xcs.analysis.split.effect import opens_for_writing   # the split imports this module

        call = [c for c in desc.events[k] if c.op == "call" and c.index < e.index]
        return bool(call) and not opens_for_writing(desc, call[-1], open)
    return False


def _shape(desc, s):
    """(index of BEFORE_WITH, `Move`) when statement s is a `with` of one manager whose block
    ends in a statement that could move; None otherwise."""
    items, depth, base = desc.items, desc.flow.depth, desc.base
    if desc.coroutine:
        return None
    enter = next((i for i in range(s.start, s.stop) if isinstance(items[i], Instr)
                  and items[i].name in ("BEFORE_WITH", "BEFORE_ASYNC_WITH")), None)
    if enter is None or items[enter].name != "BEFORE_WITH":
        return None
    # The statement is the `with` itself: its manager expression is straight-line code that
    # starts the statement (not a `with` inside an `if`, a `try` or another `with`).
    for i in range(s.start, enter):
        item = items[i]
        if not isinstance(item, Instr) or isinstance(item.arg, Label):
            return None
        if i > s.start and depth.get(i, base) <= base:
            return None
    begin = enter + 1
    if not isinstance(items[begin], TryBegin):
        return None
    # The block's last range to the `with`'s handler ends before the normal exit (a `continue`
    # or `break` in the block leaves through a copy of the exit between two such ranges).
    target = items[begin].target
    ends = [j for j in range(begin + 1, s.stop) if isinstance(items[j], TryEnd) and items[j].entry.target is target]
    if not ends:
        return None
    end = ends[-1]
    inner = base + 1   # the block runs above the manager's `__exit__`
    tail = None
    for j in range(end - 1, begin, -1):
        item = items[j]
        if not isinstance(item, Instr) or isinstance(item.arg, Label) or item.name in pyversion.RETURNS:
            break
        if depth.get(j) == inner:
            tail = j
            break
    if tail is None or tail <= begin + 1:
        return None   # no statement, or the only item is the `as` target's store
    if any(not isinstance(x, Instr) or isinstance(x.arg, Label) for x in items[tail:end]):
        return None
    events = simulate(items, tail, end, inner, {})
    effect = next((e for e in reversed(events) if e.op in ("call", "append", "store-subscr", "store-attr",
                                                           "inplace", "store-local")), None)
    if effect is None or effect.op == "store-local":
        return None   # nothing in order to move (`body = r.read()` is the map part's already)
    from xcs.analysis.split.spans import operand_spans   # the split imports this module

    view = SimpleNamespace(flow=desc.flow, items=items, coroutine=False, loop=desc.loop)
    statement = RawStatement(tail, end, items[tail].lineno)
    block_names = {x.arg for x in items[s.start:tail] if isinstance(x, Instr)
                   and x.name in ("STORE_FAST", "DELETE_FAST")}
    spans = sorted(span for span in operand_spans(view, statement, effect)
                   if _reads(items, *span) & block_names)
    if not spans:
        return None
    inside = {i for lo, hi in spans for i in range(lo, hi)}
    stored = {items[i].arg for i in inside if items[i].name == "STORE_FAST"}
    manager_outer = {n for n in _reads(items, s.start, enter) if not desc.is_body_local(n)}
    for i in range(tail, end):
        if i in inside:
            continue
        ins = items[i]
        reads = _reads(items, i, i + 1)
        if reads & (block_names | stored | manager_outer):
            return None
        if ins.name in pyversion.LOCAL_READS or ins.name in ("LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CONST"):
            continue
        if ins.name in _RESIDUE_OPS or ins.name in pyversion.CALLS or ins.name in pyversion.ATTR_LOADS or \
                ins.name in pyversion.CALL_PREFIXES or ins.name in ("PUSH_NULL", "BINARY_OP", "BINARY_SUBSCR"):
            continue
        return None
    return enter, Move(s.start, tail, end, s.stop, tuple(spans))


def _reads(items, start: int, stop: int) -> set:
    """Names of the locals, globals and cells items[start:stop] load."""
    out = set()
    for ins in items[start:stop]:
        if not isinstance(ins, Instr):
            continue
        if ins.name in pyversion.LOCAL_READS:
            out.add(ins.arg)
        elif ins.name == "LOAD_GLOBAL":
            out.add(pyversion.global_name(ins))
        elif ins.name in pyversion.DEREF_LOADS or pyversion.is_closure_load(ins):
            out.add(pyversion.deref_name(ins.arg))
    return out
