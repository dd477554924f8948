"""Captured output: each sentence of the output rules of `ordered_map` and of
`xcs.runtime.capture`, checked byte for byte against the plain loop.

`observe(run)` sends stdout, stderr and the text of every log record (with its thread
name) into ONE text stream, so the comparison covers the exact interleaving of the three.
"""
from __future__ import annotations

import _thread
import asyncio
import contextlib
import io
import logging
import sys
import threading
import time

import pytest

from xcs.runtime import capture, in_iteration, ordered_map, take_turn
from xcs.runtime.capture import _Stream

from .helpers import Meter, drain, wait_until_main_thread_waits

log = logging.getLogger("xcs.test.capture")


class Boom(Exception):
    pass


class _Into(logging.Handler):
    def __init__(self, sink):
        super().__init__(logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("[%(levelname)s %(name)s %(threadName)s %(thread)d] %(message)s"))

    def emit(self, record):
        self.sink.write(self.format(record) + "\n")


def observe(run):
    """(what `run()` returned, everything written to stdout/stderr/log, in one string)."""
    sink = io.StringIO()
    handler = _Into(sink)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            outcome = run()
    finally:
        log.removeHandler(handler)
    return outcome, sink.getvalue()


def plain(body, items, commit=None, stop_after=None):
    for n, x in enumerate(items):
        try:
            result = body(x)
        except BaseException as error:  # noqa: BLE001
            return repr(error)
        if stop_after is not None and n == stop_after:
            return "stopped"        # the consumer leaves the loop after receiving this result
        if commit is not None:
            commit(result)
    return "done"


def parallel(body, items, commit=None, stop_after=None, **options):
    options.setdefault("max_workers", 4)
    it = ordered_map(body, items, **options)
    for n, result in enumerate(it):
        if stop_after is not None and n == stop_after:
            it.close()
            return "stopped"
        if len(result) == 1:
            return repr(result[0])
        if commit is not None:
            commit(result)
    return "done"


def shrinking(x, n=6):
    time.sleep(0.0015 * (n - x % n))


def printing(x):
    shrinking(x)
    print("out", x)
    sys.stderr.write(f"err {x}\n")
    log.info("record %d", x)
    print("a", x, "b", sep="-", end="|")
    print(file=sys.stderr)
    sys.stdout.writelines([f"l{x}", "\n"])
    log.warning("warn %s", x)
    print("flushed", x, flush=True)
    return (None, x)


def around_the_turn(x):
    shrinking(x)
    print("before", x)
    log.info("before %d", x)
    if x % 2:
        take_turn()
    print("after", x)
    sys.stderr.write(f"after err {x}\n")
    log.info("after %d", x)
    return (None, x)


def failing(x):
    shrinking(x)
    print("start", x)
    log.info("start %d", x)
    if x == 4:
        sys.stderr.write("about to fail\n")
        raise Boom(x)
    print("end", x)
    return (None, x)


def _inner(y, x):
    print("  inner", x, y)
    if y == 1:
        take_turn()
    log.info("inner %d %d", x, y)
    return (None, y)


def nesting(x):
    shrinking(x)
    print("outer", x)
    got = list(ordered_map(_inner, range(3), (x,), max_workers=3))
    print("outer done", x, len(got))
    return (None, x)


def commit_prints(result):
    print("commit", result[1])
    log.info("commit %d", result[1])


SHAPES = {
    "prints, writes and records": (printing, range(10), {}),
    "before and after take_turn": (around_the_turn, range(10), {}),
    "exception after output": (failing, range(10), {}),
    "nested loop in the body": (nesting, range(6), {}),
    "empty loop": (printing, range(0), {}),
    "closed early": (printing, range(10), {"stop_after": 3}),
    "window above the workers": (around_the_turn, range(9), {"window": 6}),
    "one worker": (printing, range(5), {"max_workers": 1}),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("with_commit", [False, True])
def test_output_equals_the_plain_loop_byte_for_byte(shape, with_commit):
    body, items, options = SHAPES[shape]
    commit = commit_prints if with_commit else None
    stop_after = options.get("stop_after")
    options = {k: v for k, v in options.items() if k != "stop_after"}
    expected = observe(lambda: plain(body, items, commit, stop_after))
    got = observe(lambda: parallel(body, items, commit, stop_after, **options))
    assert got == expected
    assert "xcs-worker" not in got[1]


def test_bodies_that_print_and_never_take_the_turn_overlap_and_output_stays_in_order():
    n = 8
    barrier = threading.Barrier(4, timeout=10)
    meter = Meter()

    def body(x, meet):
        with meter:
            print("fetching", x)
            meet(x)
            shrinking(x)
            log.info("fetched %d", x)
        return (None, x)

    expected = observe(lambda: plain(lambda x: body(x, lambda x: None), range(n)))
    got = observe(lambda: parallel(lambda x: body(x, lambda x: x < 4 and barrier.wait()), range(n)))
    assert got == expected
    assert meter.peak == 4


def test_a_record_gets_the_calling_threads_identity_and_reaches_handlers_on_the_calling_thread():
    seen = []

    class Handler(logging.Handler):
        def emit(self, record):
            seen.append((record.getMessage(), record.thread, record.threadName, threading.get_ident()))

    handler = Handler()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        def body(x):
            log.info("captured %d", x)
            if x % 2:
                take_turn()                           # writes out the capture on this worker
                log.info("in turn %d", x)
            return (None, x)

        list(ordered_map(body, range(6), max_workers=2))
    finally:
        log.removeHandler(handler)
    me, name = threading.get_ident(), threading.current_thread().name
    expected = []
    for x in range(6):
        expected += [(f"captured {x}", me, name)] + ([(f"in turn {x}", me, name)] if x % 2 else [])
    assert [s[:3] for s in seen] == expected
    handled_by = [s[3] for s in seen if s[0].startswith("captured")]
    assert handled_by[0::2] == [me] * 3               # replayed by the calling thread
    assert me not in handled_by[1::2]                 # written out by take_turn on the worker


@pytest.mark.skipif(sys.version_info < (3, 12), reason="LogRecord.taskName is new in 3.12")
def test_a_record_gets_the_task_name_the_calling_thread_has():
    names = []

    class Handler(logging.Handler):
        def emit(self, record):
            names.append(record.taskName)

    def body(x):
        log.info("x")
        return (None, x)

    async def main(run):
        asyncio.current_task().set_name("the-task")
        run()

    handler = Handler()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        asyncio.run(main(lambda: plain(body, range(3))), debug=False)
        expected = list(names)
        names.clear()
        asyncio.run(main(lambda: parallel(body, range(3))))
    finally:
        log.removeHandler(handler)
    assert names == expected == ["the-task"] * 3


class _ByThread:
    """A stdout that files each write under the writing thread's name."""

    def __init__(self):
        self.by = {}

    def write(self, text):
        self.by.setdefault(threading.current_thread().name, []).append(text)
        return len(text)

    def flush(self):
        pass


def _in_two_user_threads(loop, body):
    """Run `loop(body-for-tag, items, commit)` in threads user-A and user-B at once."""
    sink = _ByThread()

    def run(tag):
        loop(lambda x: body(x, tag), range(9), lambda r: print(tag, "commit", r[1]))

    with contextlib.redirect_stdout(sink):
        threads = [threading.Thread(target=run, args=(tag,), name=f"user-{tag}") for tag in "AB"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    return sink


def test_two_user_threads_each_get_their_own_loops_output_replayed_on_their_own_thread():
    def body(x, tag):
        shrinking(x)
        print(tag, "fetch", x)
        return (None, x)

    expected = _in_two_user_threads(plain, body).by
    got = _in_two_user_threads(lambda b, i, c: parallel(b, i, c, max_workers=2), body).by
    assert {k: "".join(v) for k, v in got.items()} == {k: "".join(v) for k, v in expected.items()}
    assert set(got) == {"user-A", "user-B"}


def test_two_user_threads_with_turns_each_see_their_own_loops_output_in_order():
    def body(x, tag):
        shrinking(x)
        print(tag, "fetch", x)
        if x % 3 == 0:
            take_turn()
            print(tag, "turn", x)
        return (None, x)

    class Ordered(_ByThread):
        def __init__(self):
            super().__init__()
            self.order = []
            self.lock = threading.Lock()

        def write(self, text):
            with self.lock:
                self.order.append(text)
            return super().write(text)

    def run(loop):
        sink = Ordered()
        with contextlib.redirect_stdout(sink):
            threads = [threading.Thread(target=lambda t=tag: loop(lambda x: body(x, t), range(9),
                                                                  lambda r, t=t: print(t, "commit", r[1])))
                       for tag in "AB"]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        text = "".join(sink.order)
        return {tag: [line for line in text.splitlines() if line.startswith(tag)] for tag in "AB"}

    expected = run(plain)
    got = run(lambda b, i, c: parallel(b, i, c, max_workers=2))
    assert got == expected and len(got["A"]) == 9 * 2 + 3


def test_keyboard_interrupt_replays_what_was_yielded_and_restores_the_streams(python_sigint):
    release = threading.Event()
    before = sys.stdout

    def body(x):
        print("body", x)
        if x == 1:
            release.wait(10)
        return (None, x)

    def interrupter():
        wait_until_main_thread_waits()
        _thread.interrupt_main()

    def run():
        out = []
        helper = threading.Thread(target=interrupter)
        it = ordered_map(body, range(4), max_workers=2)
        out.append(next(it))
        helper.start()
        try:
            next(it)
        except KeyboardInterrupt:
            out.append("interrupted")
            # Iteration 1 still runs: the capture stays until it ends, so what it writes
            # is dropped (it is never yielded), not written to whatever stream is there.
            out.append(capture.active())
        finally:
            release.set()
            helper.join()
        drain(2)
        out.append(capture.active())
        return out

    outcome, text = observe(run)
    assert outcome == [(None, 0), "interrupted", 1, 0] and text == "body 0\n"
    assert sys.stdout is before


def test_a_failing_replay_is_delivered_as_the_iterations_failure():
    class Picky(io.StringIO):
        def write(self, text):
            if "bad" in text:
                raise UnicodeEncodeError("ascii", text, 0, 1, "no")
            return super().write(text)

    def body(x):
        print("bad" if x == 2 else "ok", x)
        return (None, x)

    def run(loop):
        sink = Picky()
        with contextlib.redirect_stdout(sink):
            outcome = loop(body, range(5))
        return outcome.split("(")[0], sink.getvalue()

    assert run(parallel) == run(plain) == ("UnicodeEncodeError", "ok 0\nok 1\n")


# --- the proxies ------------------------------------------------------------------------

def _while_a_loop_runs(check):
    """`check()` on the calling thread while a loop holds the capture; then the loop ends."""
    it = ordered_map(lambda x: (None, x), range(3), max_workers=2)
    next(it)
    try:
        return check()
    finally:
        it.close()


def test_the_proxy_behaves_like_the_wrapped_stream(capfd):
    real = sys.stdout

    def check():
        proxy = sys.stdout
        assert type(proxy) is _Stream and proxy is not real
        assert isinstance(proxy, type(real)) and isinstance(proxy, io.TextIOBase)
        assert proxy.fileno() == real.fileno() and proxy.isatty() == real.isatty()
        assert proxy.encoding == real.encoding and proxy.buffer is real.buffer
        assert proxy.write("héllo\n") == real.write("héllo\n") == 6
        assert repr(proxy) == repr(real)
        proxy.flush()
        return True

    assert _while_a_loop_runs(check)
    assert sys.stdout is real
    assert capfd.readouterr().out == "héllo\n" * 2


def test_under_capsys_the_proxy_delegates_and_writes_reach_capsys(capsys):
    real = sys.stdout

    def check():
        with pytest.raises(io.UnsupportedOperation):
            sys.stdout.fileno()
        with pytest.raises(io.UnsupportedOperation):
            real.fileno()
        return sys.stdout.write("abc")

    assert _while_a_loop_runs(check) == 3
    assert sys.stdout is real

    def body(x):
        print("x", x)
        return (None, x)

    list(ordered_map(body, range(3), max_workers=2))
    assert capsys.readouterr().out == "abcx 0\nx 1\nx 2\n"


def test_on_a_worker_write_returns_the_length_and_bytes_are_refused_like_the_text_stream(capsys):
    def body(x):
        returned = sys.stdout.write("abcd")
        try:
            sys.stdout.write(b"raw")
        except TypeError as error:
            refused = str(error)
        return (None, returned, refused, in_iteration())

    results = list(ordered_map(body, range(2), max_workers=2))
    assert results == [(None, 4, "write() argument must be str, not bytes", True)] * 2
    assert capsys.readouterr().out == "abcd" * 2


def test_asking_a_worker_stream_for_its_buffer_or_fileno_takes_the_turn(capfd):
    def body(x):
        print("text", x)
        before = in_iteration()
        sys.stdout.flush()
        sys.stdout.buffer.write(f"bytes {x}\n".encode())
        sys.stdout.buffer.flush()
        return (None, before, in_iteration())

    def run():
        return list(ordered_map(body, range(4), max_workers=2))

    assert run() == [(None, True, False)] * 4
    assert capfd.readouterr().out == "".join(f"text {x}\nbytes {x}\n" for x in range(4))


def test_redirect_stdout_outside_in_the_commit_part_and_in_the_body_as_plain():
    def body(x):
        shrinking(x)
        print("body", x)
        inner = io.StringIO()
        with contextlib.redirect_stdout(inner):       # in the body: a turn point
            print("redirected", x)
        print("got", inner.getvalue().strip())
        return (None, x)

    def commit(result):
        side = io.StringIO()
        with contextlib.redirect_stdout(side):
            print("side", result[1])
        print("commit", side.getvalue().strip())

    expected = observe(lambda: plain(body, range(6), commit))
    got = observe(lambda: parallel(body, range(6), commit))
    assert got == expected


def test_an_assignment_to_sys_stdout_in_the_commit_part_keeps_later_output_captured():
    def body(x):
        shrinking(x)
        print("body", x)
        return (None, x)

    def run(loop):
        first, second = io.StringIO(), io.StringIO()
        saved = sys.stdout
        sys.stdout = first
        try:
            loop(body, range(6), lambda r: setattr(sys, "stdout", second) if r[1] == 2 else None)
            final = sys.stdout
        finally:
            sys.stdout = saved
        return first.getvalue(), second.getvalue(), final is second

    assert run(parallel) == run(plain)


def test_everything_is_restored_after_the_last_of_several_loops_and_only_if_still_ours():
    out, handle, sys_type = sys.stdout, logging.Logger.handle, type(sys)
    one = ordered_map(lambda x: (None, x), range(5), max_workers=2)
    two = ordered_map(lambda x: (None, x), range(5), max_workers=2)
    next(one)
    next(two)
    assert capture.active() == 2 and type(sys.stdout) is _Stream and logging.Logger.handle is not handle
    one.close()
    assert capture.active() == 1 and type(sys.stdout) is _Stream
    two.close()
    assert capture.active() == 0
    assert sys.stdout is out and logging.Logger.handle is handle and type(sys) is sys_type

    three = ordered_map(lambda x: (None, x), range(5), max_workers=2)
    next(three)
    mine = io.StringIO()
    types_setattr = type(sys).__mro__[1].__setattr__
    types_setattr(sys, "stdout", mine)                # not through the hook: not ours
    try:
        three.close()
        assert sys.stdout is mine
    finally:
        sys.stdout = out


def test_unwrap_gives_the_wrapped_stream_and_leaves_other_objects_alone():
    real = sys.stdout
    assert _while_a_loop_runs(lambda: capture.unwrap(sys.stdout)) is real
    assert capture.unwrap(real) is real and capture.unwrap(42) == 42
