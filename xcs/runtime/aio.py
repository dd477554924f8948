"""Runtime for loops in coroutines: an iteration's map part runs as a task on the running loop.

The variant of an `async def` calls `runner(iterator, body, args)` where its loop took
`iter(...)`, and iterates what it gets back with a plain `for`, awaiting each element: the
element is an awaitable whose result is the iteration's result tuple (the protocol of
`xcs.runtime.ordered_map`: `(exc,)` in slot 0 when pulling the item failed). Two such
iterators:

- `TaskWindow`: the map part of each item runs as an `asyncio` task (`body(item, *args)` is
  a coroutine); at most `limit` tasks exist at a time, created in item order. Items are
  pulled by `__next__`, on the calling coroutine, in order, only to refill the window:
  after the in-order part of iteration i, item i + limit is pulled. Each task copies the
  context of the calling coroutine at the moment it is created, as `asyncio.create_task`
  does. `__next__` returns the oldest step (a task, or an inline coroutine: see the budget below):
  awaiting it gives that iteration's result.
- `InlineSteps`: its sequential twin; `__next__` pulls one item and returns the body's
  coroutine, which the loop awaits in its own task (exactly the plain loop).

Nested loops share one budget: the tasks of a `TaskWindow` carry its `Budget` in their
context, and a window opened inside one of them (an inner jitted loop, in a coroutine the
outer iteration awaits) draws its tasks from the same budget, which holds the outermost
window's limit. So the tasks of a tree of nested loops never exceed that limit (not
limit ** depth). A window that finds the budget spent while it has no task of its own in
flight runs its next iteration inline, in the calling coroutine (as `InlineSteps` would): it
always makes progress, and an inner loop whose outer loop already runs `limit` tasks runs in
order inside them. A task's slot comes back when the caller has awaited it (its next
`__next__`), or, for tasks cancelled by `abort`, once they have unwound; a task that finished
early keeps its slot until its turn, so the count errs on the side of fewer tasks.

The variant wraps the whole loop in a handler that runs `await abort(iterator, exc)` before
the exception goes on: when the loop ends by an exception — an iteration's, the in-order
part's, the iterable's, or the caller's cancellation (`CancelledError`, also from
`asyncio.timeout()`/`wait_for`) — every task still in flight is cancelled and awaited
before the exception propagates, so no task outlives the loop. On `GeneratorExit` (the
coroutine is closed) they are cancelled without waiting: a closing coroutine cannot suspend.

May import only the foundation modules.
"""
from __future__ import annotations

import asyncio
import contextvars
import types
from collections import deque

__all__ = ["InlineSteps", "TaskWindow", "abort", "loop_problem"]


class Ready:
    """An awaitable that gives `value` without suspending."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __await__(self):
        return self.value
        yield  # noqa: unreachable - makes __await__ a generator


class Budget:
    """The tasks a tree of nested `TaskWindow`s may still create on `loop` (see module doc)."""

    __slots__ = ("free", "loop")

    def __init__(self, limit: int, loop):
        self.free, self.loop = limit, loop

    def release(self, _task=None) -> None:
        """A task of the tree is done (a done callback)."""
        self.free += 1


_CORO = types.CoroutineType   # an inline step (`body(item, *args)` not made a task)

# The budget of the window whose task is running, in that task's context.
_BUDGET: contextvars.ContextVar = contextvars.ContextVar("xcs_task_budget", default=None)


class TaskWindow:
    """Ordered results of `body(item, *args)` tasks, at most `limit` in flight (see module doc).

    `check(item)` (optional) names why an item must not run ahead, or returns None; from the
    first such item on, the window drains and the remaining items run inline, each pulled
    after the previous iteration's in-order part, as in the plain loop."""

    __slots__ = ("_body", "_items", "_args", "_limit", "_pending", "_create", "_done", "_error",
                 "_check", "_held", "on_hold", "_budget", "_awaited")

    def __init__(self, body, items, args, limit: int, check=None, loop=None):
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit!r}")
        self._body, self._items, self._args, self._limit = body, items, args, limit
        self._pending: deque = deque()
        loop = loop or asyncio.get_running_loop()
        self._create = loop.create_task
        budget = _BUDGET.get()
        if budget is None or budget.loop is not loop:
            budget = Budget(limit, loop)
        self._budget = budget
        self._awaited = None        # the task last returned, which the caller is awaiting
        self._done = False
        self._error = None
        self._check = check
        self._held = None           # (item,) once `check` refused an item
        self.on_hold = None         # the reason it gave

    def __iter__(self):
        return self

    def __next__(self):
        pending = self._pending
        if self._awaited is not None:
            # The caller asks for the next step only once it has awaited the previous one:
            # that task is done, its slot free.
            self._awaited = None
            self._budget.free += 1
        if not self._done:
            self._fill()
        if pending:
            step = pending.popleft()
            if type(step) is not _CORO:   # a task (an inline coroutine holds no slot)
                self._awaited = step
            return step
        if self._held is not None:
            return self._inline()
        if self._error is not None:
            error, self._error = self._error, None
            return Ready((error,))
        raise StopIteration

    def _fill(self) -> None:
        pending, items, body, args, create = self._pending, self._items, self._body, self._args, self._create
        check, budget = self._check, self._budget
        # The budget is set in the caller's context while tasks are created (each task copies
        # that context), and reset before the caller goes on: the caller never holds it.
        token = _BUDGET.set(budget) if _BUDGET.get() is not budget else None
        try:
            while len(pending) < self._limit:
                if budget.free <= 0 and pending:
                    return   # the tree's tasks are all in flight: wait for one of ours
                try:
                    item = next(items)
                except StopIteration:
                    self._done = True
                    return
                except BaseException as error:  # noqa: BLE001 - delivered in order, as (exc,)
                    self._done, self._error = True, error
                    return
                if check is not None:
                    reason = check(item)
                    if reason is not None:
                        self._done, self._held, self.on_hold = True, (item,), reason
                        return
                if budget.free <= 0:
                    pending.append(body(item, *args))   # no task to be had: this one runs inline
                    return
                budget.free -= 1   # given back when the caller has awaited the task (`__next__`)
                pending.append(create(body(item, *args)))
        finally:
            if token is not None:
                _BUDGET.reset(token)

    def _inline(self):
        """The next step once the window has drained after a refused item: that item, then
        each later one pulled now, run by the calling coroutine."""
        held = self._held
        if held:
            self._held = ()
            return self._body(held[0], *self._args)
        try:
            item = next(self._items)
        except StopIteration:
            self._held = None
            raise
        except BaseException as error:  # noqa: BLE001 - delivered as (exc,), then the end
            self._held = None
            return Ready((error,))
        return self._body(item, *self._args)

    def cancel(self) -> list:
        """Cancel every task still in flight and forget it; returns them. An inline step not
        yet awaited is closed."""
        steps = list(self._pending)
        self._pending.clear()
        self._held = None
        self._done = True
        release = self._budget.release
        awaited, self._awaited = self._awaited, None
        if awaited is not None:
            # Done if the caller got its outcome; still unwinding if the caller was cancelled
            # while awaiting it.
            awaited.add_done_callback(release)
        tasks = []
        for step in steps:
            if type(step) is _CORO:
                step.close()
            else:
                step.cancel()
                step.add_done_callback(release)   # its slot comes back once it has unwound
                tasks.append(step)
        return tasks


class InlineSteps:
    """The sequential twin of `TaskWindow`: one item pulled per `__next__`, its body's
    coroutine returned to be awaited by the calling coroutine itself."""

    __slots__ = ("_body", "_items", "_args", "_done", "wrap")

    def __init__(self, body, items, args, wrap=None):
        self._body, self._items, self._args = body, items, args
        self._done = False
        self.wrap = wrap            # wrap(coroutine) -> awaitable, for the next step only

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        try:
            item = next(self._items)
        except StopIteration:
            self._done = True
            raise
        except BaseException as error:  # noqa: BLE001
            self._done = True
            return Ready((error,))
        step = self._body(item, *self._args)
        wrap, self.wrap = self.wrap, None
        return wrap(step) if wrap is not None else step

    def cancel(self) -> list:
        self._done = True
        return []


def abort(steps, exc):
    """What the variant awaits when its loop ends by `exc`: cancel the tasks `steps` still has
    in flight and wait until they are done (not for `GeneratorExit`: a closing coroutine
    must not suspend). Never raises for the tasks' sake; a cancellation of the caller while it
    waits propagates."""
    cancel = getattr(steps, "cancel", None)
    tasks = cancel() if cancel is not None else []
    if not tasks or isinstance(exc, GeneratorExit):
        return Ready(None)
    return _wait(tasks)


async def _wait(tasks):
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()   # retrieved: asyncio logs nothing for it


def loop_problem() -> str | None:
    """Why the calling coroutine's loop cannot get tasks from XCS, or None when it runs on
    asyncio (anyio on its asyncio backend included)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        library = _async_library()
        where = f"under {library}" if library else "not on an asyncio event loop"
        return f"the coroutine runs {where}; only asyncio gets concurrent iterations"
    return None


def _async_library() -> str | None:
    try:
        import sniffio
    except ImportError:
        return None
    try:
        return sniffio.current_async_library()
    except Exception:  # noqa: BLE001 - sniffio.AsyncLibraryNotFoundError
        return None
