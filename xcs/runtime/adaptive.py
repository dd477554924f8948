"""Adaptive concurrency: one `Limiter` per loop, remembered across the loop's calls.

The rule is a gradient limit (Netflix `concurrency-limits`' Gradient2, Envoy's adaptive
concurrency filter) with a multiplicative decrease on overload (TCP's AIMD):

- every iteration's duration is a latency sample; every batch of `max(limit, MIN_BATCH)`
  samples compares the batch's mean latency with the loop's no-load latency (the lowest
  sample seen, drifting slowly up so a service that became slower is re-learnt):
  `gradient = clamp((TOLERANCE × no_load + SLACK) / mean, 0.5, 1)`;
- latency inflated (gradient < 1): the limit shrinks towards `limit × gradient` — more
  requests in flight only queue at the service. The shrink is checked: the lowest sample
  is only a lower bound of the no-load latency, and iterations of different lengths (50 to
  500 ms) have a mean several times it at any load. If the limit went down to CHECK_SHRINK
  of itself and the mean latency did not move (UNMOVED), that mean is taken as the no-load
  latency (`calibrated`, slowly forgotten), and the limit grows back;
- latency flat (gradient = 1): the limit grows by `sqrt(limit)` while the completions per
  second rose with the last growth (or no growth was tried yet) and the batch used the
  limit (as many iterations ran at once; RFC 7661's congestion-window validation: the tail
  of a call, or a loop that pulls its items slowly, says nothing about more concurrency);
  when a growth bought no throughput, it holds;
- an overload signal (HTTP 429/503, `Retry-After`, `openai.RateLimitError`; see
  `xcs.runtime.signals`) cuts the limit to `BACKOFF` (0.7, as TCP CUBIC) of itself at once,
  at most once per batch;
- never above the ceiling (`max_workers`), never below 1.

A loop's first call starts at the ceiling (a hand-written pool's concurrency, so a loop that
needs it pays nothing to learn it); later calls start where the last one left off. `SLACK`
keeps bodies that take microseconds (where thread switches dominate the latency) from
reading as inflation.
"""
from __future__ import annotations

import math
import time

TOLERANCE = 1.5
SLACK = 0.002            # seconds of latency inflation never counted as overload
SMOOTHING = 0.5          # how far one batch moves the limit towards its target
MIN_BATCH = 8
BACKOFF = 0.7
DRIFT = 0.05             # how fast the no-load latency follows a batch's fastest sample up
CHECK_SHRINK = 0.6       # a latency shrink to this fraction of the limit is checked (see `_checked`)
FORGET = 0.01            # how fast a calibrated no-load latency is forgotten, per batch
UNMOVED = 0.9            # ... and undone when the mean latency kept this fraction of itself


class Limiter:
    """The concurrency limit of one loop. `start(ceiling)` at each call returns the limit to
    begin with; `observe(seconds)` per finished iteration and `overloaded()` per overload
    signal (both on the loop's calling thread) may change `limit`; `finish()` ends a call.
    Racy when one loop runs on several threads at once: the limit stays in [1, ceiling]."""

    __slots__ = ("limit", "ceiling", "estimate", "no_load", "_sum", "_count", "_fastest", "_cut",
                 "_batch_start", "_last_rate", "_grew", "_busy", "calls", "overloads", "floor",
                 "calibrated", "_check")

    def __init__(self):
        self.limit = 0
        self.ceiling = 0
        self.estimate = None       # float limit; None before the first call
        self.no_load = math.inf    # seconds: the loop's latency with nothing queued
        self.floor = math.inf      # the fastest sample (drifting up), a lower bound of it
        self.calibrated = 0.0      # a mean latency seen not to fall with the limit (decaying)
        self._check = None         # [limit, highest mean, reached] of a shrink being checked
        self.calls = 0
        self.overloads = 0         # overload signals seen, all calls
        self._reset_batch()
        self._last_rate = 0.0
        self._grew = False

    def _reset_batch(self) -> None:
        self._sum = 0.0
        self._count = 0
        self._fastest = math.inf
        self._cut = False
        self._busy = 0
        self._batch_start = time.perf_counter()

    def start(self, ceiling: int) -> int:
        """A call of the loop begins with at most `ceiling` workers; returns the limit."""
        self.ceiling = ceiling
        estimate = ceiling if self.estimate is None else min(self.estimate, ceiling)
        self.estimate = max(1.0, estimate)
        self.limit = int(self.estimate)
        self.calls += 1
        self._grew = False     # a batch may span calls: short loops still adapt
        return self.limit

    def observe(self, seconds: float, busy: int | None = None) -> None:
        """One iteration took `seconds` on its worker; `busy`: the most iterations that ran at
        once since the last sample (None: unknown, taken as the whole limit)."""
        if busy is None:
            busy = self.limit
        if busy > self._busy:
            self._busy = busy
        self._sum += seconds
        self._count += 1
        if seconds < self._fastest:
            self._fastest = seconds
        if self._count >= self.limit and self._count >= MIN_BATCH:
            self._update()

    def overloaded(self) -> None:
        """The service signalled overload: cut the limit to BACKOFF of itself (once per batch)."""
        self.overloads += 1
        if not self._cut:
            self._cut = True
            self.estimate = max(1.0, self.estimate * BACKOFF)
            self.limit = int(self.estimate)
            self._grew = False

    def finish(self) -> None:
        """The call ended; the limit is kept for the loop's next call."""

    def _update(self) -> None:
        now = time.perf_counter()
        mean = self._sum / self._count
        rate = self._count / max(now - self._batch_start, 1e-9)
        fastest = self._fastest
        if fastest < self.floor:
            self.floor = fastest
        else:
            self.floor += (fastest - self.floor) * DRIFT
        self.calibrated *= 1.0 - FORGET
        self._checked(mean)
        self.no_load = max(self.floor, self.calibrated)
        if not self._cut:
            gradient = max(0.5, min(1.0, (TOLERANCE * self.no_load + SLACK) / mean)) if mean > 0 else 1.0
            if gradient < 1.0:
                if self._check is None:
                    self._check = [self.estimate, mean, 0]
                target = self.estimate * gradient
                self.estimate = max(1.0, self.estimate + (target - self.estimate) * SMOOTHING)
                self._grew = False
            elif (self.estimate < self.ceiling and self._busy >= self.limit
                  and (not self._grew or rate > self._last_rate * 1.05)):
                self.estimate = min(float(self.ceiling), self.estimate + math.sqrt(self.estimate))
                self._grew = True
            else:
                self._grew = False
            self.limit = int(self.estimate)
        self._last_rate = rate
        self._reset_batch()

    def _checked(self, mean: float) -> None:
        """Was the shrink for latency right? The fastest sample is only a lower bound of the
        no-load latency: when iterations take different times (50 to 500 ms, say: LLM calls,
        pages of different sizes), the mean is several times the fastest at any load, and the
        gradient alone would shrink the limit to 1. So a shrink is checked: once the limit is
        down to CHECK_SHRINK of where the shrink began, one batch later (the batch between
        still holds iterations started before), a mean latency still UNMOVED of the highest
        mean seen while shrinking says the latency does not come from queueing: that mean
        becomes the no-load latency (`calibrated`, decaying by FORGET per batch, so a service
        that starts queueing later is seen again). A growth back above the start ends the check."""
        check = self._check
        if check is None:
            return
        start, highest, reached = check
        if self.estimate > start:
            self._check = None
        elif reached:
            self._check = None
            if mean >= highest * UNMOVED:
                self.calibrated = max(self.calibrated, mean)
        else:
            check[1] = max(highest, mean)
            check[2] = self.estimate <= start * CHECK_SHRINK

    def describe(self) -> str:
        """The limit in words, for `xcs.explain`."""
        if self.estimate is None:
            return f"concurrency: adaptive, up to {self.ceiling or 'max_workers'}"
        note = f"concurrency: {self.limit} of {self.ceiling} (adaptive"
        if self.overloads:
            note += f"; backed off on overload signals (429/503) in {self.overloads} results"
        return note + ")"
