"""Loop reports: what `xcs.explain(fn)` returns and `python -m xcs run --explain` prints.

One `LoopReport` per `for` loop: where it is, whether it runs in parallel, and why (the
analysis's refusals, then the evidence layer's decision once the loop has run), with what the
user can change. `Reports` is the list `xcs.explain(fn)` returns: it prints one loop a line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from xcs.analysis.refusal import primary
from xcs.api.words import creation_words, decision_words, hint as hint_of, words


@dataclass
class LoopReport:
    """The state of one loop. `status` is "parallel", "sequential" or "undecided"
    (safe to parallelize; the evidence layer decides on the first run). `reasons` are the
    reasons in words; `refusals` the analysis's `Refusal` objects they were rendered from."""

    function: str
    filename: str
    line: int | None
    status: str
    reasons: list = field(default_factory=list)
    in_order: list = field(default_factory=list)
    runner: object = None
    refusals: list = field(default_factory=list)
    predictor: object = None   # () -> the static evidence's Decision or None, for an undecided loop
    # For a loop that may leave early and runs speculatively: where it leaves and on what grounds.
    speculation: str | None = None

    @property
    def parallel(self) -> bool:
        return self.current_status() == "parallel"

    def current_status(self) -> str:
        decision = getattr(self.runner, "decision", None) if self.runner is not None else None
        if self.status != "sequential" and self.inline_reason() is not None:
            return "sequential"
        if self.status != "sequential" and decision is not None:
            return "parallel" if decision.parallel else "sequential"
        predicted = self.prediction()
        if predicted is not None:
            return "parallel" if predicted.parallel else "sequential"
        return self.status

    def prediction(self):
        """For a safe loop that has not run yet: the decision its code alone makes certain (a
        known blocking or thread-affine call reached through globals), or None."""
        if self.status != "undecided" or self.predictor is None:
            return None
        if not hasattr(self, "_prediction"):
            self._prediction = self.predictor()
        return self._prediction

    def inline_reason(self) -> str | None:
        """Why the latest run of a parallel-capable loop stayed in order, if it had to."""
        return getattr(self.runner, "inline_reason", None) if self.runner is not None else None

    def executor_notice(self) -> str | None:
        """Why the latest parallel run used threads rather than the chosen executor, with a hint."""
        notice = getattr(self.runner, "executor_notice", None) if self.runner is not None else None
        if notice is None or self.current_status() != "parallel":
            return None
        return f"on threads, not the chosen executor: {words(notice)} — hint: {hint_of(notice)}"

    def evidence(self) -> str | None:
        inline = self.inline_reason()
        if inline is not None and self.status != "sequential":
            return f"latest run in order: {inline}"
        decision = getattr(self.runner, "decision", None) if self.runner is not None else None
        return decision_words(decision) if decision is not None else None

    def hint(self) -> str | None:
        """What to change so the analysis lets the loop run in parallel: the hint of its main
        reason (a cause before the statements that merely stay in order), or None."""
        if self.status != "sequential":
            return None
        main = primary(self.refusals)
        return hint_of(main) if main is not None else None

    def hints(self) -> list:
        """The hint of every distinct refusal kind of a loop the analysis refused, main one first."""
        if self.status != "sequential":
            return []
        main = primary(self.refusals)
        ordered = ([main] if main is not None else []) + [r for r in self.refusals if r is not main]
        seen, out = set(), []
        for r in ordered:
            if r.kind not in seen:
                seen.add(r.kind)
                out.append(hint_of(r))
        return out

    def __str__(self) -> str:
        where = f"{self.function} ({self.filename}:{self.line})"
        status = self.current_status()
        parts = [f"{where}: {status}"]
        if self.status == "sequential" and self.reasons:  # refused by the analysis
            parts.append(" — " + "; ".join(self.reasons))
            hint = self.hint()
            if hint:
                parts.append(f" — hint: {hint}")
        evidence = self.evidence()
        if evidence:
            parts.append(f" [{evidence}]")
        elif self.prediction() is not None:
            parts.append(f" [{decision_words(self.prediction())} — known from the code; the first run confirms it]")
        elif self.status == "undecided":
            parts.append(" [the first run decides: its first iteration runs alone and is measured; "
                         "parallel if it spent most of its time blocked]")
        if status != "sequential" and self.in_order:
            parts.append("; in order: " + ", ".join(self.in_order))
        notice = self.executor_notice()
        if notice:
            parts.append(f" [{notice}]")
        if status != "sequential" and self.speculation:
            parts.append("; " + self.speculation)
        concurrency = getattr(self.runner, "concurrency", None) if status == "parallel" else None
        note = concurrency() if callable(concurrency) else None
        if note:
            parts.append(f"; {note}")
        created = creation_words(getattr(self.runner, "created", None)) if status == "parallel" else None
        if created:
            parts.append(f"; {created}")
        return "".join(parts)


class Reports(list):
    """The `LoopReport`s of a function: a list whose `str()` (and `repr()`) is one report a line."""

    def __str__(self) -> str:
        return "\n".join(map(str, self)) if self else "no `for` loops"

    __repr__ = __str__
