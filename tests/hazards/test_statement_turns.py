"""Turns inside a statement of the loop body: a retry loop that does the work and then
writes a file and changes a shared list (`icl4code_completions` in the real-world corpus)
runs on workers, taking the iteration's turn at the first line with an ordered effect.
Compared with the plain function; overlap proven with the gauge's rendezvous; a statement
that reads, before its turn, what its turn part changes stays in order."""
from __future__ import annotations

import time

import xcs
from tests.hazards.harness import io, measuring


def retry_and_record(xs, path, max_fail):
    fail = []
    for x in xs:
        success = 0
        fail_count = 0
        while success != 1:
            try:
                r = io(x) if x % 4 else int("not a number")
                success = 1
                with open(path, "a") as f:
                    f.write(f"{x} {r}\n")
            except ValueError as e:
                print("Error:", e.args[0])
                fail_count += 1
            if fail_count > max_fail:
                fail.append(x)
                break
        time.sleep(0)   # (3.12+ lay out a `while` ending the body as a jump back into it: not understood)
    return fail


def test_a_retry_loop_writing_a_file_takes_its_turn_inside(tmp_path, capsys):
    xs = list(range(1, 25))
    expected = retry_and_record(xs, str(tmp_path / "plain.txt"), 2)
    plain_out = capsys.readouterr().out
    jitted = xcs.jit(parallel=True)(retry_and_record)
    with measuring(meet=2) as gauge:
        got = jitted(xs, str(tmp_path / "jit.txt"), 2)
        assert gauge["peak"] >= 2, gauge["peak"]
    assert got == expected == [4, 8, 12, 16, 20, 24]
    assert (tmp_path / "jit.txt").read_text() == (tmp_path / "plain.txt").read_text()
    assert capsys.readouterr().out == plain_out
    text = " ".join(str(r) for r in xcs.explain(jitted))
    assert "from its first ordered effect on" in text, text


def counts_before_appending(xs):
    seen = []
    for x in xs:
        try:
            r = io(x)
            n = len(seen)          # read before the turn: must see earlier iterations' appends
            seen.append((n, r))
        except ValueError:
            pass
    return seen


def test_a_statement_reading_what_its_turn_changes_stays_in_order():
    xs = list(range(12))
    expected = counts_before_appending(xs)
    jitted = xcs.jit(parallel=True)(counts_before_appending)
    assert jitted(xs) == expected
    text = " ".join(str(r) for r in xcs.explain(jitted))
    line = counts_before_appending.__code__.co_firstlineno + 3   # the `try` statement
    assert f"in order: line {line}" in text and "from its first ordered effect on" not in text, text


def fails_in_the_turn(xs, out):
    for x in xs:
        try:
            r = io(x)
            out.append(r)
            if x == 5:
                raise KeyError(x)
        finally:
            pass
    return out


def test_a_failure_after_the_turn_is_the_plain_failure():
    xs = list(range(12))
    plain = []
    try:
        fails_in_the_turn(xs, plain)
    except KeyError as error:
        plain_error = error.args
    got = []
    jitted = xcs.jit(parallel=True)(fails_in_the_turn)
    try:
        jitted(xs, got)
    except KeyError as error:
        assert error.args == plain_error == (5,)
    else:
        raise AssertionError("no KeyError")
    assert got == plain == list(range(6))


TOTAL = 0


def add_to_global(xs):
    global TOTAL
    TOTAL = 0
    for x in xs:
        for attempt in range(2):   # an inner loop: no hoisting takes `io(x)` out of it
            r = io(x) + attempt
            TOTAL = TOTAL * 3 + r   # order-sensitive: a different order gives another number
        time.sleep(0)
    return TOTAL


def test_a_global_rebound_inside_a_statement_takes_the_turn():
    xs = list(range(1, 17))
    expected = add_to_global(xs)
    jitted = xcs.jit(parallel=True)(add_to_global)
    with measuring(meet=2) as gauge:
        assert jitted(xs) == expected
        assert gauge["peak"] >= 2, gauge["peak"]
    text = " ".join(str(r) for r in xcs.explain(jitted))
    assert "from its first ordered effect on" in text, text
