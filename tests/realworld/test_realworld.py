"""The real-world corpus: every loop gives the same results plain and under XCS.

Each loop of `tests.realworld.loops` runs plain, then through `@xcs.jit` (and, for the rows
marked `auto`, under `xcs.enabled()` undecorated), against the local server in
`tests.realworld.servers`, in an empty working directory. The return value (or exception),
stdout, stderr and the files left behind must be identical. The decision must be the one the
table records (`expect`), and the server's concurrency gauge must agree with it: a loop XCS
runs in parallel had requests in flight together, a sequential one never did. Rows where XCS
gives a different result today are strict xfails carrying the diagnosis.
"""
from __future__ import annotations

import os

import pytest

import xcs
from tests.realworld import loops, servers
from tests.realworld.observe import observe, visible

LATENCY = 0.01     # seconds per request: enough for overlap to show, short enough for CI
ITEMS = 6
HERE = os.path.dirname(os.path.abspath(loops.__file__))


@pytest.fixture(scope="module")
def env():
    with servers.running_server(LATENCY) as base:
        yield loops.Env(base, ITEMS, LATENCY)


def rows(selected):
    return [pytest.param(loop, id=loop.name,
                         marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=loop.xfail) if loop.xfail else ())
            for loop in selected]


def test_the_corpus_is_real_and_documented():
    assert len(LOOPS_BY_NAME) == len(loops.LOOPS) >= 25
    for loop in loops.LOOPS:
        assert {loop.expect, *loop.versions.values()} <= {"parallel", "sequential"}, loop.name
        assert ": " in loop.origin, loop.name                        # "owner/repo: path"
        doc = loop.fn.__doc__ or ""
        assert "Changes:" in doc and "    " in doc, f"{loop.name}: docstring must quote the loop and list changes"
        if loop.xfail:
            assert loop.required, f"{loop.name}: a differing row says why order matters"
    assert sum(loop.expect == "parallel" for loop in loops.LOOPS) >= 8
    assert any(loop.auto for loop in loops.LOOPS)


LOOPS_BY_NAME = {loop.name: loop for loop in loops.LOOPS}


@pytest.mark.parametrize("loop", rows(loops.LOOPS))
def test_jit_gives_the_plain_results(loop, env, tmp_path):
    plain = observe(loop, env, loop.fn, tmp_path / "run")
    jitted_fn = xcs.jit(loop.fn)
    jitted = observe(loop, env, jitted_fn, tmp_path / "run")
    assert visible(jitted) == visible(plain)
    reports = xcs.explain(jitted_fn)
    text = "\n".join(map(str, reports))
    assert any(r.parallel for r in reports) == (loop.expected == "parallel"), text
    # Only the rows that create resources have requests sent in order because of it.
    assert ("were found to create resources" in text) == loop.ordered_requests, text
    if loop.server and plain["requests"] > 1:
        assert plain["peak"] == 1
        if loop.ordered_requests:
            assert jitted["peak"] == 1, f"requests that create resources overlapped\n{text}"
        elif loop.expected == "parallel":
            assert jitted["peak"] >= 2, f"no overlap at the server (peak {jitted['peak']})\n{text}"
        else:
            assert jitted["peak"] == 1, f"requests overlapped in a sequential loop\n{text}"


def _hook_available() -> bool:
    from xcs import native

    hook = native.hook_or_none()
    return hook is not None and hasattr(hook, "install")


def _plain_call(fn, args):
    """`fn(a0, a1, ...)` written out, not `fn(*args)`: on CPython 3.12.1 a `f(*args)` call fires
    no sys.monitoring CALL event, so auto-mode's default mechanism there parallelizes such a
    call from the second on (docs/auto-mode.md; tests/hook/test_monitoring.py covers it)."""
    names = ", ".join(f"a{i}" for i in range(len(args)))
    return eval(f"lambda fn{', ' if names else ''}{names}: fn({names})")(fn, *args)


@pytest.mark.skipif(not _hook_available(), reason="the xcs._hook C extension is not built")
@pytest.mark.parametrize("loop", rows([loop for loop in loops.LOOPS if loop.auto]))
def test_auto_mode_gives_the_plain_results(loop, env, tmp_path):
    def under_auto_mode(*args):
        with xcs.enabled(include=[HERE]):
            return _plain_call(loop.fn, args)

    plain = observe(loop, env, loop.fn, tmp_path / "run")
    auto = observe(loop, env, under_auto_mode, tmp_path / "run")
    assert visible(auto) == visible(plain)
    if loop.server and loop.ordered_requests:
        assert auto["peak"] == 1, f"requests that create resources overlapped (peak {auto['peak']})"
    elif loop.server and loop.expected == "parallel":
        assert auto["peak"] >= 2, f"auto-mode did not run {loop.name} in parallel (peak {auto['peak']})"
