"""Where each map variable travels: slots of the tuple a loop body returns.

The body returns `(None, stage, error, <snapshots>..., <skip flags>..., <hoisted values>...)`.
Slot 0 is the error slot of the runtime protocol (the runtime fills it when the iterable
itself fails). The body catches its own exception and returns it in `error`, with `stage`
naming the map statement or hoisted argument that raised (-1 when none did), so the commit
loop can raise it exactly where sequential code would have. A snapshot is a map variable's
value right after the map statement that assigned it, so the commit loop can re-assign it
at that statement's place.
"""
from __future__ import annotations

from dataclasses import dataclass


class Unset:
    """Marks a variable the iteration did not assign: the commit loop leaves it as it was."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<xcs unset>"

    def __reduce__(self):
        return (Unset, ())


UNSET = Unset()


class Deleted:
    """Marks a variable the iteration deleted (`del v`, or the end of `except E as v`)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<xcs deleted>"

    def __reduce__(self):
        return (Deleted, ())


DELETED = Deleted()


@dataclass(frozen=True)
class Slot:
    """One value of the returned tuple: `local` in the body, restored as `restores` (or a flag/temp)."""

    index: int
    local: str
    restores: str | None = None


@dataclass(frozen=True)
class Layout:
    """Slots of one loop body's result tuple."""

    snapshots: dict      # statement number -> tuple[Slot, ...]
    skip_flags: dict     # statement number -> Slot
    hoists: dict         # hoist temp name -> Slot
    size: int
    stages: dict = None  # statement number or hoist temp name -> stage number
    # statement number -> earlier snapshot slots of the same variables that nothing reads
    # any more once it has run (only map statements lie between): the body clears them.
    dead_after: dict = None

    STAGE = 1
    ERROR = 2
    NO_STAGE = -1

    @classmethod
    def of(cls, loop) -> "Layout":
        index = 3
        snapshots, skip_flags, hoists = {}, {}, {}
        for k, st in enumerate(loop.statements):
            if st.kind != "map":
                continue
            slots = []
            for name in st.writes:
                slots.append(Slot(index, f"__xcs_s{k}_{name}", name))
                index += 1
            snapshots[k] = tuple(slots)
        for k, st in enumerate(loop.statements):
            if st.kind == "map" and st.skips:
                skip_flags[k] = Slot(index, f"__xcs_skip{k}")
                index += 1
        for st in loop.statements:
            for h in st.hoists:
                hoists[h.temp] = Slot(index, h.temp)
                index += 1
        stages: dict = {}
        for k, st in enumerate(loop.statements):
            if st.kind == "map":
                stages[k] = len(stages)
            for h in st.hoists:
                stages[h.temp] = len(stages)
        return cls(snapshots, skip_flags, hoists, index, stages, _dead_after(loop, snapshots))


def _dead_after(loop, snapshots) -> dict:
    """For each map statement, the earlier snapshots it supersedes: same variable, and only
    map statements that cannot `continue` in between (no commit statement can read the old
    value or stop the iteration there)."""
    dead: dict = {}
    last: dict = {}      # variable -> (statement number, slot) of its latest snapshot
    for k, st in enumerate(loop.statements):
        if st.kind != "map":
            last.clear()
            continue
        for slot in snapshots.get(k, ()):
            previous = last.get(slot.restores)
            if previous is not None:
                dead.setdefault(k, []).append(previous)
        if st.skips:
            last.clear()
        else:
            for slot in snapshots.get(k, ()):
                last[slot.restores] = slot
    return {k: tuple(v) for k, v in dead.items()}
