"""No hang from the pool: an iteration whose work item has not started when the calling
thread comes for it is run by the calling thread itself, so iterations of loops that share
a pool, or that hold every worker while waiting for their turn, cannot starve each other.

Each test arms `faulthandler.dump_traceback_later`: a hang dumps the stacks and kills the
run instead of blocking the suite; the barriers' own timeouts turn a slow path into a
failure first.
"""
from __future__ import annotations

import faulthandler
import sys
import threading

import pytest

from xcs.runtime import ordered_map, take_turn
from xcs.runtime.pools import pool

HANG_SECONDS = 60


@pytest.fixture(autouse=True)
def no_hang():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


class TestNoHangFromThePool:
    def test_two_user_threads_whose_iterations_meet_across_the_loops(self):
        # Iteration k of loop A and iteration k of loop B meet at barrier k. Run plainly in
        # two threads this completes; with a shared pool of 2 and windows of 2, the pool can
        # hand both threads to A (or B) while the partners wait in the queue.
        n = 12
        barriers = [threading.Barrier(2, timeout=20) for _ in range(n)]
        size = 2
        results = {}

        def body(x, name):
            barriers[x].wait()
            return (None, (name, x))

        def run(name):
            results[name] = list(ordered_map(body, range(n), (name,), max_workers=size, window=2))

        threads = [threading.Thread(target=run, args=(name,)) for name in "AB"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_SECONDS)
        assert not any(thread.is_alive() for thread in threads)
        for name in "AB":
            assert results[name] == [(None, (name, x)) for x in range(n)]

    def test_two_user_threads_whose_iterations_signal_each_other_through_events(self):
        # B's iteration k waits for A's iteration k; A's iteration k+1 waits for B's k.
        n = 10
        a_done = [threading.Event() for _ in range(n)]
        b_done = [threading.Event() for _ in range(n)]
        results = {}

        def a_body(x):
            if x:
                assert b_done[x - 1].wait(20)
            a_done[x].set()
            return (None, x)

        def b_body(x):
            assert a_done[x].wait(20)
            b_done[x].set()
            return (None, -x)

        def run(name, body):
            results[name] = list(ordered_map(body, range(n), max_workers=2, window=3))

        threads = [threading.Thread(target=run, args=("B", b_body)), threading.Thread(target=run, args=("A", a_body))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_SECONDS)
        assert results == {"A": [(None, x) for x in range(n)], "B": [(None, -x) for x in range(n)]}

    def test_iterations_waiting_for_their_turn_hold_every_worker_while_the_commit_runs_a_loop(self):
        # The outer loop's later iterations take the turn, so they hold both workers
        # waiting; the in-order part of outer iteration 0 then runs another parallel loop on
        # the same pool. Its items can only start on the calling thread.
        size = 2
        holding = threading.Barrier(size + 1, timeout=20)   # both workers hold a waiting iteration
        outer_seen = []

        def outer(x):
            if x > 0:
                if x <= size:
                    holding.wait()
                take_turn()
            return (None, x)

        def inner(y):
            return (None, y * y)

        it = ordered_map(outer, range(6), max_workers=size, window=4)
        for result in it:
            outer_seen.append(result[1])
            if result[1] == 0:
                holding.wait()          # iterations 1 and 2 hold the two workers now
                assert pool(size).saturated()
                inner_results = list(ordered_map(inner, range(5), max_workers=size))
                assert inner_results == [(None, y * y) for y in range(5)]
        assert outer_seen == list(range(6))
