"""Helpers, shared state and `try`: failures part-way, user functions that change their
arguments or shared objects, files and resources opened per item, containers of containers,
methods with and without instance state, `try` blocks, buffers, events and queues.

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

import contextlib
import queue
import threading

from tests.corpus.probe import fail_on, io
from tests.corpus.shapes.common import XS, log, shape




# 3.11 compiles the comprehension as a closure over `x`, so there the inner loop is the
# parallel one; 3.12+ inline it and the outer loop runs in parallel. Either way 3 calls overlap.
@shape("parallel", args=(XS, [1, 2, 3]), overlap=3)
def comprehension_in_map(xs, ys):
    out = []
    for x in xs:
        row = [io(x * y) for y in ys]
        out.append(row)
    return out


@shape("parallel", args=(XS,))
def loop_inside_with(xs):
    import contextlib
    with contextlib.nullcontext([]) as out:
        for x in xs:
            out.append(io(x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_caught_outside_loop(xs):
    out = []
    try:
        for x in xs:
            out.append(fail_on(x, 4))
    except ValueError as error:
        out.append(str(error))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_after_commit_in_same_iteration(xs):
    out = []
    try:
        for x in xs:
            out.append(("before", x))
            y = fail_on(x, 3)
            out.append(y)
    except ValueError:
        pass
    return out, x


@shape("parallel", args=(XS,), overlap=False)
def unpack_failure_in_target(xs):
    out = []
    try:
        for a, b in [(x, x) if x != 4 else (x,) for x in xs]:
            out.append(io(a + b))
    except ValueError as error:
        out.append(str(error))
    return out


def _add_to(acc, value):
    acc.append(value)


@shape("parallel", args=(XS,))
def helper_mutates_argument_with_hoisted_io(xs):
    out = []
    for x in xs:
        _add_to(out, io(x))
    return out


def _fetch_into(acc, x):
    acc.append(io(x))
    return len(acc)


@shape("sequential", "commit:ordered-callee", subject="acc", args=(XS,))
def helper_mutates_argument(xs):
    out, sizes = [], []
    for x in xs:
        n = _fetch_into(out, x)
        sizes.append(n)
    return out, sizes


@shape("sequential", "commit:ordered", subject="open", args=(XS,))
def appends_to_file_opened_per_iteration(xs):
    import os
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "log.txt")
    for x in xs:
        with open(path, "a") as f:
            f.write(f"{io(x)}\n")
    with open(path) as f:
        return f.read()


def _load_first_line(path):
    with open(path) as f:
        return _read_line(f)


def _read_line(f):
    return f.readline().strip()


@shape("parallel", args=(XS,))
def helper_reads_file_it_opened(xs):
    import os
    import tempfile
    folder = tempfile.mkdtemp()
    for x in xs:
        with open(os.path.join(folder, f"{x}.txt"), "w") as f:
            f.write(f"line {x}\n")
    lines = []
    for x in xs:
        io(x)
        lines.append(_load_first_line(os.path.join(folder, f"{x}.txt")))
    return lines


_SHARED_LOG = []


def _log_into(items, x, log=_SHARED_LOG):
    log.append(x)
    return io(x)


@shape("sequential", "commit:ordered-callee", subject="log", args=(XS,))
def helper_mutates_its_mutable_default(xs):
    _SHARED_LOG.clear()
    out = []
    for x in xs:
        y = _log_into([], x)
        out.append(y)
    return out, list(_SHARED_LOG)


class _Resource:
    """A context manager whose __enter__ returns itself, like a file or an HTTP response."""

    def __init__(self, x):
        self.x, self.consumed = x, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        self.consumed = True
        return io(self.x)


def _load(x):
    with _Resource(x) as r:
        return r.read()


@shape("parallel", args=(XS,), policy=True)  # methods of a local object: no static evidence, and a probe's lone first iteration cannot pass the barrier
def helper_reads_a_resource_it_opened(xs):
    out = []
    for x in xs:
        out.append(_load(x) * 2)
    return out


class _Response:
    """Like `urllib.request.urlopen(url)`: making it waits for the answer; the body is read
    inside the `with` block."""

    def __init__(self, x):
        self.body = io(x)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body * 2


@shape("parallel", args=(XS,), policy=True)  # a class made per item: no static evidence; the probe's lone first iteration cannot pass the barrier
def appends_inside_the_with_of_a_manager_made_per_item(xs):
    out = []
    for x in xs:
        with _Response(x) as r:
            out.append(r.read())
    return out


@shape("sequential", "commit-read", subject="out", args=(XS,), policy=True)
def with_manager_made_from_what_the_commit_changes(xs):
    out = []
    for x in xs:
        with _Response(len(out) + x) as r:
            out.append(r.read())
    return out


_SHARED_RESOURCE = _Resource(0)


def _load_shared(x):
    with _SHARED_RESOURCE as r:
        return r.read() + x


@shape("sequential", "commit:ordered-callee", subject="r", args=(XS,))
def helper_reads_a_shared_resource(xs):
    out = []
    for x in xs:
        out.append(_load_shared(x))
    return out


@shape("parallel", args=(XS,))
def nested_loop_builds_row_per_item(xs):
    out = []
    for x in xs:
        row = []
        for k in range(3):
            row.append(k * x)
        out.append((io(x), row))
    return out


@shape("parallel", args=(XS,))
def appends_to_a_list_inside_a_dict(xs):
    groups = {"all": [], "odd": []}
    for x in xs:
        groups["all"].append(io(x))
    return groups


@shape("parallel", args=(XS, [[]]))
def appends_to_an_element_of_an_argument(xs, shared):
    for x in xs:
        shared[0].append(io(x))
    return shared


@shape("parallel", args=(XS,))
def appends_to_what_a_call_returns(xs):
    buckets = {"a": []}
    for x in xs:
        y = io(x)
        buckets.get("a").append(y)
    return buckets


@shape("sequential", "item-changed", subject="row['y']", args=([{"x": x, "y": 0} for x in XS],))
def reads_the_key_it_stores_into_each_item(rows):
    for row in rows:
        row["y"] = io(row["x"] + row["y"])
    return rows


@shape("sequential", "commit-read", subject="table['r']", args=(XS,))
def reads_an_element_the_commit_changes(xs):
    table = {"r": [], "s": []}
    for x in xs:
        row = table["r"]
        n = io(len(row))
        table["r"].append(n + x)
    return table


@shape("sequential", "commit-read", subject="table", args=(XS,))
def reads_by_variable_key_what_the_commit_changes(xs):
    table = {"r": [0], "s": [0]}
    keys = ["r", "s"]
    for x in xs:
        n = io(len(table[keys[x % 2]]))
        table["r"].append(n + x)
    return table


class _Client:
    """A client whose `fetch` counts its calls on the instance: shared state."""

    def __init__(self):
        self.calls = 0

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def fetch(self, x):
        self.calls += 1
        return io(x)

    def lookup(self, x):
        return io(x) * 10


@shape("sequential", "commit:ordered-callee", subject="self.calls", args=(XS, _Client()))
def method_that_counts_on_its_instance(xs, client):
    out = []
    for x in xs:
        out.append(client.fetch(x))
    return out, client.calls


@shape("parallel", args=(XS, _Client()))
def method_without_shared_state(xs, client):
    out = []
    for x in xs:
        out.append(client.lookup(x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_around_the_call_logs_failures_and_continues(xs):
    out = []
    for x in xs:
        try:
            r = fail_on(x, 3)
        except ValueError as error:
            print("skipped", x, error)
            continue
        out.append(r)
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_around_an_append_records_failures(xs):
    out = []
    for x in xs:
        try:
            out.append(fail_on(x, 4))
        except ValueError as error:
            out.append(f"failed: {error}")
            log.warning("item %s failed", x)
    return out


@shape("parallel", args=(XS,))
def try_with_logging_in_handler_and_no_failure(xs):
    out = []
    for x in xs:
        try:
            r = io(x)
        except ValueError:
            log.exception("never")
            r = None
        out.append(r)
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_followed_by_more_work_keeps_the_try_in_order(xs):
    out = []
    for x in xs:
        try:
            r = fail_on(x, 2)
        except ValueError:
            print("failed", x)
            r = -1
        z = io(x + 10)
        out.append((r, z))
    return out


@shape("parallel", args=(XS,))
def try_around_a_print_of_the_call(xs):
    # The conditional expression runs whole in the map part (issue 11.6); the prints, and the
    # ValueError of item 3 re-raised inside the `try`, stay in order.
    for x in xs:
        try:
            print(fail_on(x, 3) if x % 2 else -x)
        except ValueError:
            print("failed", x)


class _Writer:
    """Like `ConfigParser.write(fp)`: a method named `write` that fills the buffer it is given."""

    def write(self, buffer):
        buffer.append("written")

    def __eq__(self, other):
        return type(other) is type(self)


@shape("parallel", args=(XS, _Writer()))
def commit_fills_a_buffer_the_work_then_reads(xs, writer):
    out = []
    for x in xs:
        buffer = [io(x)]
        writer.write(buffer)
        size = len(buffer)
        out.append(size)
    return out


@shape("parallel", args=(XS,))
def work_sorts_a_list_an_earlier_print_showed(xs):
    out = []
    for x in xs:
        data = [io(x), 3, 1]
        print(data)
        data.sort()
        out.append(data)
    return out


@shape("parallel", args=(XS,))
def sets_an_event_per_item(xs):
    events = [threading.Event() for _ in xs]
    order = []
    for k, x in enumerate(xs):
        events[k].set()
        order.append(io(x))
    return order, [e.is_set() for e in events]


@shape("sequential", "commit:ordered", subject="work.get", args=(XS,))
def takes_work_from_a_queue(xs):
    work = queue.Queue()
    for x in xs:
        work.put(x * 10)
    out = []
    for x in xs:
        job = work.get()
        out.append(io(job + x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_after_a_variable_is_reassigned(xs):
    out = []
    try:
        for x in xs:
            a = ("first", io(x))
            out.append(a)
            a = ("second", io(x))
            b = fail_on(x, 4)
    except ValueError:
        pass
    return out, a
