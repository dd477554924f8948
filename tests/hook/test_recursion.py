"""Deep recursion under auto-mode behaves as in plain CPython or raises RecursionError — never
a crash. Each case runs in a child process (a crash must not take pytest with it), with every
mechanism this interpreter has: the PEP 523 hook ("frame") makes each Python call a C call,
which its recursion-unit give-back (3.12) and its stack guard (all versions) keep safe;
"monitoring" (3.12+) leaves calls as plain CPython makes them."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from xcs import native

hook = native.hook_or_none()
if hook is None:
    pytest.skip(f"the xcs._hook C extension is not usable: {native._load()[1]}", allow_module_level=True)

MECHANISMS = ["frame"] + (["monitoring"] if sys.version_info >= (3, 12) else [])
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import sys, threading
    import xcs

    def rec(n):
        return 0 if n == 0 else 1 + rec(n - 1)

    def runaway(n):
        return runaway(n + 1)

    def looped(n, xs):
        # a loop XCS gives a variant (the empty list never lets evidence decide it away),
        # so with the frame hook every level is also a replaced frame
        out = []
        for x in xs:
            out.append(x * 2)
        return looped(n + 1, xs)

    mechanism, case = sys.argv[1], sys.argv[2]
    xcs.enable(mechanism=mechanism)
    if case == "near-limit":
        depth = sys.getrecursionlimit() - 50
        print("ok", rec(depth) == depth)
    elif case in ("runaway", "runaway-raised-limit", "runaway-loop-raised-limit"):
        if case != "runaway":
            sys.setrecursionlimit(10**5)
        try:
            (looped(0, []) if "loop" in case else runaway(0))
        except RecursionError:
            print("ok raised")
    elif case == "small-thread-stack":
        threading.stack_size(256 * 1024)
        outcome = []

        def work():
            try:
                outcome.append(rec(900) == 900)
            except RecursionError:
                outcome.append("raised")

        t = threading.Thread(target=work)
        t.start()
        t.join()
        print("ok", outcome)
    xcs.disable()
""")


def run_child(mechanism: str, case: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO] + sys.path))
    env.pop("XCS_DISABLE", None)
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", CHILD, mechanism, case], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_recursion_to_just_below_the_limit_works(mechanism):
    out = run_child(mechanism, "near-limit")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", "True"]


@pytest.mark.parametrize("case", ["runaway", "runaway-raised-limit", "runaway-loop-raised-limit"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_runaway_recursion_raises_and_never_crashes(mechanism, case):
    out = run_child(mechanism, case)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "ok raised"


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_deep_recursion_in_a_thread_with_a_small_stack_completes_or_raises(mechanism):
    out = run_child(mechanism, "small-thread-stack")
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() in ("ok [True]", "ok ['raised']")
    if mechanism == "monitoring":
        assert out.stdout.strip() == "ok [True]"   # no hook: calls stay inlined, as plain


def test_the_stack_guard_knows_each_threads_stack():
    import threading

    floor, margin = hook.stack_guard()
    assert floor > 0 and margin >= 256 * 1024          # the main thread's stack is 8 MiB here
    seen = []
    old = threading.stack_size(256 * 1024)
    try:
        t = threading.Thread(target=lambda: seen.append(hook.stack_guard()))
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert seen[0][1] == 128 * 1024                    # at most half of a small stack
