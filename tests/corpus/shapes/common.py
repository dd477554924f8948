"""What a corpus row is, and what the rows share (the models, the inputs, the logger).

`@shape("parallel")` rows must run their iterations concurrently (the test proves it with a
barrier in `probe.io`) and give exactly the sequential results. `@shape("sequential", kind)`
rows must stay sequential, for that reason: `kind` is a refusal kind of
`xcs.analysis.refusal` (`"carried"`, `"commit:global"`, ...) that one of the loop's reports
must carry, or one of `RUN_KINDS` for a loop the analysis allows but the run keeps in order.
`subject` narrows it to the refusal's variable or callee (`"total"`, `"stack.pop"`).
A tuple of kinds accepts any of them (a version may name the same obstacle differently).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tests.corpus.probe import io

# Decisions taken at run time rather than by the analysis's refusals.
RUN_KINDS = {
    "probe:cpu-bound": "the first iteration's probe found the work CPU-bound",
    "policy:parallel-false": "the row asks for `parallel=False`",
    "run:in-order": "a check at loop start or per item kept the latest run in order (`inline_reason`)",
}


@dataclass
class Shape:
    fn: object
    expect: str                  # "parallel" | "sequential"
    kind: object = None          # sequential rows: the refusal kind (or a RUN_KINDS key), or a tuple of them
    args: tuple = ()
    policy: object = "auto"
    overlap: object = True       # prove overlap with a barrier (parallel rows): True = all calls, or n
    name: str = field(default="")
    xfail: str | None = None     # a known gap, with its diagnosis: the row must fail until it is fixed
    subject: str | None = None   # the refusal's variable or callee must contain this

    @property
    def kinds(self) -> tuple:
        return self.kind if isinstance(self.kind, tuple) else (self.kind,)


CORPUS: list[Shape] = []


def shape(expect, kind=None, *, args=(), policy="auto", overlap=True, name=None, xfail=None, subject=None):
    def register(fn):
        CORPUS.append(Shape(fn, expect, kind, args, policy, overlap, name or fn.__name__, xfail, subject))
        return fn
    return register


class Model:
    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def predict(self, prompt):
        return io(f"{prompt}-{self.k}")


MODELS = [Model(k) for k in range(4)]
XS = [1, 2, 3, 4, 5, 6]
log = logging.getLogger("xcs.tests.corpus")
