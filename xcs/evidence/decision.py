"""A loop's decision — run in parallel or not — and the evidence for it, in words.

`from_static` and `from_probe` turn evidence into a `Decision`; the thresholds live here.
`str(decision)` is what `xcs.explain(fn)` shows: "blocked 97% of 102 ms in
`_socket.socket.recv_into`", "thread-affine: `sqlite3.Connection.execute`", "CPU-bound: 0% blocked".
"""
from __future__ import annotations

from dataclasses import dataclass

from xcs.evidence.probe import ProbeResult
from xcs.evidence.static import StaticEvidence

# A probed iteration runs the rest in parallel when at least this share of its wall time was
# spent waiting, and it lasted at least MIN_WALL seconds (shorter ones do not repay a thread hop).
BLOCKED_FRACTION = 0.5
MIN_WALL = 0.001


@dataclass(frozen=True)
class Decision:
    """`parallel` says whether the loop's remaining iterations (and later calls) run on the
    pool; `reason` says why, in words; `source` is "static", "probe", "argument" or "policy"."""

    parallel: bool
    reason: str
    source: str

    def __str__(self) -> str:
        return self.reason


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
        return Decision(False, "thread-affine: " + _listed(evidence.thread_affine), "static")
    ordered = tuple(f for f in evidence.ordered if not captured(f.name))
    if ordered:
        return Decision(False, "ordered output in the map part: " + _listed(ordered), "static")
    if evidence.blocking:
        return Decision(True, "blocking: " + _listed(evidence.blocking), "static")
    return None


def from_probe(result: ProbeResult) -> Decision:
    """The decision for a loop whose first iteration was measured as `result`."""
    if result.thread_affine:
        return Decision(False, "thread-affine: " + ", ".join(f"`{n}`" for n in result.thread_affine), "probe")
    ordered = tuple(n for n in result.ordered if not captured(n))
    if ordered:
        return Decision(False, "ordered output in the map part: " + ", ".join(f"`{n}`" for n in ordered), "probe")
    share = result.blocked_fraction
    ms = result.wall * 1e3
    if share < BLOCKED_FRACTION:
        return Decision(False, f"CPU-bound: {share:.0%} blocked (of {_ms(ms)} ms)", "probe")
    if result.wall < MIN_WALL:
        return Decision(False, f"too short to pay: {_ms(ms)} ms per iteration ({share:.0%} blocked)", "probe")
    where = f" in `{result.top}`" if result.top else ""
    return Decision(True, f"blocked {share:.0%} of {_ms(ms)} ms{where}", "probe")


def _ms(ms: float) -> str:
    return f"{ms:.0f}" if ms >= 10 else f"{ms:.2g}"


def _listed(findings) -> str:
    shown = ", ".join(f.words() for f in findings[:3])
    return shown + (f" and {len(findings) - 3} more" if len(findings) > 3 else "")
