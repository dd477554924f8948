"""What the analysis proves about one loop, handed to the transform as immutable data.

Positions are indices into the normalized instruction list (`FunctionFacts.items`), so
the transform can rebuild code from exactly the instructions the analysis looked at.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from xcs.analysis.refusal import Refusal


@dataclass(frozen=True)
class Hoist:
    """An argument expression of a commit statement that runs in the map part instead.

    `start`/`stop` bound the expression's instructions (items[start:stop]); its value is
    stored into the fresh local `temp` in the map part and loaded from it in the commit part.
    """

    start: int
    stop: int
    temp: str


@dataclass(frozen=True)
class Statement:
    """A statement of the loop body: items[start:stop] plus out-of-line handler blocks.

    `kind` is "map" (runs on a worker), "commit" (runs in order on the calling thread) or
    "end" (the loop's closing jump). `writes` are the locals it assigns; `skips` says it
    can go to the next iteration (`continue`).
    """

    start: int
    stop: int
    kind: str
    line: int | None
    writes: tuple[str, ...] = ()
    skips: bool = False
    handlers: tuple[tuple[int, int], ...] = ()
    hoists: tuple[Hoist, ...] = ()
    reasons: tuple[Refusal, ...] = ()
    exits: tuple = ()   # ("break" | "return", line): the statement may end the loop (it is in order)


@dataclass(frozen=True)
class TurnedCall:
    """A call of a map statement that runs through a callee variant taking the turn before
    its ordered effects (`xcs.analysis.callee_turns`): `event` the call's index, `load` the
    index of the instruction loading the callee, `turns` the `CalleeTurns`, `line` the
    call's line, `name` the callee as the loop names it."""

    event: int
    load: int
    turns: object
    line: int | None = None
    name: str = ""


@dataclass(frozen=True)
class LoopFacts:
    """Everything known about one `for` loop.

    `parallel` is True when the loop may run in parallel (safety only; whether it is worth
    it is the evidence layer's call). Otherwise `reasons` says why not.
    """

    line: int | None
    for_iter: int                   # index of FOR_ITER
    head: int                       # index of the label FOR_ITER is reached through
    exit: int                       # index of the exit label
    iter_insert: int                # index after which the iterator is on top of the stack
    base_depth: int                 # stack depth at the loop head (iterator included)
    parallel: bool
    reasons: tuple[Refusal, ...] = ()
    statements: tuple[Statement, ...] = ()
    inputs: tuple[str, ...] = ()    # locals the map part reads but the body never writes
    closure: tuple[str, ...] = ()   # cell/free variables the map part reads
    map_writes: tuple[str, ...] = ()
    nested_in: int | None = None    # for_iter index of an enclosing loop
    # (kind, name, chain, object) the split relied on: the local input / global / closure
    # variable `name.chain` resolved to `object`; valid for a later run only while it still does.
    guards: tuple = ()
    # Locals bound before the loop that only the in-order part changes: the runner hands their
    # values to the loop-start check, which keeps the run in order when one is an input too.
    watched: tuple[str, ...] = ()
    # (index path into the item, attribute chain) of calls the map part makes on the item
    # itself (`model.predict`): unknown until items arrive, checked per item type.
    item_calls: tuple = ()
    # (input name, attribute chain) of calls the map part makes through inputs whose
    # methods the analysis could not resolve: checked at each loop start.
    input_calls: tuple = ()
    # (expression, changes) for each outer object the iterable expression reads (`f` in
    # `enumerate(f)`) that the body also calls a method of, passes to a call or stores into
    # (`f.tell()`, `next(f)`): pulling items ahead is then visible unless the iterable only
    # walks containers the body does not change. Checked at each loop start.
    iterable_uses: tuple = ()
    # Globals the in-order part assigns or changes (`state["n"] += 1`, `global total`): a
    # generator or `__next__` reading one must not be pulled ahead.
    changed_globals: tuple = ()
    # The body stores into the dict it iterates at the current key (`for k in d: d[k] = ...`):
    # true only for a plain dict's keys, whose size such a store never changes; the runner
    # checks the iterator at each loop start.
    replaces_iterated_values: bool = False
    # The handler label of a `try` whose range encloses the whole loop, or None: the loop
    # body code must not treat that handler as its own (`LoopShape.outer_try`).
    outer_try: object = None
    # ("break" | "return", line) of each way the body leaves the loop early. Non-empty: the
    # loop runs speculatively — later iterations' work starts before an earlier iteration's
    # in-order part decides to leave, and is discarded when it does (docs/speculation.md).
    exits: tuple = ()
    # The calls that speculative work makes, for the evidence layer to judge (reads or not):
    # `speculation.ExternalCall`s: callee, line, object or None when unresolved, arguments, why listed.
    speculative_calls: tuple = ()
    # The iterable expression makes the object it iterates (`enumerate(xs)`, `zip(a, b)`),
    # so no one else holds it: pulling it ahead past an early exit is invisible when it only
    # walks containers.
    iterable_made_here: bool = False
    # Calls run through callee variants that take the turn (`TurnedCall`s).
    turned_calls: tuple = ()
    # Item indices of map statements before which the body calls `take_turn()`
    # (`xcs.analysis.split.statement_turns`).
    turn_points: tuple = ()
    # An `async for`: the runner pulls its items with awaits (`xcs.analysis.asyncfor`); the
    # loop's header in `FunctionFacts.items` is a placeholder for the original one.
    pulls_async: bool = False


@dataclass(frozen=True)
class FunctionFacts:
    """The analysis of one code object: its normalized instructions and its loops."""

    code: object
    items: tuple = ()
    loops: tuple[LoopFacts, ...] = ()
    refusal: Refusal | None = None
    # {id(placeholder item): the original items} of the `async for` loops `items` shows in
    # `for` shape (`xcs.analysis.asyncfor`): code built from `items` must put them back.
    restore: dict = field(default_factory=dict)
