"""A loop's decision — run in parallel or not — and the evidence for it, as data.

`from_static` and `from_probe` turn evidence into a `Decision`; the thresholds live here. A
decision names its `Grounds` and the details they rest on (the calls found, the probe's
figures); `xcs.api.words.decision_words` says it in words, which is what `xcs.explain(fn)`
shows: "blocked 97% of 102 ms in `_socket.socket.recv_into`", "thread-affine:
`sqlite3.Connection.execute`", "CPU-bound: 0% blocked".
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from xcs.evidence.probe import ProbeResult
from xcs.evidence.static import StaticEvidence

# A probed iteration runs the rest in parallel when at least this share of its wall time was
# spent waiting, and it lasted at least MIN_WALL seconds (shorter ones do not repay a thread hop).
BLOCKED_FRACTION = 0.5
MIN_WALL = 0.001


class Grounds(enum.StrEnum):
    """What a decision rests on (the details each uses, as `Decision` fields)."""

    REQUESTED = "requested"            # `parallel=False` was requested
    ASSERTED = "asserted"              # `parallel=True`: the caller asserts it pays
    THREAD_AFFINE = "thread-affine"    # thread-affine calls were found (`calls`)
    AFFINE_INPUT = "affine-input"      # the input `subject` is a thread-affine `type_name`
    AFFINE_ITEMS = "affine-items"      # the loop's items are thread-affine `type_name`s
    ORDERED = "ordered"                # ordered output in the map part (`calls`)
    BLOCKING = "blocking"              # the code calls known blocking functions (`calls`)
    BLOCKED = "blocked"                # the probe: `blocked` of `wall`, most in `subject`
    CPU_BOUND = "cpu-bound"            # the probe: blocked less than BLOCKED_FRACTION of `wall`
    TOO_SHORT = "too-short"            # the probe: an iteration shorter than MIN_WALL
    INTERNAL = "internal"              # XCS failed while deciding (`error`)


@dataclass(frozen=True)
class Decision:
    """`parallel` says whether the loop's remaining iterations (and later calls) run on the
    pool; `grounds` why; `source` is "static", "probe", "argument", "policy" or "internal".
    Details, as the grounds use them: `calls` ((name, via or None), ...) the calls found, in
    the order found; `subject` an input's name, or where the probe was blocked most;
    `type_name` a thread-affine type; `blocked` the probe's blocked share of `wall` seconds;
    `error` what failed, for INTERNAL."""

    parallel: bool
    grounds: Grounds
    source: str
    calls: tuple = ()
    subject: str = ""
    type_name: str = ""
    blocked: float = 0.0
    wall: float = 0.0
    error: str = ""


# Output the runtime captures on a worker and replays in iteration order (`xcs.runtime.capture`):
# in the map part it is no reason to stay sequential. The analysis has already kept in order
# what would reorder it (a `print(..., file=f)` to another file, output after in-order output).
def captured(name: str) -> bool:
    """True for a callable whose output the runtime captures and replays in order."""
    return name == "builtins.print" or name.startswith("logging.")


def from_static(evidence: StaticEvidence) -> Decision | None:
    """Sequential if anything thread-affine or ordered (and not captured) was found, parallel
    if something blocking was, None (probe it) when the code shows neither."""
    if evidence.thread_affine:
        return Decision(False, Grounds.THREAD_AFFINE, "static", _calls(evidence.thread_affine))
    ordered = tuple(f for f in evidence.ordered if not captured(f.name))
    if ordered:
        return Decision(False, Grounds.ORDERED, "static", _calls(ordered))
    if evidence.blocking:
        return Decision(True, Grounds.BLOCKING, "static", _calls(evidence.blocking))
    return None


def from_probe(result: ProbeResult) -> Decision:
    """The decision for a loop whose first iteration was measured as `result`."""
    if result.thread_affine:
        return Decision(False, Grounds.THREAD_AFFINE, "probe", tuple((n, None) for n in result.thread_affine))
    ordered = tuple(n for n in result.ordered if not captured(n))
    if ordered:
        return Decision(False, Grounds.ORDERED, "probe", tuple((n, None) for n in ordered))
    figures = dict(blocked=result.blocked_fraction, wall=result.wall)
    if result.blocked_fraction < BLOCKED_FRACTION:
        return Decision(False, Grounds.CPU_BOUND, "probe", **figures)
    if result.wall < MIN_WALL:
        return Decision(False, Grounds.TOO_SHORT, "probe", **figures)
    return Decision(True, Grounds.BLOCKED, "probe", subject=result.top or "", **figures)


def _calls(findings) -> tuple:
    return tuple((f.name, f.via) for f in findings)
