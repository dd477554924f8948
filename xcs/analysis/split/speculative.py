"""For a loop that may leave early (`break`, `return`): whether its work reads the item (if
not, it is a retry or a poll and stays in order) and which calls speculative work makes,
for the evidence layer to judge (docs/speculation.md)."""
from __future__ import annotations

from dataclasses import replace

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import effects, speculation
from xcs.analysis.stack import simulate


def work_reads_item(desc, statements) -> bool:
    """True when the work (map statements, hoisted arguments) reads the loop's item: a
    loop that may leave early and whose work does not (`for attempt in range(5): r =
    get(url); if r.ok: break`) repeats one call until it succeeds — a retry or a poll,
    whose later attempts must wait for the earlier ones to fail."""
    targets = desc.target_names
    items = desc.items
    for k, st in enumerate(statements):
        ranges = [range(h.start, h.stop) for h in st.hoists]
        if k > 0 and st.kind == "map":
            ranges.append(range(st.start, st.stop))
            ranges += [range(lo, hi) for lo, hi in st.handlers]
        for span in ranges:
            if any(isinstance(items[i], Instr) and items[i].name in pyversion.LOCAL_READS
                   and items[i].arg in targets for i in span):
                return True
            if any(isinstance(items[i], Instr) and pyversion.SUPERINSTRUCTIONS.get(items[i].name)
                   and any(a in targets for a in _fused_names(items[i].arg)) for i in span):
                return True
    return False


def speculative_calls(desc, res, statements) -> tuple:
    """The calls the work of a speculative loop makes, followed into Python callees: the
    `speculation.ExternalCall` of each call of a trusted client (`requests.get`, an `@xcs.io` function) and of each callee the
    analysis cannot name. Methods of the iteration's own objects (`r.json()`) are not
    listed: the analysis already holds them to be the iteration's own."""
    items = desc.items
    targets = desc.target_names

    def resolve_value(value):
        return _speculation_resolve(desc, res, value)

    found: list = []
    for k, st in enumerate(statements):
        events = []
        if k > 0 and st.kind == "map":
            events += desc.events[k]
        for h in st.hoists:
            events += simulate(items, h.start, h.stop, 0, {})
        for e in events:
            if e.op != "call":
                continue
            line = items[e.index].lineno
            keywords = effects.call_keywords(items, e.index)
            target = e.target
            if target is None:
                found.append(speculation.ExternalCall("<a computed callee>", line, None, len(e.args) - len(keywords),
                                                      keywords, speculation.Listed.UNRESOLVED))
                continue
            if target.kind in ("call", "fresh", "const", "value", "self") or \
                    (target.kind == "local" and desc.is_body_local(target.name) and
                     target.name not in desc.aliases and target.name not in targets):
                continue
            if target.kind == "local" and target.name in targets:
                # A method of the loop's item: what it is is known only as items arrive.
                found.append(speculation.ExternalCall(target.describe(), line, None, len(e.args) - len(keywords),
                                                      keywords, speculation.Listed.UNRESOLVED))
                continue
            obj = res.resolve(target)
            if obj is None:
                found.append(speculation.ExternalCall(target.describe(), line, None, len(e.args) - len(keywords),
                                                      keywords, speculation.Listed.UNRESOLVED))
                continue
            root = res.resolve_root(target) if target.kind in ("global", "deref") else \
                resolve_value(replace(target, chain=()))
            found += speculation.external_calls(obj, target.describe(), line, e.args, keywords, desc.env,
                                                res.env_for, resolve_value,
                                                speculation.receiver_of(root, target.chain))
    return tuple(dict.fromkeys(found))


def _speculation_resolve(desc, res, value):
    """What a loop-level argument value is, for `speculation.external_calls`."""
    if value.kind in ("const", "fresh", "call", "value"):
        return speculation.OWN
    if value.kind == "local" and desc.is_body_local(value.name) and value.name not in desc.aliases:
        return speculation.UNKNOWN if value.name in desc.target_names else speculation.OWN
    obj = res.resolve(value) if value.kind != "local" or value.name in desc.env.arguments else None
    if obj is None and value.kind == "local" and not value.chain:
        try:
            obj = desc.env.lookup("local", value.name)
        except Exception:  # noqa: BLE001
            obj = None
    return speculation.UNKNOWN if obj is None else obj


def _fused_names(arg) -> tuple:
    """The local names a 3.13 fused load/store (`LOAD_FAST_LOAD_FAST`) names."""
    return tuple(a for a in arg if isinstance(a, str)) if isinstance(arg, tuple) else ()
