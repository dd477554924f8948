"""The evidence layer's walkers are clients of `xcs.analysis.walker`: what changed with it."""
from __future__ import annotations

import functools
import time
import types

from xcs.evidence.guards import call_verdict, summary_of
from xcs.evidence.static import scan_function


class Printer:
    def __call__(self, x):
        print(x)


def test_a_callable_under_more_wrappers_than_three_is_still_read():
    # partial -> bound method -> callable object -> its __call__: the loop-start check used
    # to stop after three layers and call what it had not seen pure.
    wrapped = functools.partial(types.MethodType(Printer(), object()))
    found = call_verdict(wrapped, None, {})
    assert found is not None and "print" in found


def quiet(x):
    return x + 1


def test_a_pure_callable_through_wrappers_is_pure():
    assert call_verdict(functools.partial(functools.lru_cache(quiet).__wrapped__), None, {}) is None


def test_the_loop_start_check_reads_a_summary_with_the_receiver_bound():
    class Account:
        def __init__(self):
            self.total = 0

        def add(self, x):
            self.total += x

    account = Account()
    summary = summary_of(Account.add, account)
    assert [w.root for w in summary.writes] == ["param"]
    assert call_verdict(account.add, account, {}) is not None


class Base:
    def __init__(self):
        time.sleep(0)


class Derived(Base):
    pass


def test_static_evidence_follows_an_inherited_init():
    # One resolution for every walker: a class runs the `__init__` its MRO finds.
    assert [f.name for f in scan_function(Derived).blocking] == ["time.sleep"]
