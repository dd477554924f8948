"""The contract of `@xcs.jit` on an `async def`, point by point, each checked against the plain
coroutine: results and final values, output order, the earliest failure, cancellation of
the tasks in flight (cancelled and awaited), the caller's cancellation, timeouts, contextvars,
and the loops that must stay in order."""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import io
import logging

import pytest

import xcs
from tests.aio.gauge import measuring, other_tasks, state, wait


def run(coro):
    return asyncio.run(coro)


def status(fn) -> str:
    return xcs.explain(fn)[0].current_status()


# ----------------------------------------------------------------- results and final values
async def appends(xs):
    out, by_key, total = [], {}, 0
    for x in xs:
        y = await wait(x, delay=0.001 * (7 - x % 7))
        out.append(y)
        by_key[x] = y * 2
        total += y
    return out, by_key, total, x, y


def test_results_containers_and_final_values_are_the_plain_ones_with_overlap():
    plain = run(appends(range(20)))
    fast = xcs.jit(appends)
    with measuring() as gauge:
        got = run(fast(range(20)))
    assert got == plain
    assert gauge["peak"] >= 2, "the iterations never overlapped"
    assert status(fast) == "parallel"


def test_max_workers_bounds_the_tasks_in_flight():
    fast = xcs.jit(appends, max_workers=3)
    with measuring() as gauge:
        got = run(fast(range(12)))
    assert got == run(appends(range(12)))
    assert 2 <= gauge["peak"] <= 3


async def pulls(items, events):
    for x in items:
        y = await wait(x)
        events.append(("commit", y))


def test_items_are_pulled_lazily_at_most_max_workers_ahead_of_the_in_order_part():
    events: list = []

    def items():
        for k in range(10):
            events.append(("pull", k))
            yield k

    run(xcs.jit(pulls, max_workers=3)(items(), events))
    for n, event in enumerate(events):
        if event[0] == "commit":
            pulled = sum(1 for e in events[:n] if e[0] == "pull")
            assert pulled <= event[1] + 1 + 3, events
    assert [e[1] for e in events if e[0] == "commit"] == list(range(10))


async def empty_and_one(xs):
    out = []
    for x in xs:
        y = await wait(x)
        out.append(y)
    return out


@pytest.mark.parametrize("xs", [[], [5]])
def test_empty_and_single_item(xs):
    assert run(xcs.jit(empty_and_one)(xs)) == run(empty_and_one(xs))


# ----------------------------------------------------------------- output order
async def prints(xs):
    for x in xs:
        y = await wait(x, delay=0.001 * (9 - x))
        print("item", y)
        logging.getLogger("tests.aio").warning("logged %s", y)


def test_prints_and_logging_come_in_iteration_order(caplog):
    def output(fn):
        buffer = io.StringIO()
        caplog.clear()
        with contextlib.redirect_stdout(buffer), caplog.at_level(logging.WARNING, "tests.aio"):
            run(fn(range(10)))
        return buffer.getvalue(), [r.getMessage() for r in caplog.records if r.name == "tests.aio"]

    fast = xcs.jit(prints)
    with measuring() as gauge:
        got = output(fast)
    assert got == output(prints)
    assert gauge["peak"] >= 2


# ----------------------------------------------------------------- failures
async def failing(xs, log):
    for x in xs:
        y = await wait(x, delay=0.03 if x == 3 else 0.002, fail={3, 6})
        log.append(y)


def _outcome(fn, xs):
    log: list = []

    async def main():
        try:
            await fn(xs, log)
        except ValueError as error:
            return repr(error), list(log), other_tasks(), sorted(state["started"]), sorted(state["cleaned"])
        return None, list(log), other_tasks(), [], []

    return run(main())


def test_the_earliest_failing_iteration_raises_after_the_earlier_in_order_parts_and_later_tasks_are_awaited(caplog):
    with measuring():
        plain = _outcome(failing, range(12))
    with measuring() as gauge:
        got = _outcome(xcs.jit(failing), range(12))
    assert got[:2] == plain[:2] == ("ValueError(3)", [0, 1, 2])
    assert got[2] == set(), "tasks outlived the loop"
    # Every iteration that started was cleaned up (cancelled and awaited) before the raise.
    assert got[3] == got[4] and len(got[3]) > 4
    assert gauge["peak"] >= 2
    gc.collect()
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


async def commit_fails(xs):
    out = []
    for x in xs:
        y = await wait(x)
        out.append(10 // (y - 4))
    return out


def test_an_in_order_part_that_raises_cancels_and_awaits_the_tasks_in_flight():
    async def main(fn):
        try:
            await fn(range(12))
        except ZeroDivisionError as error:
            return repr(error), other_tasks(), sorted(state["started"]) == sorted(state["cleaned"])

    with measuring():
        plain = run(main(commit_fails))
    with measuring():
        got = run(main(xcs.jit(commit_fails)))
    assert got == plain == ("ZeroDivisionError('integer division or modulo by zero')", set(), True)


async def raising_iterable(xs):
    out = []
    for x in xs:
        y = await wait(x)
        out.append(y)
    return out


def test_a_failing_iterable_raises_after_the_items_it_gave():
    def items(log):
        for k in range(5):
            yield k
        raise KeyError("iterable")

    async def main(fn):
        log: list = []
        try:
            await fn(items(log))
        except KeyError as error:
            return repr(error), other_tasks()

    assert run(main(xcs.jit(raising_iterable))) == run(main(raising_iterable)) == ("KeyError('iterable')", set())


async def caught_inside(xs):
    out = []
    for x in xs:
        try:
            y = await wait(x, fail={2, 5})
        except ValueError:
            y = -x
        out.append(y)
    return out


def test_an_exception_caught_in_the_iteration_does_not_stop_the_loop():
    fast = xcs.jit(caught_inside)
    with measuring() as gauge:
        got = run(fast(range(10)))
    assert got == run(caught_inside(range(10)))
    assert gauge["peak"] >= 2


# ----------------------------------------------------------------- cancellation and timeouts
async def slow(xs):
    out = []
    for x in xs:
        y = await wait(x, delay=0.05)
        out.append(y)
    return out


def test_cancelling_the_caller_cancels_and_awaits_every_task_in_flight():
    async def main(fn):
        task = asyncio.create_task(fn(range(30)))
        await asyncio.sleep(0.02)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled", other_tasks(), sorted(state["started"]) == sorted(state["cleaned"])
        return "finished", other_tasks(), None

    with measuring():
        plain = run(main(slow))
    with measuring() as gauge:
        got = run(main(xcs.jit(slow)))
    assert got == plain == ("cancelled", set(), True)
    assert gauge["peak"] >= 2


@pytest.mark.parametrize("how", ["timeout", "wait_for"])
def test_a_timeout_around_the_loop_behaves_as_around_the_plain_loop(how):
    async def main(fn):
        try:
            if how == "timeout":
                async with asyncio.timeout(0.03):
                    await fn(range(30))
            else:
                await asyncio.wait_for(fn(range(30)), 0.03)
        except TimeoutError:
            return "timeout", other_tasks(), sorted(state["started"]) == sorted(state["cleaned"])
        return "finished", other_tasks(), None

    with measuring():
        plain = run(main(slow))
    with measuring():
        got = run(main(xcs.jit(slow)))
    assert got == plain == ("timeout", set(), True)


def test_a_timeout_that_does_not_fire_leaves_the_results_alone():
    async def main(fn):
        async with asyncio.timeout(5):
            return await fn(range(10))

    assert run(main(xcs.jit(slow))) == run(main(slow))


# ----------------------------------------------------------------- contextvars
request_id = contextvars.ContextVar("request_id", default="unset")


@xcs.io
async def tagged(x):
    await asyncio.sleep(0.002)
    return x, request_id.get()


async def reads_context(xs):
    request_id.set("outer")
    out = []
    for x in xs:
        pair = await tagged(x)
        out.append(pair)
    return out


def test_each_iteration_sees_the_callers_context():
    assert run(xcs.jit(reads_context)(range(8))) == run(reads_context(range(8))) == [(x, "outer") for x in range(8)]


async def sets_context(x):
    request_id.set(f"set by {x}")
    await asyncio.sleep(0.001)
    return x


async def writes_context(xs):
    seen = []
    for x in xs:
        y = await sets_context(x)
        seen.append(y)
    return seen, request_id.get()


def test_an_iteration_that_sets_a_contextvar_runs_it_in_order():
    # The set is seen by the caller after the loop, as in the plain loop: the call that sets
    # it runs in the in-order part (a task's set would stay in the task's context copy).
    fast = xcs.jit(writes_context)
    assert run(fast(range(6))) == run(writes_context(range(6))) == (list(range(6)), "set by 5")
    assert any("request_id.set" in r for r in xcs.explain(fast)[0].reasons)


# ----------------------------------------------------------------- what stays in order
async def carried(xs):
    prev = 0
    for x in xs:
        prev = await wait(prev + x)
    return prev


def test_a_value_carried_across_an_await_keeps_the_loop_sequential():
    fast = xcs.jit(carried)
    assert run(fast(range(6))) == run(carried(range(6)))
    report = xcs.explain(fast)[0]
    assert report.current_status() == "sequential"
    assert "carried" in {r.kind for r in report.refusals}


counter = {"n": 0}


async def bump(x):
    n = counter["n"]
    await asyncio.sleep(0.001)   # another task could run here and read the same n
    counter["n"] = n + 1
    return n


async def shared_across_await(xs):
    out = []
    for x in xs:
        n = await bump(x)
        out.append(n)
    return out


def test_shared_state_touched_across_an_await_is_not_run_concurrently():
    counter["n"] = 0
    plain = run(shared_across_await(range(8)))
    counter["n"] = 0
    fast = xcs.jit(shared_across_await)
    assert run(fast(range(8))) == plain == list(range(8))
    assert xcs.explain(fast)[0].current_status() == "sequential"


async def async_for(xs):
    async def agen():
        for x in xs:
            await asyncio.sleep(0)
            yield x

    out = []
    async for x in agen():
        y = await wait(x)
        out.append(y)
    return out


def test_async_for_over_a_quiet_async_generator_gets_tasks():
    # (tests/aio/test_async_for.py has the rest of the `async for` contract.)
    fast = xcs.jit(async_for)
    with measuring() as gauge:
        got = run(fast(range(5)))
    assert got == run(async_for(range(5)))
    assert gauge["peak"] >= 2
    assert [r.current_status() for r in xcs.explain(fast)] == ["parallel"]


async def agen_with_loop(xs):
    for x in xs:
        yield await wait(x)


def test_async_generators_stay_as_written():
    fast = xcs.jit(agen_with_loop)

    async def collect(fn):
        return [x async for x in fn(range(4))]

    assert run(collect(fast)) == run(collect(agen_with_loop)) == [0, 1, 2, 3]
    assert xcs.explain(fast)[0].current_status() == "sequential"


class Pause:
    """An awaitable of a toy event loop (not asyncio): it yields once."""

    def __await__(self):
        yield "pause"
        return None


@xcs.io
async def toy_wait(x):
    await Pause()
    return x


async def on_a_toy_loop(xs):
    out = []
    for x in xs:
        y = await toy_wait(x)
        out.append(y)
    return out


def _drive(coro):
    """The toy loop: resume the coroutine until it returns."""
    while True:
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value


def test_a_coroutine_not_on_asyncio_runs_in_order_with_a_reason():
    fast = xcs.jit(on_a_toy_loop)
    assert _drive(fast(range(5))) == _drive(on_a_toy_loop(range(5))) == list(range(5))
    runner = xcs.explain(fast)[0].runner
    assert runner is not None and "asyncio" in (runner.inline_reason or "")


def test_anyio_on_its_asyncio_backend_gets_tasks():
    anyio = pytest.importorskip("anyio")
    fast = xcs.jit(appends)
    with measuring() as gauge:
        got = anyio.run(fast, range(10), backend="asyncio")
    assert got == run(appends(range(10)))
    assert gauge["peak"] >= 2


# ----------------------------------------------------------------- evidence
async def on_events(xs, events):
    out = []
    for x in xs:
        y = await events[x].wait()     # no call the registry knows: only a probe can tell
        out.append((x, y))
    return out


async def _with_events(fn, xs):
    loop = asyncio.get_running_loop()
    events = [asyncio.Event() for _ in xs]
    for k, event in enumerate(events):
        loop.call_later(0.02 + 0.001 * k, event.set)
    return await fn(xs, events)


def test_without_a_known_call_the_first_iteration_is_probed():
    fast = xcs.jit(on_events)
    assert run(fast([], [])) == []   # compiles; an empty loop decides nothing
    assert run(_with_events(fast, range(6))) == run(_with_events(on_events, range(6)))
    decision = xcs.explain(fast)[0].runner.decision
    assert decision is not None and decision.parallel and decision.source == "probe", decision


# ----------------------------------------------------------------- an awaited argument of the in-order part
async def appends_awaited(xs, log):
    out = []
    for x in xs:
        out.append(await wait(x, delay=0.001 * (9 - x % 9), fail={13}))
        log.append(x)
    return out


def test_an_awaited_argument_of_an_in_order_call_runs_in_the_task():
    fast = xcs.jit(appends_awaited)
    with measuring() as gauge:
        got = run(fast(range(12), []))
    assert got == run(appends_awaited(range(12), [])) == list(range(12))
    assert gauge["peak"] >= 2
    assert status(fast) == "parallel"


def test_an_awaited_argument_that_fails_raises_where_it_stood():
    async def main(fn):
        log: list = []
        try:
            await fn(range(20), log)
        except ValueError as error:
            return repr(error), log, other_tasks(), sorted(state["started"]) == sorted(state["cleaned"])

    with measuring():
        plain = run(main(appends_awaited))
    with measuring():
        got = run(main(xcs.jit(appends_awaited)))
    assert got == plain == ("ValueError(13)", list(range(13)), set(), True)


# ----------------------------------------------------------------- comprehensions with await
async def listcomp(xs):
    return [await wait(x, delay=0.001 * (7 - x % 7), fail={15}) for x in xs]


async def dictcomp(xs):
    return {x: await wait(x, fail={15}) for x in xs}


@pytest.mark.parametrize("fn", [listcomp, dictcomp])
def test_a_comprehension_with_await_runs_its_awaits_as_tasks(fn):
    fast = xcs.jit(fn)
    with measuring() as gauge:
        got = run(fast(range(12)))
    assert got == run(fn(range(12)))
    assert gauge["peak"] >= 2
    assert any(r.current_status() == "parallel" for r in xcs.explain(fast))


@pytest.mark.parametrize("fn", [listcomp, dictcomp])
def test_a_failing_comprehension_raises_the_earliest_failure_with_no_task_left(fn):
    async def main(f):
        try:
            await f(range(20))
        except ValueError as error:
            return repr(error), other_tasks(), sorted(state["started"]) == sorted(state["cleaned"])

    with measuring():
        plain = run(main(fn))
    with measuring():
        got = run(main(xcs.jit(fn)))
    assert got == plain == ("ValueError(15)", set(), True)


# ----------------------------------------------------------------- methods of the items
class Quiet:
    async def predict(self, x):
        await asyncio.sleep(0.005)
        return ("quiet", x)


class Loud:
    async def predict(self, x):
        print("loud", x)
        await asyncio.sleep(0.005)
        return ("loud", x)


async def predicts(models, x):
    out = []
    for model in models:
        y = await model.predict(x)
        out.append(y)
    return out


def test_an_item_whose_method_prints_runs_in_order_from_that_item_on():
    models = [Quiet(), Quiet(), Quiet(), Loud(), Quiet(), Loud()]

    def output(fn):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            result = run(fn(models, 1))
        return result, buffer.getvalue()

    fast = xcs.jit(predicts)
    assert output(fast) == output(predicts)
    assert "in order from one item on" in (xcs.explain(fast)[0].inline_reason() or "")


async def paced(xs, started):
    for x in xs:
        await asyncio.sleep(0.01)           # the pace: other tasks run meanwhile
        started.append(asyncio.get_running_loop().time())


def test_an_awaited_pause_of_its_own_keeps_the_loop_paced():
    fast = xcs.jit(paced)
    report = xcs.explain(fast)[0]
    assert report.current_status() == "sequential"
    assert "paced" in {r.kind for r in report.refusals}
    started: list = []
    run(fast(range(4), started))
    assert all(b - a >= 0.009 for a, b in zip(started, started[1:]))
