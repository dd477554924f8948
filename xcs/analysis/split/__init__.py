"""Split a loop body into a parallel map part and an in-order commit part.

A statement is *map* when it only computes iteration-local values (it may call anything,
including blocking I/O, and may `continue`); it is *commit* when it touches state other
iterations can see: outer objects, carried variables, globals, ordered output. Argument
expressions of commit statements that only read map values are hoisted into the map part
(`results.append(fetch(x))` fetches in parallel and appends in order).

The analysis is a pipeline of passes over a frozen description of the loop; each pass takes
the description and the results of earlier passes and returns a frozen result of its own.
`LoopAnalysis.facts()` runs them in this order, stopping at the first that refuses:

  pass (module)                   reads                            returns
  1. describe (description)       flow, loop, env, code            LoopDescription: statements
                                                                   (`raw`), their `events`,
                                                                   body writes, aliases; or the
                                                                   refusals control-flow / target
                                                                   / late-binding / statements'
  2. loop_refusals (refusals)     description                      LoopRefusals: iterable-mutated
                                                                   /-used, captured-outside,
                                                                   frame-introspection, paced,
                                                                   lifetime; replaces_iterated_values
  3. definite assignment (flow)   description                      defined: item -> locals surely set
  4. classify (classify)          description                      Classification: kind and reason
                                                                   per statement alone (rules in
                                                                   `effect`), output/changing marks
  5. propagate (propagate)        description, 3, 4                Split: final kinds and reasons
                                                                   (rules in `dependencies`), what
                                                                   the in-order part mutates and
                                                                   assigns (`changes`)
  6. hoist (hoist)                description, 4, 5                Hoisting: `Statement`s with their
                                                                   hoists (geometry in `spans`),
                                                                   notes, marks grown by its checks
  7. finish (this module)         all of the above                 LoopFacts: no-parallel-work,
                                                                   unbound-input (`inputs`), retry
                                                                   and speculative calls
                                                                   (`speculative`), guards,
                                                                   watched/item/input calls,
                                                                   iterable uses (`iteration`)

Facts about the whole function (assignment counts, imports inside it, objects it constructs
once, definite assignment from its entry) are computed once per function and shared by all
its loops (`scope`). Names resolve through a `resolve.Resolver` per pass; each resolution the
split relies on is a guard the runner re-checks at each loop start, returned by the pass
that made it and joined here (those of `iteration.iterable_uses`, which decide nothing of
the split, excepted).

Where the state of the former single class (`split.py`, `LoopAnalysis` with ~120 methods
sharing attributes on self) went:

  raw, events, body_writes, statement_of, aliases    LoopDescription fields (built by describe)
  _target_names/_paths, _shared_cells, _body_handlers LoopDescription cached properties
  _assignment_counts, _imported, _constructed,       scope (in `shared`, once per function)
    the "defined" of _inputs
  guards (filled by _resolve and _constructed)       Resolver per pass, `guards` of each result
  replaces_iterated_values                           LoopRefusals
  defined                                            the driver, handed to propagate
  _output_events, _changing_events (filled by        effect.Marks: Classification.output/changing,
    _event_reason)                                     grown by hoist in its own copy (Hoisting)
  _initial_reasons, kinds, _mutated_index,           propagate's own state while it runs; then
    _first_commit_read, commit_fast, commit_names,     Split.kinds/.reasons/.mutated and the
    mutated                                            InOrder view Split.state
  _at_loop                                           Inputs.at_loop

and its methods, by the module that now holds them: description (_instrs, _writes, _reads,
_read_chain, _events, _check_target, _outer_aliases, _canonical, _is_outer, _is_target,
_per_iteration, _may_be_shared), resolve (_resolve, _resolve_root, _held, _receiver,
_is_bound_method, _module_path, _env_for, _callee_env_for), effect (_commit_reason,
_event_reason, _enter_reason, _callee_effects, _made_function_effects, _function_arguments_effects,
_thread_local_load, _reports_its_failure, _opens_for_writing), changes (_synchronizes,
_mutated_receivers, _commit_writes, _call_may_change_arguments, _outermost), dependencies
(_dependency_reason, _read_reason, _callee_reads_reason, _conflict, _changes_commit_read,
may_output_in_order), refusals (_loop_refusals, _pacing_sleep, _awaited_pause,
_observes_lifetimes), iteration (_iterated_view, _iterated_object, _iterable_uses,
_replaces_current_value, _iterable_made_here, _changed_globals), classify (_classify's first
half, _is_end), hoist (_statements, _hoists, _hoist, _hoist_refusal, _hoist_output_order,
_last_stage_in_try), spans (_operand_spans, _slot_spans, _sub_spans, _self_contained,
cleanup_block, ...), inputs (_inputs, _watched, _item_calls, _input_calls), speculative
(_speculative_calls, _work_reads_item).
"""
from __future__ import annotations

from xcs.analysis import effects
from xcs.analysis.facts import LoopFacts
from xcs.analysis.flow import Flow, definitely_assigned
from xcs.analysis.loops import LoopShape
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import (classify, dependencies, description, hoist, inputs, iteration, propagate, refusals,
                                speculative, turned)
from xcs.analysis.split.description import TARGET_OPS, LoopDescription
from xcs.analysis.split.hoist import AWAIT_OPS, BRANCH_OPS, PURE_OPS
from xcs.analysis.split.resolve import Resolver
from xcs.analysis.split.spans import statement_calls
from xcs.analysis.stack import simulate
from xcs.analysis import with_blocks

__all__ = ["LoopAnalysis", "LoopDescription", "TARGET_OPS", "PURE_OPS", "AWAIT_OPS", "BRANCH_OPS"]


class LoopAnalysis:
    """The driver: runs the passes over one loop; `facts()` gives the immutable result."""

    def __init__(self, flow: Flow, loop: LoopShape, env: effects.Environment, code, shared: dict | None = None):
        self.flow, self.loop, self.env, self.code = flow, loop, env, code
        # Facts about the whole function, shared by the analyses of all its loops (one scan
        # of the function per loop made a function with many loops quadratic).
        self.shared = {} if shared is None else shared
        self.base = flow.depth.get(loop.for_iter)
        self.line = flow.items[loop.for_iter].lineno

    def facts(self) -> LoopFacts:
        loop = self.loop
        common = dict(line=self.line, for_iter=loop.for_iter, head=loop.head, exit=loop.exit,
                      iter_insert=loop.iter_insert, base_depth=self.base or 0, outer_try=loop.outer_try)
        desc, refused = description.describe(self.flow, loop, self.env, self.code, self.shared,
                                             self._whole_function_events)
        if refused:
            return LoopFacts(parallel=False, reasons=tuple(refused), **common)
        loop_wide = refusals.loop_refusals(desc)
        if loop_wide.refusals:
            return LoopFacts(parallel=False, reasons=loop_wide.refusals, **common)
        defined = definitely_assigned(self.flow, self.flow.next_instr(loop.for_iter + 1), frozenset(),
                                      stop_at={loop.for_iter}, nodes=desc.body_nodes())
        classification, split, hoisting, turned_calls = self._split(desc, defined, True)
        if turned_calls is None:   # the obligation failed: no turns at all
            classification, split, hoisting, turned_calls = self._split(desc, defined, False)
        else:
            # Statements still in order whose work hoisting could not take out (a retry loop
            # around a model call and a file append): run them with turns inside, if that holds.
            candidates = _turnable(desc, frozenset(
                k for k, st in enumerate(hoisting.statements)
                if k and st.kind == "commit" and not st.hoists and not st.exits and
                any(e.op == "call" for e in desc.events[k])))
            if candidates:
                tried = self._split(desc, defined, True, candidates)
                if tried[3] is not None and tried[3].points:
                    classification, split, hoisting, turned_calls = tried
        statements = hoisting.statements
        has_work = any(s.kind == "map" and k > 0 and statement_calls(desc, s) for k, s in enumerate(statements)) or \
            any(s.hoists for s in statements)
        notes = hoisting.notes + with_blocks.notes(desc, Resolver(desc), split.kinds)
        all_reasons = tuple(dict.fromkeys(notes + tuple(r for s in statements for r in s.reasons)))
        if not has_work:
            why = (Refusal("no-parallel-work", self.line, "no call outside the in-order part"),) + _staying(all_reasons)
            return LoopFacts(parallel=False, reasons=why, statements=statements, **common)
        found = inputs.inputs(desc, statements)
        if found.unbound:
            return LoopFacts(parallel=False, reasons=found.unbound, statements=statements, **common)
        map_writes = tuple(sorted({w for s in statements if s.kind == "map" for w in s.writes}))
        exits = tuple(x for s in desc.raw for x in s.exits)
        if exits and not speculative.work_reads_item(desc, statements):
            why = (Refusal("retry", exits[0][1], exits[0][0]),) + _staying(all_reasons)
            return LoopFacts(parallel=False, reasons=why, statements=statements, **common)
        res = Resolver(desc)
        ahead = dict(exits=exits, speculative_calls=speculative.speculative_calls(desc, res, statements),
                     iterable_made_here=iteration.iterable_made_here(desc, res)) if exits else {}
        resolved: dict = {}
        for part in (loop_wide.guards, classification.guards, split.guards, hoisting.guards, res.guards()):
            resolved.update(part)
        guards = tuple((kind, name, chain, obj)
                       for (kind, name, chain), obj in sorted(resolved.items(), key=lambda g: g[0])
                       if (kind == "local" and name in found.inputs) or (kind == "deref" and name in found.closure)
                       or kind == "global")
        return LoopFacts(parallel=True, reasons=all_reasons, statements=statements, inputs=found.inputs,
                         closure=found.closure, map_writes=map_writes, guards=guards,
                         watched=inputs.watched(desc, found, split.mutated),
                         item_calls=inputs.item_calls(desc, statements),
                         input_calls=inputs.input_calls(desc, statements, found.inputs, resolved,
                                                        turned_calls.covered),
                         iterable_uses=iteration.iterable_uses(desc),
                         changed_globals=iteration.changed_globals(desc, split.kinds, split.mutated),
                         replaces_iterated_values=loop_wide.replaces_iterated_values,
                         turned_calls=turned_calls.calls, turn_points=turned_calls.points, **ahead, **common)

    def with_moves(self) -> list:
        """The `with_blocks.Move`s of this loop's `with` statements over known responses."""
        desc, refused = description.describe(self.flow, self.loop, self.env, self.code, self.shared,
                                             self._whole_function_events)
        return [] if refused else with_blocks.moves(desc, Resolver(desc))

    def _whole_function_events(self):
        """The events of the whole function (`scope.constructed`), simulated once per function."""
        items = self.flow.items
        return simulate(items, 0, len(items), 0, effects.handler_depths(items))

    def _split(self, desc, defined, turns: bool, statement_turns: frozenset = frozenset()):
        """Passes 4 to 6 and the turns' obligation: (`Classification`, `Split`, `Hoisting`,
        `turned.Turned` or None when the obligation fails)."""
        classification, split = self._classify(desc, defined, turns, statement_turns)
        hoisting = hoist.hoist(desc, split, classification)
        return classification, split, hoisting, _turned_calls(desc, hoisting.statements, classification)

    def _classify(self, desc, defined, turns: bool = True, statement_turns: frozenset = frozenset()):
        """Passes 4 and 5: (`Classification`, `Split`)."""
        classification = classify.classify(desc, turns, statement_turns)
        split = propagate.propagate(desc, classification, defined,
                                    examine=lambda *args: self._dependency_reason(desc, *args))
        return classification, split

    def _dependency_reason(self, desc, res, k, s, kinds, commit_fast, commit_names, skipped, state):
        """`dependencies.dependency_reason`: one examination of one statement by `propagate`
        (a method, so that the number of examinations can be counted)."""
        return dependencies.dependency_reason(desc, res, k, s, kinds, commit_fast, commit_names, skipped, state)


def _turnable(desc, candidates: frozenset) -> frozenset:
    """The statements of `candidates` that could take the turn inside (checked alone)."""
    if not candidates:
        return candidates
    from xcs.analysis.split.effect import Marks
    from xcs.analysis.split.statement_turns import statement_turns

    res = Resolver(desc)
    return frozenset(k for k in candidates
                     if statement_turns(desc, res, k, desc.raw[k], desc.events[k], Marks()) is not None)


def _turned_calls(desc, statements, classification) -> tuple | None:
    """`turned.check`, with an error in it read as a failed obligation (no turns)."""
    if not classification.turns and not classification.statement_turns:
        return turned.Turned((), ())
    try:
        return turned.check(desc, Resolver(desc), statements, classification.turns, classification.statement_turns)
    except Exception:  # noqa: BLE001 - not proven: the split without turns stands
        return None


def _staying(reasons: tuple) -> tuple:
    """The reasons of a loop that stays sequential: without the notes on statements that
    leave it ("later iterations' work starts speculatively" — nothing does)."""
    return tuple(r for r in reasons if r.kind != "commit:exit")
