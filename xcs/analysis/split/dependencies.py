"""Whether a statement (or a hoisted expression) depends on the in-order part: it reads
what in-order statements assign or change, a callee of it reads such shared state, it
changes what an earlier in-order statement reads, or its captured output would come
before in-order output. The rules read an `InOrder` view of the in-order part."""
from __future__ import annotations

import types
from dataclasses import dataclass, replace

from xcs.analysis import effects, knowledge
from xcs.analysis.refusal import Refusal
from xcs.analysis.split.changes import call_may_change_arguments, synchronizes
from xcs.analysis.stack import Event, render, up_to_any_key

# In-order statements that may write output (print, logging, a callee XCS cannot see into).
OUTPUT_KINDS = frozenset({"commit:ordered", "commit:ordered-callee", "commit:unknown-call", "commit:instruction",
                          "commit:thread-bound", "commit:outer-call"})


@dataclass(frozen=True)
class InOrder:
    """What the in-order part is known to do when a statement is examined.

    `kinds` per statement; `initial_reasons` the first reasons of classification;
    `commit_fast`/`commit_names` the locals and cell/global names in-order statements assign;
    `mutated_index` (kind, name) -> the `changes.mutated_receivers` entries; `first_commit_read`
    local -> the first in-order statement reading it; `output`/`changing` the event marks
    (`effect.Marks`); `defined` the body's definite assignments. The containers belong to the
    pass that builds the view (`propagate` grows its own while it runs); rules only read them."""

    kinds: list
    initial_reasons: tuple
    commit_fast: set
    commit_names: set
    mutated_index: dict
    first_commit_read: dict
    output: set
    changing: set
    defined: dict

    def mutations(self):
        """Every (kind, name, chain, statement) the in-order part changes, as known so far."""
        for entries in self.mutated_index.values():
            yield from entries


def outputs(desc, k: int, state: InOrder) -> bool:
    """True when statement k calls something whose output the runtime captures."""
    return any(e.index in state.output for e in desc.events[k])


def may_output_in_order(desc, j: int, kinds, state: InOrder) -> bool:
    """True when in-order statement j may write output of its own."""
    if kinds[j] != "commit":
        return False
    reason = state.initial_reasons[j] if j < len(state.initial_reasons) else None
    return (reason is not None and reason.kind in OUTPUT_KINDS) or outputs(desc, j, state)


def _output_order_reason(desc, k: int, kinds, state: InOrder) -> Refusal | None:
    """Captured output is replayed before the iteration's in-order part runs: a statement
    whose callees print may run on a worker only if no earlier in-order statement of the
    iteration may print before it."""
    if not outputs(desc, k, state):
        return None
    for j in range(1, k):
        if may_output_in_order(desc, j, kinds, state):
            return Refusal("commit:output-order", desc.raw[k].line, desc.raw[j].line)
    return None


def dependency_reason(desc, res, k, s, kinds, commit_fast, commit_names, skipped, state: InOrder) -> Refusal | None:
    """Why map statement k must run in order after all, or None. `skipped`: the reason of
    an earlier in-order statement that may skip the rest of the iteration, or False."""
    if skipped:
        return replace(skipped, line=s.line)
    found = _output_order_reason(desc, k, kinds, state)
    if found:
        return found
    return read_reason(desc, desc.reads(s), commit_fast, commit_names, state) or \
        _changes_commit_read(desc, res, k, state) or \
        callee_reads_reason(desc, res, desc.events[k], kinds, state, commit_names, commit_fast)


def callee_reads_reason(desc, res, events, kinds, state: InOrder, commit_names=None,
                        commit_fast=None) -> Refusal | None:
    """A refusal when a call in `events` reads — itself or in the functions it calls —
    shared state that the in-order part changes (a global set the loop adds to, `self.count`
    the loop increments, a file an earlier iteration writes): on a worker it would run
    before the earlier iterations' in-order parts."""
    commit_names = state.commit_names if commit_names is None else commit_names
    commit_fast = state.commit_fast if commit_fast is None else commit_fast
    if not any(kinds[j] == "commit" for j in range(len(desc.raw))):
        return None
    fs_changed = any(kinds[j] == "commit" and synchronizes(desc, res, j, state.changing) is not None
                     for j in range(len(desc.raw)))
    for e in events:
        if e.op != "call" or e.target is None:
            continue
        line = desc.items[e.index].lineno
        obj = res.resolve(e.target)
        name = effects.qualified_name_or_empty(obj) if obj is not None else ""
        method = e.target.chain[-1] if e.target.chain else None
        if fs_changed and ((name and (name in effects.FILESYSTEM_READING or
                                      knowledge._lookup(effects.FILESYSTEM_READING, name)))
                           or method in effects.PATH_READING_METHODS):
            return Refusal("commit-read", line, f"the file system, through {e.target.describe()}()")
        if isinstance(obj, types.MethodType):
            obj = obj.__func__
        if not isinstance(obj, types.FunctionType) or desc.env.is_trusted(obj):
            if obj is None and e.target.kind == "local" and not e.target.chain and \
                    not desc.is_body_local(e.target.name) and _commit_changes_cells(desc, commit_names, state):
                return Refusal("commit-read", line, f"closure variables, through {e.target.name}()")
            continue
        try:
            reads = effects.shared_reads(obj, res.callee_env_for(e.target, obj))
        except Exception:  # noqa: BLE001 - not understood: it may read anything
            reads = frozenset({effects.Read("any")})
        found = _conflict(desc, res, reads, e, fs_changed, commit_names, commit_fast, state)
        if found:
            return Refusal("commit-read", line, f"{found}, through {e.target.describe()}()")
    return None


def _commit_changes_cells(desc, commit_names, state: InOrder) -> bool:
    return bool(commit_names & (desc.cellvars | set(desc.code.co_freevars))) or \
        any(m[0] == "deref" for m in state.mutations())


def _conflict(desc, res, reads, e: Event, fs_changed: bool, commit_names, commit_fast, state: InOrder) -> str | None:
    """What of `reads` (a callee's, for the call event `e`) the in-order part changes, or None."""
    # A method called through its class (`Cls.method(x)`) has no receiver among the arguments.
    bound = res.is_bound_method(e.target)
    passed = ([effects.receiver_of(e.target)] if bound else []) + list(e.args)
    for r in reads:
        if r.kind == "any":
            if commit_names or any(True for _ in state.mutations()):
                return "what the in-order part changes (the callee is not seen to the bottom)"
        elif r.kind == "fs":
            if fs_changed:
                return "the file system, which the in-order part changes"
        elif r.kind == "global":
            gid, name = r.key
            if gid == id(desc.env.globals) and (name in commit_names or
                                                 any(m[0] == "global" and m[1] == name for m in state.mutations())):
                return f"`{name}`"
        elif r.kind == "cell":
            if r.key in commit_names or any(m[0] == "deref" and m[1] == r.key for m in state.mutations()):
                return f"`{r.key}`"
        elif r.kind == "param" and r.key < len(passed):
            value = passed[r.key]
            if value.kind not in ("local", "global", "deref"):
                continue
            if value.kind == "local" and desc.per_iteration(value.name) and value.name not in desc.aliases:
                continue
            if value.kind == "local" and value.name in commit_fast:
                return f"`{value.name}`"
            chain = value.chain + ((r.attr,) if r.attr else ())
            kind, name, chain = desc.canonical(value.kind, value.name, chain)
            chain = up_to_any_key(chain)
            for mkind, mname, mchain, _ in state.mutations():
                if mkind == kind and mname == name:
                    n = min(len(chain), len(mchain))
                    if chain[:n] == mchain[:n]:
                        return f"`{render(name, chain)}`"
            if kind in ("global", "deref") and not chain and name in commit_names:
                return f"`{name}`"
    return None


def _changes_commit_read(desc, res, k: int, state: InOrder) -> Refusal | None:
    """A map statement that changes an object an earlier commit statement of the same
    iteration reads (`print(data); data.sort()`): on a worker it would change it first."""
    first_read = state.first_commit_read   # local -> first commit statement reading it (`propagate`)

    def read_before(name):
        return first_read.get(name, k) < k

    if not first_read or min(first_read.values()) >= k:
        return None
    for e in desc.events[k]:
        if e.op == "call" and any(a.kind == "local" and read_before(a.name) for a in e.args) and \
                call_may_change_arguments(desc, res, e):
            name = next(a.name for a in e.args if a.kind == "local" and read_before(a.name))
            return Refusal("changes-commit-read", desc.items[e.index].lineno, name)
        root = e.target
        if root is None or root.kind != "local" or not read_before(root.name):
            continue
        changes = e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr") or \
            (e.op == "inplace" and root.chain) or \
            (e.op == "call" and root.chain and root.chain[-1] in effects.MUTATORS)
        if changes:
            return Refusal("changes-commit-read", desc.items[e.index].lineno, root.name)
    return None


def _reads_mutated(desc, i: int, name: str, kind: str, state: InOrder) -> bool:
    """True when the read at items[i] may see an object a commit statement changes: any
    commit for shared objects; for the iteration's own objects, a commit before it."""
    kind, name, chain = desc.canonical({"fast": "local"}.get(kind, kind), name, desc.read_chain(i))
    chain = up_to_any_key(chain)
    at = desc.statement_of.get(i)
    own = kind == "local" and desc.per_iteration(name)
    for _, _, mchain, k in state.mutated_index.get((kind, name), ()):
        if own and at is not None and k >= at:
            continue   # this iteration's object, changed only after the read
        n = min(len(chain), len(mchain))
        if chain[:n] == mchain[:n]:
            return True
    return False


def read_reason(desc, reads, commit_fast, commit_names, state: InOrder) -> Refusal | None:
    """Why the variable reads `reads` ((index, name, kind)) see the in-order part, or None."""
    for i, name, kind in reads:
        line = desc.items[i].lineno
        if _reads_mutated(desc, i, name, kind, state):
            # The loop target is never rebound by the in-order part (that is a
            # `commit-read` below); what may change is the item object it names, passed to
            # an in-order call that may change its arguments (`log_item(x)`).
            kind_of = "item-changed" if kind == "fast" and name in desc.target_names else "commit-read"
            return Refusal(kind_of, line, render(name, desc.read_chain(i)))
        if kind == "fast":
            if name in commit_fast:
                return Refusal("commit-read", line, name)
            if name in desc.body_writes and name not in state.defined.get(i, frozenset()):
                return Refusal("carried", line, name)
        elif name in commit_names:
            return Refusal("commit-read", line, name)
    return None
