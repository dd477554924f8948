"""Runtime for `async for` loops in coroutines: items pulled with awaits, iterations as tasks.

The variant of an `async def` calls `runner.pull_async(source, body, args)` where its
`async for` took `aiter(source)`, and its own header (`GET_AITER`, `GET_ANEXT`...) pulls from
what it gets back: an async iterator whose `__anext__` gives each iteration's result tuple
(the protocol of `xcs.runtime.ordered_map`: `(exc,)` in slot 0 when pulling the item
failed), and raises `StopAsyncIteration` after the last. Two such iterators:

- `AsyncTaskWindow`: the map part of each item runs as an `asyncio` task; at most `limit`
  tasks exist at a time, created in item order. Items are pulled by `__anext__`, with
  `await source.__anext__()` on the calling coroutine, in order, only to refill the window:
  after the in-order part of iteration i, item i + limit is pulled — never more than
  `limit` items ahead of the iteration whose in-order part runs. Nested windows share the
  `Budget` of `xcs.runtime.aio` (see there).
- `AsyncInlineSteps`: its sequential twin; `__anext__` pulls one item and awaits the body's
  coroutine itself (exactly the plain loop).

Failure: an exception the source raises (other than `StopAsyncIteration`) is delivered in
order, as `(exc,)`, after the results of the items pulled before it; nothing is pulled after
it. When `__anext__` itself ends by an exception — the caller's cancellation
(`CancelledError`, also from `asyncio.timeout()`/`wait_for`) while it waits for a task or
for the source — every task still in flight is cancelled and awaited before the exception
goes on (on `GeneratorExit`, a closing coroutine, cancelled without waiting). An exception
of a later in-order part reaches the variant's abort handler, which calls `cancel()` and
awaits the tasks (`xcs.runtime.aio.abort`).

The source is never closed by XCS: as in the plain loop, an async generator left partly
consumed (by an exception, a cancellation) is finalized by the event loop's asyncgen hooks,
or by the caller's `aclose()`; it has produced at most `limit` items past the last
iteration whose in-order part ran.

May import only the foundation modules and its own layer.
"""
from __future__ import annotations

import asyncio
from collections import deque

from xcs.runtime.aio import _BUDGET, _CORO, Budget, _wait

__all__ = ["AsyncInlineSteps", "AsyncTaskWindow", "aiter_of"]


def aiter_of(source):
    """`aiter(source)` with the errors of an `async for` statement."""
    kind = type(source)
    get = getattr(kind, "__aiter__", None)
    if get is None:
        raise TypeError(f"'async for' requires an object with __aiter__ method, got {kind.__name__}")
    it = get(source)
    if getattr(type(it), "__anext__", None) is None:
        raise TypeError(f"'async for' received an object from __aiter__ that does not implement "
                        f"__anext__: {type(it).__name__}")
    return it


class AsyncTaskWindow:
    """Ordered results of `body(item, *args)` tasks over an async iterator, at most `limit`
    in flight (see module doc).

    `check(item)` (optional) names why an item must not run ahead, or returns None; from the
    first such item on, the window drains and the remaining items run inline, each pulled
    after the previous iteration's in-order part, as in the plain loop."""

    __slots__ = ("_body", "_source", "_anext", "_args", "_limit", "_pending", "_create", "_done", "_error",
                 "_check", "_held", "on_hold", "_budget", "_awaited", "pulled")

    def __init__(self, body, source, args, limit: int, check=None, loop=None):
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit!r}")
        self._body, self._source, self._args, self._limit = body, source, args, limit
        self._anext = type(source).__anext__
        self._pending: deque = deque()
        loop = loop or asyncio.get_running_loop()
        self._create = loop.create_task
        budget = _BUDGET.get()
        if budget is None or budget.loop is not loop:
            budget = Budget(limit, loop)
        self._budget = budget
        self._awaited = None
        self._done = False
        self._error = None
        self._check = check
        self._held = None
        self.on_hold = None
        self.pulled = 0             # items pulled so far

    def __aiter__(self):
        return self

    def __anext__(self):
        return self._next()

    async def _next(self):
        try:
            return await self._step()
        except StopAsyncIteration:
            raise
        except BaseException as exc:
            tasks = self.cancel()
            if tasks and not isinstance(exc, GeneratorExit):
                await _wait(tasks)
            raise

    async def _step(self):
        pending = self._pending
        if self._awaited is not None:
            # The caller asks for the next result only once it has had the previous one:
            # that task is done, its slot free.
            self._awaited = None
            self._budget.free += 1
        if not self._done:
            await self._fill()
        if pending:
            step = pending.popleft()
            if type(step) is not _CORO:
                self._awaited = step
            return await step
        if self._held is not None:
            return await self._inline()
        if self._error is not None:
            error, self._error = self._error, None
            return (error,)
        raise StopAsyncIteration

    async def _fill(self) -> None:
        pending, body, args, check, budget = self._pending, self._body, self._args, self._check, self._budget
        while len(pending) < self._limit:
            if budget.free <= 0 and pending:
                return   # the tree's tasks are all in flight: wait for one of ours
            try:
                item = await self._anext(self._source)
            except StopAsyncIteration:
                self._done = True
                return
            except Exception as error:  # noqa: BLE001 - delivered in order, as (exc,)
                self._done, self._error = True, error
                return
            self.pulled += 1
            if check is not None:
                reason = check(item)
                if reason is not None:
                    self._done, self._held, self.on_hold = True, (item,), reason
                    return
            if budget.free <= 0:
                pending.append(body(item, *args))   # no task to be had: this one runs inline
                return
            budget.free -= 1
            # Each task copies the caller's context with the budget set in it; the caller
            # itself never holds it.
            token = _BUDGET.set(budget) if _BUDGET.get() is not budget else None
            try:
                pending.append(self._create(body(item, *args)))
            finally:
                if token is not None:
                    _BUDGET.reset(token)

    async def _inline(self):
        held = self._held
        if held:
            self._held = ()
            return await self._body(held[0], *self._args)
        try:
            item = await self._anext(self._source)
        except StopAsyncIteration:
            self._held = None
            raise
        except Exception as error:  # noqa: BLE001 - delivered as (exc,), then the end
            self._held = None
            return (error,)
        self.pulled += 1
        return await self._body(item, *self._args)

    def cancel(self) -> list:
        """Cancel every task still in flight and forget it; returns them. An inline step not
        yet awaited is closed. Nothing is pulled after this."""
        steps = list(self._pending)
        self._pending.clear()
        self._held = None
        self._done = True
        release = self._budget.release
        awaited, self._awaited = self._awaited, None
        if awaited is not None:
            awaited.add_done_callback(release)
        tasks = []
        for step in steps:
            if type(step) is _CORO:
                step.close()
            else:
                step.cancel()
                step.add_done_callback(release)
                tasks.append(step)
        return tasks


class AsyncInlineSteps:
    """The sequential twin of `AsyncTaskWindow`: each `__anext__` pulls one item and awaits
    its body in the calling coroutine. `wrap(coroutine) -> awaitable` applies to the next
    body only (the probe's timing)."""

    __slots__ = ("_body", "_source", "_anext", "_args", "_done", "wrap")

    def __init__(self, body, source, args, wrap=None):
        self._body, self._source, self._args = body, source, args
        self._anext = type(source).__anext__
        self._done = False
        self.wrap = wrap

    def __aiter__(self):
        return self

    def __anext__(self):
        return self._next()

    async def _next(self):
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._anext(self._source)
        except StopAsyncIteration:
            self._done = True
            raise
        except Exception as error:  # noqa: BLE001
            self._done = True
            return (error,)
        step = self._body(item, *self._args)
        wrap, self.wrap = self.wrap, None
        return await (wrap(step) if wrap is not None else step)

    def cancel(self) -> list:
        self._done = True
        return []
