"""What only the run shows: object lifetimes (`gc.collect()`), `groupby` and generators that
print, functions held in locals, streams, barriers, objects of unknown type, shared heaps,
the file system, context managers that switch global state.

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

import contextlib
import random
import threading

from tests.corpus.probe import io
from tests.corpus.shapes.common import XS, shape


class _Thing:
    pass


# gc.collect() observes lifetimes, which XCS stretches a little (the README's visible differences):
# such a loop stays sequential (CPython's test_dict.test_container_iterator under xcs.enable()).
@shape("sequential", "lifetime", args=(XS,))
def deleted_object_is_freed_within_the_iteration(xs):
    import gc
    import weakref
    alive = []
    for x in xs:
        thing = _Thing()
        ref = weakref.ref(thing)
        thing.value = io(x)
        del thing
        gc.collect()
        alive.append(ref() is not None)
    return alive


@shape("parallel", args=(XS,))
def last_item_does_not_outlive_the_loop(xs):
    import gc
    import weakref
    things = [_Thing() for _ in xs]
    refs = [weakref.ref(t) for t in things]
    out = []
    for t in things:
        out.append(io(id(t)) > 0)
    del things, t
    gc.collect()
    return out, [r() is None for r in refs]


@shape("sequential", "run:in-order", subject="itertools.groupby", args=("AAABBCDDDD",))
def groups_of_groupby(text):
    import itertools
    out = []
    for key, group in itertools.groupby(text):
        out.append((key, list(group), io(key)))
    return out


def _noisy_numbers(xs):
    for x in xs:
        print("producing", x)
        yield x


@shape("sequential", "run:in-order", subject="_noisy_numbers", args=(XS,))
def generator_that_prints_as_it_produces(xs):
    out = []
    for x in _noisy_numbers(xs):
        print("consuming", x)
        out.append(io(x))
    return out


@shape("sequential", "run:in-order", subject="_noisy_numbers", args=(XS,))
def enumerate_over_a_generator_that_prints(xs):
    out = []
    for k, x in enumerate(_noisy_numbers(xs)):
        out.append((k, io(x)))
        print("done", k)
    return out


def _shout(x):
    print("shout", x)
    return io(x)


def _quiet(x):
    return io(x)


@shape("sequential", "run:in-order", subject="_shout", args=(XS,))
def calls_a_printing_function_held_in_a_local(xs):
    call = _shout if xs else _quiet
    out = []
    for x in xs:
        out.append(call(x))
    return out


@shape("parallel", args=(XS,))
def calls_a_quiet_function_held_in_a_local(xs):
    call = _quiet if xs else _shout
    out = []
    for x in xs:
        out.append(call(x))
    return out


class _Stream:
    """Iterating yields record names; `read_current` reads the record the iteration is at."""

    def __init__(self, names):
        self.names, self.position = list(names), -1

    def __iter__(self):
        for k, name in enumerate(self.names):
            self.position = k
            yield name

    def read_current(self):
        return io(self.position)

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)


@shape("sequential", "iterable-used", args=(_Stream("abcdef"),))
def reads_from_the_stream_it_iterates(stream):
    out = []
    for name in stream:
        out.append((name, stream.read_current()))
    return out


@shape("sequential", "commit:ordered", subject="ready.wait", args=(XS,))
def work_after_a_barrier_reads_what_another_thread_did(xs):
    board = {"value": 0}
    ready = threading.Barrier(2, timeout=5)

    def helper():
        for x in xs:
            ready.wait()
            board["value"] = x * 100
            ready.wait()

    thread = threading.Thread(target=helper)
    thread.start()
    seen = []
    for x in xs:
        ready.wait()
        ready.wait()
        seen.append(io(board["value"]))
    thread.join()
    return seen


class _Collector:
    def __init__(self):
        self.seen = []

    def feed(self, x):
        self.seen.append(x)


def _make_collector():
    return _Collector()


@shape("parallel", args=(XS,))
def feeds_an_object_whose_type_is_unknown(xs):
    collector = _make_collector()
    for x in xs:
        collector.feed(io(x))
    return collector.seen


def _make_generator():
    return random.Random(7)


@shape("sequential", "run:in-order", subject="_random.Random.random", args=(XS,))
def draws_from_a_generator_of_unknown_type(xs):
    gen = _make_generator()
    out = []
    for x in xs:
        out.append(io(x) + gen.random())
    return out


@shape("parallel", args=(XS,))
def pops_from_a_shared_heap(xs):
    # `io(x)` runs in the map part (issue 11.6: a call inside an argument that cannot move);
    # `heapq.heappop(heap)` stays in order.
    import heapq
    heap = [5, 1, 4, 2, 3, 0, 9]
    out = []
    for x in xs:
        out.append(io(x) + heapq.heappop(heap))
    return out


@shape("parallel", args=(XS,))
def work_reads_an_iterator_a_commit_advanced(xs):
    out = []
    for x in xs:
        it = iter([io(x), x + 1, x + 2])
        out.append(next(it))
        out.append(list(it))
    return out


@shape("sequential", "commit:ordered", subject="os.mkdir", args=(["a", "a/b", "a/b/c", "d"],))
def makes_nested_directories(names):
    import os
    import tempfile
    root = tempfile.mkdtemp()
    made = []
    for name in names:
        os.mkdir(os.path.join(root, name))
        made.append(io(len(name)))
    return made, sorted(os.path.relpath(os.path.join(d, n), root) for d, ds, _ in os.walk(root) for n in ds)


@shape("parallel", args=(XS,))
def writes_one_file_per_item_after_the_work(xs):
    import os
    import tempfile
    root = tempfile.mkdtemp()
    for x in xs:
        data = io(x) * 3
        with open(os.path.join(root, f"{x}.txt"), "w") as f:
            f.write(str(data))
    return sorted((name, open(os.path.join(root, name)).read()) for name in os.listdir(root))


_MODE = {"value": "plain"}


@contextlib.contextmanager
def _mode(value):
    """Switches a process-wide setting for the `with` block, like `redirect_stdout` or `mock.patch`."""
    old = _MODE["value"]
    _MODE["value"] = value
    try:
        yield
    finally:
        _MODE["value"] = old


def _work_in_mode(x):
    return io(x), _MODE["value"]


@shape("sequential", "commit:ordered-callee", args=(XS,))
def work_inside_a_context_that_switches_global_state(xs):
    out = []
    for x in xs:
        with _mode(f"mode-{x}"):
            result = _work_in_mode(x)
        out.append(result)
    return out


@shape("sequential", "after-sync", subject="open", args=(XS,))
def reads_back_a_file_it_just_wrote(xs):
    import os
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "scratch.txt")
    out = []
    for x in xs:
        f = open(path, "w")
        f.write(str(x))
        f.close()
        out.append(io(int(open(path).read())))
    return out
