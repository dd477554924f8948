"""Lanes: one loop's iterations run on at most `limit` calls of the shared pool at once.

The calling thread of an `ordered_map` pulls items and hands each to its `Dispatch` as a
`Task`. A *lane* is one call running on a pool thread: it runs the task it was started
with, then takes the next ready task of the same loop, in iteration order, until there is
none (or the loop stopped, or has more lanes than its limit); then it returns the thread to
the pool. So:

- submitting never waits for the oldest iteration: a lane that finishes a task starts the
  next ready one at once, while the calling thread may still wait for an earlier result
  (no head-of-line blocking; the calling thread only bounds how far items are pulled ahead);
- the loop's concurrency is `limit` (adaptive, at most the pool's size), while the pool is
  shared with every other loop of that size;
- after an iteration raises, no task with a later index starts: the ready ones are
  cancelled at once, and a lane never starts a task at or past `end`. An iteration whose
  result reports a failure (`failed(result)`: the compiled body returns its exception for
  the in-order part to raise) *pauses* the loop instead: no later task starts until the
  calling thread, having delivered that result, comes back for the next one (`resume()`);
  if the loop stops there, the paused tasks are cancelled with the rest.

A task's state goes PENDING → RUNNING → DONE, or PENDING → CANCELLED (never started), or
PENDING → STOLEN (the calling thread runs it itself, with the turn). All state changes
happen under the dispatch's lock; the calling thread waits for a task on a per-task lock
made only when it has to wait.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from xcs.runtime import hosts, signals
from xcs.runtime.tracebacks import hide
from xcs.runtime.turns import _state

PENDING, RUNNING, DONE, CANCELLED, STOLEN = range(5)

_allocate = threading.Lock
_now = time.perf_counter


class Task:
    """One iteration: its item and context, then its result or error and how long it ran."""

    __slots__ = ("iteration", "index", "context", "item", "state", "result", "error", "waiter", "seconds")

    def __init__(self, iteration, context, item):
        self.iteration = iteration
        self.index = iteration.index
        self.context = context
        self.item = item
        self.state = PENDING
        self.result = None
        self.error = None
        self.waiter = None     # a held lock, released when the task ends (made by a waiting caller)
        self.seconds = 0.0


class Dispatch:
    """The tasks of one `ordered_map` call and the lanes running them (see the module docstring).

    `signals` counts the overload signals (HTTP 429/503, `Retry-After`, a rate-limit error)
    seen while its tasks ran; `hold_until` is a `perf_counter` time before which no lane
    starts a new task (a `Retry-After` the service asked for)."""

    __slots__ = ("lock", "ready", "lanes", "running", "limit", "end", "submit", "pool", "body", "args",
                 "stopped", "no_lanes", "on_idle", "overloads", "hold_until", "failed", "pause", "peak",
                 "__weakref__")

    def __init__(self, pool, body, args, limit: int, on_idle):
        self.lock = threading.Lock()
        self.ready = deque()       # PENDING tasks not given to a lane yet, in index order
        self.lanes = 0             # lanes submitted and not yet returned
        self.running = 0           # tasks RUNNING on lanes
        self.peak = 0              # most tasks running at once since the last `take_peak()`
        self.limit = limit
        self.end = 1 << 62         # no task with an index at or past it may start
        self.pool = pool
        self.submit = pool.submit
        self.body = body
        self.args = args
        self.stopped = False       # abandoned: nothing more starts
        self.no_lanes = False      # the pool could not start a thread: the caller runs the rest
        self.on_idle = on_idle     # called once when stopped and nothing runs any more
        self.overloads = 0
        self.hold_until = 0.0
        self.failed = None         # failed(result): the iteration reports a failure in its result
        self.pause = 1 << 62       # no task at or past it starts until `resume()`

    # -- calling thread ------------------------------------------------------------------
    def add(self, task) -> None:
        """Make `task` ready; start a lane for it if the loop has fewer than `limit`.

        Raises RuntimeError, with the task not added, when the pool cannot start a thread
        (then, or when a thread took the task all the same, `no_lanes` is set: the caller
        runs the rest of the loop itself)."""
        with self.lock:
            if self.lanes >= self.limit or self.no_lanes:
                self.ready.append(task)
                return
            self.lanes += 1
        try:
            self.submit(self._lane, task)
        except RuntimeError:
            # The pool keeps the call queued and runs it if one of its threads frees up:
            # cancel the task so that call skips it, unless a thread already started it.
            with self.lock:
                self.lanes -= 1
                self.no_lanes = True
                started = task.state != PENDING
                if not started:
                    task.state = CANCELLED
            if not started:
                raise

    def take_peak(self) -> int:
        """The most tasks that ran at once since the last call (a limiter grows the limit
        only when the loop used it: RFC 7661's congestion-window validation)."""
        peak, self.peak = self.peak, self.running
        return peak

    def resize(self, limit: int) -> None:
        """Change the most lanes at once; a larger limit starts lanes for ready tasks now."""
        start = 0
        with self.lock:
            self.limit = limit
            if not self.no_lanes and not self.stopped:
                start = max(0, min(limit - self.lanes, len(self.ready)))
                self.lanes += start
        for _ in range(start):
            try:
                self.submit(self._lane, None)
            except RuntimeError:
                with self.lock:
                    self.lanes -= 1
                break

    def resume(self) -> None:
        """Calling thread: the consumer came back after the iteration that reported a
        failure in its result (the loop goes on): later tasks may start again."""
        with self.lock:
            self.pause = 1 << 62
        self.resize(self.limit)

    def claim(self, task) -> bool:
        """Calling thread: take `task` to run it here if no lane started it and none will
        soon (the pool is saturated, or the loop has no lane). True if taken (state STOLEN)."""
        with self.lock:
            if task.state == PENDING and self._may_steal():
                self._steal(task)
                return True
        return False

    def _may_steal(self) -> bool:
        """Under the lock: the calling thread may run a ready task itself — the loop has no
        lane, or the pool is saturated (by other loops) while this loop runs fewer tasks than
        its limit. Never past the limit: with all of its tasks running, one of its own lanes
        takes the next ready task as soon as it is free."""
        return self.lanes == 0 or (self.running < self.limit and self.pool.saturated())

    def _steal(self, task) -> None:
        """Under the lock: the calling thread runs `task`; it counts among the loop's running
        tasks until `stolen_done()`, so no lane starts another one past the limit."""
        task.state = STOLEN
        self.running += 1
        if self.running > self.peak:
            self.peak = self.running

    def stolen_done(self) -> None:
        """Calling thread: the task it took (see `claim`) has ended; ready tasks the lanes
        left for want of room start now."""
        with self.lock:
            self.running -= 1
            idle = self.stopped and not self.running
        if idle:
            self.on_idle()
        else:
            self.resize(self.limit)

    def wait(self, task, poll: float) -> bool:
        """Calling thread: wait until `task` is DONE, in slices of `poll` seconds so signals
        get through. Returns False instead if it was taken to run here (see `claim`)."""
        with self.lock:
            if task.state == DONE:
                return True
            if task.state == PENDING and self._may_steal():
                self._steal(task)
                return False
            waiter = task.waiter = _allocate()
            waiter.acquire()
        while not waiter.acquire(True, poll):
            if self.claim(task):
                return False
        return True

    def stop(self) -> None:
        """Nothing more starts: ready tasks are cancelled. `on_idle` is called once no task
        runs on a lane (now, or when the last running one ends)."""
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
            self.end = -1
            for task in self.ready:
                if task.state == PENDING:
                    task.state = CANCELLED
            self.ready.clear()
            idle = not self.running
        if idle:
            self.on_idle()

    # -- lanes (pool threads) ------------------------------------------------------------
    def _lane(self, task):
        """Run `task`, then the next ready tasks, while the loop wants this lane."""
        lock = self.lock
        body = self.body
        args = self.args
        state = _state
        held = hosts._thread
        failed = self.failed
        signals._lane.dispatch = self
        idle = False
        try:
            with lock:
                task = self._next(task)
            while task is not None:
                hold = self.hold_until
                if hold and hold > _now():
                    time.sleep(hold - _now())
                state.iteration = task.iteration
                start = _now()
                try:
                    task.result = result = task.context.run(body, task.item, *args)
                    if failed is not None and failed(result):
                        self.pause = min(self.pause, task.index + 1)
                    result = None
                except BaseException as error:  # noqa: BLE001 - delivered in order by the caller
                    task.error = error
                    error = None
                finally:
                    state.iteration = None
                    state.owner = None
                    if held.uses:          # per-host slots still held by open responses
                        hosts.end_iteration()
                task.seconds = _now() - start
                task.item = task.context = None
                with lock:
                    task.state = DONE
                    self.running -= 1
                    if task.error is not None:
                        self._failed(task)
                    waiter = task.waiter
                    task = self._next(None)
                    if task is None:
                        idle = self.stopped and not self.running
                if waiter is not None:
                    waiter.release()
                waiter = None
        finally:
            signals._lane.dispatch = None
        if idle:
            self.on_idle()

    def _next(self, task):
        """Under the lock: the task this lane runs next (marked RUNNING), or None after
        giving the lane back (`lanes` decremented)."""
        while True:
            if task is None:
                ready = self.ready
                if ready and self.lanes <= self.limit and self.running < self.limit and ready[0].index < self.pause:
                    task = ready.popleft()
                else:
                    self.lanes -= 1
                    return None
            if task.state == PENDING:
                if task.index < self.end and task.index < self.pause:
                    task.state = RUNNING
                    self.running += 1
                    if self.running > self.peak:
                        self.peak = self.running
                    return task
                if task.index < self.end:
                    self._requeue(task)   # paused: it may run after `resume()`
                else:
                    task.state = CANCELLED
            task = None

    def _requeue(self, task) -> None:
        """Under the lock: put a task back among the ready ones, in index order."""
        ready = self.ready
        position = len(ready)
        while position and ready[position - 1].index > task.index:
            position -= 1
        ready.insert(position, task)

    def _failed(self, task) -> None:
        """Under the lock: `task` raised; no later iteration may start (sequential code
        would never have run it)."""
        if task.index < self.end:
            self.end = end = task.index + 1
            keep = deque()
            for other in self.ready:
                if other.index < end:
                    keep.append(other)
                elif other.state == PENDING:
                    other.state = CANCELLED
            self.ready = keep
        if signals.is_overload(task.error):
            self.overloads += 1


hide(Dispatch._lane)
