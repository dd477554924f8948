"""Pass: the fixpoint of the map/commit split. Map statements that depend on the in-order
part become in-order too, until none does; then what the in-order part changes.

The rule: in passes over the body until a pass changes nothing, each map statement is
examined (`dependencies.dependency_reason`) against the commit statements' writes and
mutated objects as they were when the pass started, the commit reads of earlier statements
as they are (including those turned in-order earlier in the same pass), and the first
earlier commit statement that may skip the rest of the iteration or synchronize.
Re-examining every statement in every pass costs passes x statements, and a chain
`b = a + 1; c = b + 1; ...` hanging off one in-order statement takes one pass per link:
quadratic in the body's length. `propagate` reaches the same kinds and the same reasons,
examining a statement again only when something it looks at has changed.
"""
from __future__ import annotations

import bisect
import heapq
import types
from dataclasses import dataclass

from xcs import pyversion
from xcs.analysis.refusal import Refusal
from xcs.analysis.split.changes import by_object, commit_writes, mutated_receivers, synchronizes
from xcs.analysis.split.dependencies import InOrder, dependency_reason, may_output_in_order, outputs
from xcs.analysis.split.resolve import Resolver


@dataclass(frozen=True)
class Split:
    """The map/commit split: final `kinds` and `reasons` per statement, and what the
    in-order part changes (`state`: an `InOrder` view with the final writes and mutations)."""

    kinds: tuple
    reasons: tuple
    mutated: tuple
    state: InOrder
    guards: types.MappingProxyType


def propagate(desc, classification, defined, examine=None) -> Split:
    """Turn map statements in-order while one depends on the in-order part; the same
    result as the pass-by-pass rule above. `examine(res, k, s, kinds, commit_fast,
    commit_names, skipped, state)` judges one statement (`dependency_reason` by default)."""
    if examine is None:
        def examine(*args):
            return dependency_reason(desc, *args)
    res = Resolver(desc)
    kinds, reasons = list(classification.kinds), list(classification.reasons)
    raw = desc.raw
    n = len(raw)
    watchers: dict = {}   # key -> the statements examining it, in order
    commit_fast, commit_names = set(), set()
    mutated_index: dict = {}
    first_commit_read: dict = {}
    state = InOrder(kinds=kinds, initial_reasons=classification.reasons, commit_fast=commit_fast,
                    commit_names=commit_names, mutated_index=mutated_index, first_commit_read=first_commit_read,
                    output=classification.output, changing=classification.changing, defined=defined)
    for k in range(1, n):
        if kinds[k] == "map":
            for key in _keys(desc, k, state):
                watchers.setdefault(key, []).append(k)
    skip_reasons: dict = {}

    def skip_reason(j):
        if j not in skip_reasons:
            s = raw[j]
            skip_reasons[j] = (Refusal("after-exit", s.line, s.exits[0][0]) if s.exits else None) or \
                (Refusal("after-skip", s.line, "") if s.skips else None) or \
                synchronizes(desc, res, j, classification.changing)
        return skip_reasons[j]

    def join(commits) -> set:
        """Commit statements `commits` join the state a pass starts from; returns the keys
        whose state changed."""
        changed = set()
        for j in commits:
            s = raw[j]
            for name in desc.writes(s):
                if name not in commit_fast:
                    commit_fast.add(name)
                    changed.add(("fast", name))
            for _, ins in desc.instrs(s):
                if ins.name in ("STORE_DEREF", "STORE_GLOBAL", "DELETE_DEREF", "DELETE_GLOBAL"):
                    name = pyversion.deref_name(ins.arg)
                    if name not in commit_names:
                        commit_names.add(name)
                        changed.add(("name", name))
            for entry in mutated_receivers(desc, res, kinds, (j,)):
                mutated_index.setdefault(entry[:2], []).append(entry)
                changed.add(("mut",) + entry[:2])
        if changed or commits:
            changed.add(("callee",))   # what callees read is checked against everything in order
        if any(may_output_in_order(desc, j, kinds, state) for j in commits):
            changed.add(("output",))   # captured output must not follow in-order output
        return changed

    def note_reads(j, heap=None, queued=None):
        """Commit statement j's reads, seen at once by the statements after it (queued on
        `heap` when they were already examined in this pass)."""
        first = first_commit_read
        for _, name, kind in desc.reads(raw[j]):
            if kind != "fast" or first.get(name, n) <= j:
                continue
            old = first.get(name, n)
            first[name] = j
            if heap is None:
                continue
            # Statements in (j, old] now see `name` read before them; those after `old` did already.
            ks = watchers.get(("read", name), ())
            for k in ks[bisect.bisect_right(ks, j):bisect.bisect_right(ks, old)]:
                if k not in queued:
                    queued.add(k)
                    heapq.heappush(heap, k)

    initial = [j for j in range(1, n) if kinds[j] == "commit"]
    join(initial)
    for j in initial:
        note_reads(j)   # nothing to queue: the first pass examines every statement
    first_skip = next((j for j in initial if skip_reason(j)), n)
    todo = [k for k in range(1, n) if kinds[k] == "map"]
    while todo:
        heap = list(todo)
        heapq.heapify(heap)
        queued = set(todo)
        flipped = []
        while heap:
            k = heapq.heappop(heap)
            if kinds[k] != "map":
                continue
            skipped = skip_reason(first_skip) if first_skip < k else False
            reason = examine(res, k, raw[k], kinds, commit_fast, commit_names, skipped, state)
            if reason is not None:
                kinds[k], reasons[k] = "commit", reason
                flipped.append(k)
                note_reads(k, heap, queued)
        dirty = {k for key in join(flipped) for k in watchers.get(key, ())}
        earlier = next((j for j in flipped if j < first_skip and skip_reason(j)), None)  # flipped is in order
        if earlier is not None:
            dirty.update(range(earlier + 1, first_skip + 1))   # later ones are all in order already
            first_skip = earlier
        todo = sorted(k for k in dirty if k < n and kinds[k] == "map")
    # What the in-order part changes, as the passes after the split read it.
    mutated = mutated_receivers(desc, res, kinds)
    final_fast, final_names = commit_writes(desc, kinds)
    final = InOrder(kinds=tuple(kinds), initial_reasons=classification.reasons, commit_fast=frozenset(final_fast),
                    commit_names=frozenset(final_names), mutated_index=by_object(mutated),
                    first_commit_read=dict(first_commit_read), output=classification.output,
                    changing=classification.changing, defined=defined)
    return Split(tuple(kinds), tuple(reasons), tuple(mutated), final, res.guards())


def _keys(desc, k: int, state: InOrder) -> set:
    """What `dependency_reason` looks at for statement k, besides the skipping statement."""
    keys = set()
    for i, name, kind in desc.reads(desc.raw[k]):
        ckind, cname, _ = desc.canonical({"fast": "local"}.get(kind, kind), name, desc.read_chain(i))
        keys.add(("mut", ckind, cname))
        keys.add(("fast", name) if kind == "fast" else ("name", name))
    if any(e.op == "call" for e in desc.events[k]):
        keys.add(("callee",))
    if outputs(desc, k, state):
        keys.add(("output",))
    for e in desc.events[k]:
        for value in e.args:
            if getattr(value, "kind", None) == "local":
                keys.add(("read", value.name))
        if e.target is not None and e.target.kind == "local":
            keys.add(("read", e.target.name))
    return keys
