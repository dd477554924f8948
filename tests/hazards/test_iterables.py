"""Iterables: XCS pulls items ahead of the iterations only when nobody can observe it.

Each hazard row runs a loop plainly and under `xcs.jit(parallel=True)` and compares every
observable (`same`). The iterable is one whose pulling has effects (prints, shared lists,
pipes), whose items are lazy views of a shared source (`chunks`, `groupby` groups), or that
the body also reads (`f.readline()`, `f.tell()`, `next(f)`). The last rows prove the common
inert iterables (lists, ranges, dict views, `enumerate`/`zip` over them, a pure generator)
still run in parallel.
"""
from __future__ import annotations

import csv
import io as text_io
import itertools
import logging
import os
import subprocess
import sys
import threading
from itertools import chain, groupby, islice, tee

import pytest

import xcs
from tests.hazards.harness import io, peak_of, same, slow

LINES = "".join(f"line {k}\n" for k in range(12))
shared: list = []
state = {"n": 0}


def reset():
    shared.clear()
    state["n"] = 0


def text():
    return (LINES,)


# ----------------------------------------------------------------- the body reads the iterated object


def readline_in_body(source):
    f = text_io.StringIO(source)
    out, extra = [], []
    for line in f:
        out.append(slow(len(line)))
        extra.append(f.readline())
    return out, extra


def readline_through_enumerate(source):
    f = text_io.StringIO(source)
    out = []
    for i, line in enumerate(f):
        y = slow(i)
        out.append((y, line, f.readline()))
    return out


def tell_through_enumerate(source):
    f = text_io.StringIO(source)
    out = []
    for i, line in enumerate(f):
        pos = f.tell()
        out.append((slow(i), pos))
    return out


def next_through_zip(source):
    f = text_io.StringIO(source)
    g = text_io.StringIO(LINES)
    out = []
    for a, b in zip(f, g):
        y = slow(len(a))
        out.append((y, b, next(g, None)))
    return out


def next_through_islice(source):
    f = text_io.StringIO(source)
    out, skipped = [], []
    for line in islice(f, 8):
        y = slow(line)
        out.append(y)
        skipped.append(next(f, None))
    return out, skipped


def csv_reader_and_tell(source):
    f = text_io.StringIO(source)
    out = []
    for row in csv.reader(f):
        out.append((slow(len(row[0])), f.tell()))
    return out


def reader_named_before_the_loop(source):
    f = text_io.StringIO(source)
    reader = csv.reader(f)
    out = []
    for row in reader:
        out.append((slow(len(row[0])), f.tell()))
    return out


@pytest.mark.parametrize("fn", [readline_in_body, readline_through_enumerate, tell_through_enumerate,
                                next_through_zip, next_through_islice, csv_reader_and_tell,
                                reader_named_before_the_loop])
def test_the_body_reads_the_object_the_loop_iterates(fn):
    same(fn, text)


# ----------------------------------------------------------------- class-based iterators with effects


class Printing:
    def __init__(self, n):
        self.k, self.n = 0, n

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= self.n:
            raise StopIteration
        self.k += 1
        print("pulled", self.k)
        return self.k


class Recording:
    def __init__(self, n):
        self.k, self.n = 0, n

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= self.n:
            raise StopIteration
        self.k += 1
        shared.append(("pulled", self.k))
        return self.k


class Counter:
    """Each item reads a counter the loop body advances."""

    def __init__(self, n):
        self.k, self.n = 0, n

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= self.n:
            raise StopIteration
        self.k += 1
        return self.k * 100 + state["n"]


class Progress:
    """Each item reads how long a list is that the loop body appends to."""

    def __init__(self, seen, n):
        self.seen, self.k, self.n = seen, 0, n

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= self.n:
            raise StopIteration
        self.k += 1
        return self.k, len(self.seen)


def over_progress(n):
    seen = []
    for k, m in Progress(seen, n):
        seen.append(slow(k) * 100 + m)
    return seen


def over_printing_iterator(n):
    out = []
    for x in Printing(n):
        out.append(slow(x))
        print("done", x)
    return out


def over_recording_iterator(n):
    for x in Recording(n):
        shared.append(("done", slow(x)))
    return list(shared)


def over_counter(n):
    out = []
    for x in Counter(n):
        out.append(slow(x))
        state["n"] += 1
    return out


def ticks(n):
    for k in range(n):
        yield k * 100 + state["n"]       # reads a counter the loop body advances


def over_ticks(n):
    out = []
    for x in ticks(n):
        out.append(slow(x))
        state["n"] += 1
    return out


total = 0


def totals(n):
    for k in range(n):
        yield k, total                   # reads a global the loop body rebinds


def over_totals(n):
    global total
    total = 0
    out = []
    for k, t in totals(n):
        out.append(slow(k) + t)
        total += k
    return out


@pytest.mark.parametrize("fn", [over_printing_iterator, over_recording_iterator, over_counter, over_progress,
                                over_ticks, over_totals])
def test_sources_with_effects_or_reading_what_the_loop_changes(fn):
    same(fn, lambda: (8,), setup=reset)


# ----------------------------------------------------------------- wrappers over generators with effects


def printing(n):
    for k in range(n):
        print("produce", k)
        yield k


def logging_gen(n):
    for k in range(n):
        logging.getLogger("gen").info("produce %d", k)
        yield k


def recording(n):
    for k in range(n):
        shared.append(("produce", k))
        yield k


def islice_of_printing(n):
    out = []
    for x in islice(printing(n + 4), n):
        out.append(slow(x))
        print("got", x)
    return out


def map_of_printing(n):
    out = []
    for x in map(str, printing(n)):
        out.append(slow(x))
        print("got", x)
    return out


def filter_of_logging(n):
    out = []
    for x in filter(None, logging_gen(n)):
        out.append(slow(x))
        logging.getLogger("loop").info("got %s", x)
    return out


def zip_of_recording(n):
    for x, y in zip(recording(n), range(n)):
        shared.append(("got", slow(x), y))
    return list(shared)


def enumerate_of_printing(n):
    out = []
    for i, x in enumerate(printing(n)):
        out.append(slow(x))
        print("got", i)
    return out


def chain_of_printing(n):
    out = []
    for x in chain([100, 101], printing(n)):
        out.append(slow(x))
        print("got", x)
    return out


def callable_sentinel(n):
    counter = itertools.count()

    def draw():
        k = next(counter)
        print("draw", k)
        return k

    out = []
    for x in iter(draw, n):
        out.append(slow(x))
        print("got", x)
    return out


def tee_half_of_printing(n):
    a, b = tee(printing(n))
    out = []
    for x in a:
        out.append(slow(x))
        print("got", x)
    return out, list(b)


class PrintingSequence:
    """The old sequence protocol: `for` calls `__getitem__` with 0, 1, ... until IndexError."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        if k >= self.n:
            raise IndexError(k)
        print("index", k)
        return k


def over_printing_sequence(n):
    out = []
    for x in PrintingSequence(n):
        out.append(slow(x))
        print("got", x)
    return out


def reversed_printing_sequence(n):
    out = []
    for x in reversed(PrintingSequence(n)):
        out.append(slow(x))
        print("got", x)
    return out


@pytest.mark.parametrize("fn", [over_printing_sequence, reversed_printing_sequence, islice_of_printing, map_of_printing, filter_of_logging, zip_of_recording,
                                enumerate_of_printing, chain_of_printing, callable_sentinel,
                                tee_half_of_printing])
def test_wrappers_over_effectful_sources(fn):
    same(fn, lambda: (8,), setup=reset)


# ----------------------------------------------------------------- lazy items: views of a shared iterator


def chunks(it, n):
    it = iter(it)
    for first in it:
        yield chain([first], islice(it, n - 1))


def post(x):
    return slow(x[0] if x else 0) and x


def the_chunks_recipe(n):
    out = []
    for c in chunks(range(n), 4):
        out.append(post([r * 10 for r in c]))
    return out


def chunks_read_in_the_work(n):
    out = []
    for c in chunks(range(n), 4):
        y = [r * 10 for r in c]          # the chunk is consumed on a worker
        out.append(post(y))
    return out


def chunks_as_lists(n):
    out = []
    for c in chunks(range(n), 4):
        out.append(post(list(c)))        # no comprehension: parallel-capable on 3.11 too
    return out


def groups_of(xs):
    for _, group in groupby(xs):
        yield group


def groups_through_a_generator(text_):
    out = []
    for g in groups_of(text_):
        out.append(post(list(g)))
    return out


def enumerated_chunks(n):
    out = []
    for i, c in enumerate(chunks(range(n), 3)):
        out.append((i, post(list(c))))
    return out


def test_chunks_recipe_items_are_views_of_one_iterator():
    same(the_chunks_recipe, lambda: (12,))
    same(chunks_as_lists, lambda: (12,))
    same(chunks_read_in_the_work, lambda: (12,))
    same(enumerated_chunks, lambda: (12,))


def open_all(paths):
    for p in paths:
        with open(p) as f:
            yield f                      # closed when the next item is pulled


def read_each(paths):
    out = []
    for f in open_all(paths):
        lines = list(f)                  # read on a worker
        out.append(slow(len(lines[0]) if lines else 0))
    return out


def test_files_a_generator_closes_at_the_next_pull(tmp_path):
    paths = []
    for k in range(8):
        (tmp_path / f"f{k}").write_text("x" * k)
        paths.append(str(tmp_path / f"f{k}"))
    same(read_each, lambda: (list(paths),))


class Lease:
    """A resource that must not be used once released."""

    def __init__(self, k):
        self.k, self.released = k, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.released = True

    def value(self):
        slow(self.k)                     # a blocking call, then the lease must still be held
        if self.released:
            raise RuntimeError(f"lease {self.k} used after release")
        return self.k


def leases(n):
    for k in range(n):
        with Lease(k) as lease:
            yield lease                  # released when the next item is pulled


def use_leases(n):
    out = []
    for lease in leases(n):
        v = lease.value()
        out.append(v)
    return out


def test_resources_a_generator_releases_at_the_next_pull():
    same(use_leases, lambda: (8,))


def test_groupby_groups_handed_out_by_a_generator():
    same(groups_through_a_generator, lambda: ("AAABBCDDDDEF",))


# ----------------------------------------------------------------- pipes: the next line depends on the body

ECHO = ("import sys\n"
        "for line in sys.stdin:\n"
        "    print(line.strip().upper(), flush=True)\n")


def request_response(n):
    proc = subprocess.Popen([sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)
    watchdog = threading.Timer(10, proc.kill)   # a deadlocked loop ends (and fails) instead of hanging
    watchdog.start()
    out = []
    try:
        proc.stdin.write("req0\n")
        proc.stdin.flush()
        for line in proc.stdout:
            out.append(slow(line.strip()))
            if len(out) < n:
                proc.stdin.write(f"req{len(out)}\n")
                proc.stdin.flush()
            else:
                proc.stdin.close()
    finally:
        watchdog.cancel()
        proc.wait()
        proc.stdout.close()
    return out


child: dict = {}


def answers():
    for line in child["proc"].stdout:   # the pipe appears in the generator's frame once it runs
        yield line.strip()


def request_response_through_a_generator(n):
    proc = child["proc"] = subprocess.Popen([sys.executable, "-c", ECHO], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True, bufsize=1)
    watchdog = threading.Timer(10, proc.kill)
    watchdog.start()
    out = []
    try:
        proc.stdin.write("req0\n")
        proc.stdin.flush()
        for answer in answers():
            out.append(slow(answer))
            if len(out) < n:
                proc.stdin.write(f"req{len(out)}\n")
                proc.stdin.flush()
            else:
                proc.stdin.close()
    finally:
        watchdog.cancel()
        proc.wait()
        proc.stdout.close()
    return out


def test_request_response_over_a_pipe_does_not_pull_ahead():
    same(request_response, lambda: (5,))
    same(request_response_through_a_generator, lambda: (5,))


# ----------------------------------------------------------------- inert iterables stay parallel


def pure(n):
    for k in range(n):
        yield k * 2


def over_list(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


def over_range(n):
    out = []
    for x in range(n):
        out.append(io(x))
    return out


def over_dict_items(d):
    out = []
    for k, v in d.items():
        out.append((k, io(v)))
    return out


def over_enumerate_list(xs):
    out = []
    for i, x in enumerate(xs):
        out.append((i, io(x)))
    return out


def over_zip_lists(xs):
    out = []
    for a, b in zip(xs, list(reversed(xs))):
        out.append(io(a + b))
    return out


def over_pure_generator(n):
    out = []
    for x in pure(n):
        out.append(io(x))
    return out


def over_islice_of_list(xs):
    out = []
    for x in islice(xs, 2, None):
        out.append(io(x))
    return out


def over_map_of_range(n):
    out = []
    for x in map(str, range(n)):
        out.append(io(x))
    return out


class Countdown:
    """A class-based iterator whose `__next__` changes only its own state."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n


class Pages:
    """A class-based iterator over a private copy of a list."""

    def __init__(self, xs):
        self.items, self.k = list(xs), 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= len(self.items):
            raise StopIteration
        self.k += 1
        return self.items[self.k - 1]


def over_pages(xs):
    out = []
    for x in Pages(xs):
        out.append(io(x))
    return out


TABLE = list(range(8))


def rows():
    for x in TABLE:                      # a global list nobody changes
        yield x


def over_rows():
    out = []
    for x in rows():
        out.append(io(x))
    return out


def over_class_iterator(n):
    out = []
    for x in Countdown(n):
        out.append(io(x))
    return out


def fresh_iterators(n):
    for k in range(n):
        yield iter([k, k + 1])     # lazy, but nobody else's: not a view of the generator's source


def over_fresh_iterators(n):
    out = []
    for pair in fresh_iterators(n):
        out.append(io(list(pair)))
    return out


def over_chain_of_lists(n):
    out = []
    for x in chain(range(n // 2), [k for k in range(n // 2, n)]):
        out.append(io(x))
    return out


def over_scandir(path):
    out = []
    for entry in os.scandir(path):
        out.append(io(entry.name))
    return out


def over_file_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            out.append(io(line.strip()))
    return out


INERT = [(over_list, lambda: (list(range(8)),)), (over_range, lambda: (8,)),
         (over_dict_items, lambda: ({k: k * k for k in range(8)},)), (over_enumerate_list, lambda: (list(range(8)),)),
         (over_zip_lists, lambda: (list(range(8)),)), (over_pure_generator, lambda: (8,)),
         (over_islice_of_list, lambda: (list(range(10)),)), (over_map_of_range, lambda: (8,)),
         (over_class_iterator, lambda: (8,)), (over_rows, tuple), (over_pages, lambda: (list(range(8)),)), (over_fresh_iterators, lambda: (8,)), (over_chain_of_lists, lambda: (8,))]


@pytest.mark.parametrize("fn,make_args", INERT, ids=[fn.__name__ for fn, _ in INERT])
def test_inert_iterables_stay_parallel(fn, make_args):
    jitted = same(fn, make_args)
    result, peak = peak_of(jitted, *make_args(), overlap=4)
    assert result == fn(*make_args())
    assert peak >= 4


def test_lines_of_a_regular_file_stay_parallel(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text(LINES)
    jitted = same(over_file_lines, lambda: (str(path),))
    result, peak = peak_of(jitted, str(path), overlap=4)
    assert result == over_file_lines(str(path))
    assert peak >= 4


def test_directory_entries_stay_parallel(tmp_path):
    for k in range(8):
        (tmp_path / f"f{k}").write_text("x")
    jitted = same(over_scandir, lambda: (str(tmp_path),))
    result, peak = peak_of(jitted, str(tmp_path), overlap=4)
    assert sorted(result) == [f"f{k}" for k in range(8)]
    assert peak >= 4


def test_an_exception_leaves_at_most_the_window_pulled_ahead():
    """README: after an iteration fails, the caller's iterator has been pulled at most the
    window (`default_window(max_workers)`, 4 × max_workers) past the failing item."""
    from xcs.runtime.ordered import default_window
    def failing(it):
        out = []
        for x in it:
            out.append(io(x) if x != 3 else 1 // 0)
        return out

    jitted = xcs.jit(failing, parallel=True, max_workers=4)
    for _ in range(2):
        it = iter(range(100))
        with pytest.raises(ZeroDivisionError):
            jitted(it)
        assert 4 <= next(it) <= 3 + default_window(4)   # the failing item and at most window - 1 after it
