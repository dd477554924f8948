"""Hazard class 2: effects the analysis may not see, and the benign shapes that must stay parallel.

Each hazard test runs a plain loop and its `xcs.jit` version and compares everything
observable (harness.same): the result, stdout/stderr, log records, warnings and the
arguments afterwards. Every iteration blocks first in `slow(x)`, whose delay shrinks with x,
so on a thread pool later items finish first: an effect that ran on a worker shows up out of
order (or twice, or against the wrong state). The four benign shapes at the end must get
through a barrier that only opens when their blocking calls overlap, and equal plain.
"""
from __future__ import annotations

import csv
import faulthandler
import functools
import http.client
import http.server
import io as text_io
import itertools
import json
import logging
import operator
import os
import pickle
import random
import shutil
import sys
import sysconfig
import threading
import unittest.mock
import warnings
from warnings import warn

import pytest

import xcs
from tests.hazards.harness import io, peak_of, same, slow

ITEMS = [0, 1, 2, 3, 4, 5, 6, 7]


@pytest.fixture(autouse=True)
def watchdog():
    """A hang ends the run with every thread's traceback instead of blocking CI."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def items():
    return (list(ITEMS),)


def fetch(x):
    return slow(x) * 10


# ------------------------------------------------------------------ bound-method aliases

def alias_append(xs):
    out = []
    append = out.append
    for x in xs:
        append(fetch(x))
    return out


def alias_append_in_comprehension(groups):
    out = []
    append = out.append
    for group in groups:
        [append(fetch(y)) for y in group]
    return out


def alias_set_add(xs):
    seen = set()
    add = seen.add
    firsts = []
    for x in xs:
        key = fetch(x) % 30
        firsts.append((x, key in seen))
        add(key)
    return firsts


def alias_add_then_size(xs):
    seen = set()
    add = seen.add
    sizes = []
    for x in xs:
        add(fetch(x) % 30)
        sizes.append(len(seen))
    return sizes


def test_bound_append_alias():
    same(alias_append, items)


def test_bound_append_alias_in_list_comprehension():
    same(alias_append_in_comprehension, lambda: ([[0, 1], [2, 3], [4, 5], [6, 7]],))


def test_bound_set_add_alias():
    same(alias_set_add, items)


def test_bound_set_add_alias_then_size():
    same(alias_add_then_size, items)


# ------------------------------------------------------------------ builtins and operator on outer objects

class Value:
    """Compared by state, so the harness can compare arguments after the call."""

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


class Box(Value):
    pass


def setattr_outer(box, xs):
    for x in xs:
        setattr(box, "last", fetch(x))
    return vars(box)


def toggle(box, x):
    slow(x)
    if hasattr(box, "flag"):
        delattr(box, "flag")
        return (x, "deleted")
    setattr(box, "flag", x)
    return (x, "set")


def delattr_outer(box, xs):
    out = []
    for x in xs:
        out.append(toggle(box, x))
    return out, vars(box)


def setitem_outer(d, xs):
    for x in xs:
        operator.setitem(d, "last", fetch(x))
    return d


def iadd_outer(acc, xs):
    for x in xs:
        operator.iadd(acc, [fetch(x)])
    return acc


def pop_first(pending, x):
    slow(x)
    first = pending[0]
    operator.delitem(pending, 0)
    return (x, first)


def delitem_outer(pending, xs):
    out = []
    for x in xs:
        out.append(pop_first(pending, x))
    return out


def test_setattr_on_outer_object():
    same(setattr_outer, lambda: (Box(), list(ITEMS)))


def test_delattr_on_outer_object_in_callee():
    same(delattr_outer, lambda: (Box(), list(ITEMS)))


def test_operator_setitem_on_outer_dict():
    same(setitem_outer, lambda: ({}, list(ITEMS)))


def test_operator_iadd_on_outer_list():
    same(iadd_outer, lambda: ([], list(ITEMS)))


def test_operator_delitem_on_outer_list_in_callee():
    same(delitem_outer, lambda: (list("abcdefgh"), list(ITEMS)))


# ------------------------------------------------------------------ callbacks, closures, dispatch

def fetch_then(x, on_done=None, callback=None):
    value = fetch(x)
    if on_done is not None:
        on_done(value)
    if callback is not None:
        return (value, callback())
    return value


class Counter(Value):
    def __init__(self):
        self.n = 0

    def inc(self):
        self.n += 1
        return self.n


def callback_append(xs):
    log = []
    results = []
    for x in xs:
        results.append(fetch_then(x, on_done=log.append))
    return results, log


def callback_counter(counter, xs):
    results = []
    for x in xs:
        results.append(fetch_then(x, callback=counter.inc))
    return results


def nonlocal_rebinding(xs):
    last = None

    def remember(x):
        nonlocal last
        value = fetch(x)
        previous, last = last, value
        return previous

    previous = []
    for x in xs:
        previous.append(remember(x))
    return previous, last


class Handler(Value):
    def __init__(self):
        self.events = []

    def on_even(self, x):
        self.events.append(("even", x))
        return x

    def on_odd(self, x):
        self.events.append(("odd", x))
        return -x


def dispatch_by_name(h, xs):
    out = []
    for x in xs:
        value = slow(x)
        kind = "even" if value % 2 == 0 else "odd"
        out.append(getattr(h, "on_" + kind)(value))
    return out, h.events


def test_callback_bound_append_passed_to_callee():
    same(callback_append, items)


def test_callback_counter_method_passed_to_callee():
    same(callback_counter, lambda: (Counter(), list(ITEMS)))


def test_callee_closure_rebinds_nonlocal():
    same(nonlocal_rebinding, items)


def test_getattr_dispatch_to_methods_with_effects():
    # A computed name may reach on_even/on_odd, which change h: the call runs in order.
    same(dispatch_by_name, lambda: (Handler(), list(ITEMS)))


# ------------------------------------------------------------------ effects hidden in objects

class Job:
    created = 0

    def __init__(self, x):
        Job.created += 1
        self.x = x
        self.serial = Job.created


def reset_jobs():
    Job.created = 0


def class_counter(xs):
    out = []
    for x in xs:
        out.append(Job(slow(x)).serial)
    return out


class Meter(Value):
    def __init__(self):
        self.reads = 0

    @property
    def reading(self):
        self.reads += 1
        return self.reads


def property_with_effect(meter, xs):
    out = []
    for x in xs:
        slow(x)
        out.append((x, meter.reading))
    return out


def read_meter(meter, x):
    slow(x)
    return (x, meter.reading)


def property_with_effect_in_callee(meter, xs):
    out = []
    for x in xs:
        out.append(read_meter(meter, x))
    return out


class Recorder(Value):
    def __init__(self):
        self.asked = []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        self.asked.append(name)
        return len(self.asked)


def getattr_hook_with_effect(rec, xs):
    out = []
    for x in xs:
        out.append(lookup(rec, x))
    return out, rec.asked


def lookup(rec, x):
    slow(x)
    return getattr(rec, f"field{x}")


def test_class_level_counter_in_init():
    same(class_counter, items, setup=reset_jobs)


def test_property_with_effect_in_body():
    same(property_with_effect, lambda: (Meter(), list(ITEMS)))


def test_property_with_effect_in_callee():
    same(property_with_effect_in_callee, lambda: (Meter(), list(ITEMS)))


def test_dunder_getattr_with_effect():
    # getattr(rec, <computed>) in a callee reaches Recorder.__getattr__, which appends: in order.
    same(getattr_hook_with_effect, lambda: (Recorder(), list(ITEMS)))


# ------------------------------------------------------------------ mocks and shared counters

def call_mock(xs):
    m = unittest.mock.Mock(return_value=1)
    out = []
    for x in xs:
        out.append(m(fetch(x)))
    return out, [c.args for c in m.call_args_list]


def call_mock_in_callee(xs):
    m = unittest.mock.MagicMock()
    out = []
    for x in xs:
        out.append(notify(m, x))
    return [c.args for c in m.call_args_list]


def notify(m, x):
    value = fetch(x)
    m.send(value)
    return value


def test_mock_called_in_body():
    same(call_mock, items)


def test_magicmock_method_called_in_callee():
    same(call_mock_in_callee, items)


def count_with_bound_next(xs):
    tick = itertools.count().__next__
    out = []
    for x in xs:
        value = fetch(x)
        out.append((value, tick()))
    return out


TICKETS = itertools.count()


def reset_tickets():
    global TICKETS
    TICKETS = itertools.count()


def ticket_for(x):
    slow(x)
    return (x, next(TICKETS))


def count_with_next_in_callee(xs):
    out = []
    for x in xs:
        out.append(ticket_for(x))
    return out


def test_shared_count_bound_next():
    same(count_with_bound_next, items)


def test_shared_count_next_in_callee():
    same(count_with_next_in_callee, items, setup=reset_tickets)


# ------------------------------------------------------------------ random

DECK = list(range(10))


def body_random(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.random())
    return out


def body_randint(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.randint(0, 10**6))
    return out


def body_choice(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.choice("abcdefghijklmnop"))
    return out


def body_shuffle(xs):
    out = []
    for x in xs:
        slow(x)
        deck = list(DECK)
        random.shuffle(deck)
        out.append(deck)
    return out


def body_sample(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.sample(DECK, 3))
    return out


def body_uniform(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.uniform(0, 1))
    return out


def body_gauss(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.gauss(0, 1))
    return out


def body_getrandbits(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.getrandbits(32))
    return out


def body_randbytes(xs):
    out = []
    for x in xs:
        slow(x)
        out.append(random.randbytes(4))
    return out


def draw_random(x):
    slow(x)
    return random.random()


def draw_randint(x):
    slow(x)
    return random.randint(0, 10**6)


def draw_choice(x):
    slow(x)
    return random.choice("abcdefghijklmnop")


def draw_shuffle(x):
    slow(x)
    deck = list(DECK)
    random.shuffle(deck)
    return deck


def draw_sample(x):
    slow(x)
    return random.sample(DECK, 3)


def draw_uniform(x):
    slow(x)
    return random.uniform(0, 1)


def draw_gauss(x):
    slow(x)
    return random.gauss(0, 1)


def draw_getrandbits(x):
    slow(x)
    return random.getrandbits(32)


def draw_randbytes(x):
    slow(x)
    return random.randbytes(4)


def callee_random(xs):
    out = []
    for x in xs:
        out.append(draw_random(x))
    return out


def callee_randint(xs):
    out = []
    for x in xs:
        out.append(draw_randint(x))
    return out


def callee_choice(xs):
    out = []
    for x in xs:
        out.append(draw_choice(x))
    return out


def callee_shuffle(xs):
    out = []
    for x in xs:
        out.append(draw_shuffle(x))
    return out


def callee_sample(xs):
    out = []
    for x in xs:
        out.append(draw_sample(x))
    return out


def callee_uniform(xs):
    out = []
    for x in xs:
        out.append(draw_uniform(x))
    return out


def callee_gauss(xs):
    out = []
    for x in xs:
        out.append(draw_gauss(x))
    return out


def callee_getrandbits(xs):
    out = []
    for x in xs:
        out.append(draw_getrandbits(x))
    return out


def callee_randbytes(xs):
    out = []
    for x in xs:
        out.append(draw_randbytes(x))
    return out


RANDOM_FUNCTIONS = ["random", "randint", "choice", "shuffle", "sample", "uniform", "gauss", "getrandbits",
                    "randbytes"]
BODY_LOOPS = {name: globals()[f"body_{name}"] for name in RANDOM_FUNCTIONS}
CALLEE_LOOPS = {name: globals()[f"callee_{name}"] for name in RANDOM_FUNCTIONS}


@pytest.mark.parametrize("name", RANDOM_FUNCTIONS)
def test_random_function_in_body(name):
    same(BODY_LOOPS[name], items, setup=lambda: random.seed(0))


@pytest.mark.parametrize("name", RANDOM_FUNCTIONS)
def test_random_function_in_callee(name):
    same(CALLEE_LOOPS[name], items, setup=lambda: random.seed(0))


def rng_in_body(xs):
    rng = random.Random(0)
    out = []
    for x in xs:
        slow(x)
        out.append((rng.random(), rng.randint(0, 99), rng.choice("abcdef")))
    return out


def jitter(rng, x):
    slow(x)
    return x + rng.uniform(0, 1)


def rng_in_callee(xs):
    rng = random.Random(0)
    out = []
    for x in xs:
        out.append(jitter(rng, x))
    return out


def test_shared_random_instance_in_body():
    same(rng_in_body, items)


def test_shared_random_instance_in_callee():
    same(rng_in_callee, items)


# ------------------------------------------------------------------ process-wide state: environment, cwd, umask

ENV = "XCS_HAZARD_VALUE"


@pytest.fixture
def clean_env():
    os.environ.pop(ENV, None)
    os.unsetenv(ENV)
    yield
    os.environ.pop(ENV, None)
    os.unsetenv(ENV)


def export(x):
    value = fetch(x)
    os.environ[ENV] = str(value)
    return value


def environ_write_in_callee(xs):
    out = []
    for x in xs:
        out.append(export(x))
    return out, os.environ.get(ENV)


def export_and_read(x):
    slow(x)
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(x)
    return previous


def environ_read_back_in_callee(xs):
    out = []
    for x in xs:
        out.append(export_and_read(x))
    return out


def c_getenv(name):
    import ctypes
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    value = libc.getenv(name.encode())
    return value.decode() if value is not None else None


def put(x):
    value = fetch(x)
    os.putenv(ENV, str(value))
    return value


def putenv_in_callee(xs):
    out = []
    for x in xs:
        out.append(put(x))
    return out, c_getenv(ENV)


def unset_env():
    os.environ.pop(ENV, None)
    os.unsetenv(ENV)


def test_environ_write_in_callee(clean_env):
    same(environ_write_in_callee, items, setup=unset_env)


def test_environ_write_read_back_in_callee(clean_env):
    same(environ_read_back_in_callee, items, setup=unset_env)


def test_putenv_in_callee(clean_env):
    same(putenv_in_callee, items, setup=unset_env)


def enter(d, x):
    slow(x)
    os.chdir(d)
    return x


def chdir_in_callee(dirs, xs):
    out = []
    for x in xs:
        out.append(enter(dirs[x], x))
    return out, os.path.basename(os.getcwd())


def test_chdir_in_callee(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dirs = []
    for x in ITEMS:
        (tmp_path / f"d{x}").mkdir()
        dirs.append(str(tmp_path / f"d{x}"))
    same(chdir_in_callee, lambda: (dirs, list(ITEMS)), setup=lambda: os.chdir(tmp_path))


def set_mask(x):
    slow(x)
    return os.umask(0o020 + x)     # returns the previous mask


def umask_in_callee(xs):
    out = []
    for x in xs:
        out.append(set_mask(x))
    return out


def test_umask_in_callee():
    original = os.umask(0o022)
    try:
        same(umask_in_callee, items, setup=lambda: os.umask(0o022))
    finally:
        os.umask(original)


# ------------------------------------------------------------------ file-like objects from outside the iteration

def copy_into(shared, x):
    src = text_io.BytesIO(b"<%d>" % fetch(x))
    shutil.copyfileobj(src, shared)


def copyfileobj_shared(xs):
    shared = text_io.BytesIO()
    for x in xs:
        copy_into(shared, x)
    return shared.getvalue()


def pickle_shared(xs):
    shared = text_io.BytesIO()
    for x in xs:
        pickle.dump(fetch(x), shared)
    shared.seek(0)
    loaded = []
    for _ in xs:
        loaded.append(pickle.load(shared))
    return loaded


def json_shared(xs):
    shared = text_io.StringIO()
    for x in xs:
        json.dump({"x": fetch(x)}, shared)
        shared.write("\n")
    return shared.getvalue()


def csv_row(shared, x):
    csv.writer(shared).writerow([x, fetch(x)])


def csv_shared(xs):
    shared = text_io.StringIO()
    for x in xs:
        csv_row(shared, x)
    return shared.getvalue()


def print_to_shared(xs):
    shared = text_io.StringIO()
    for x in xs:
        print(fetch(x), file=shared)
    return shared.getvalue()


def emit(shared, x):
    print(fetch(x), end=";", file=shared)


def print_to_shared_in_callee(xs):
    shared = text_io.StringIO()
    for x in xs:
        emit(shared, x)
    return shared.getvalue()


def test_shutil_copyfileobj_into_shared_file():
    same(copyfileobj_shared, items)


def test_pickle_dump_into_shared_file():
    same(pickle_shared, items)


def test_json_dump_into_shared_file():
    same(json_shared, items)


def test_csv_writerow_into_shared_file():
    same(csv_shared, items)


def test_print_file_shared_in_body():
    same(print_to_shared, items)


def test_print_file_shared_in_callee():
    same(print_to_shared_in_callee, items)


# ------------------------------------------------------------------ pathlib: several items, one file

def save(path, x):
    path.write_text(f"item {fetch(x)}")


def write_text_same_file(path, xs):
    for x in xs:
        save(path, x)
    return path.read_text()


def write_bytes_same_file(path, xs):
    for x in xs:
        path.write_bytes(b"item %d" % fetch(x))
    return path.read_bytes()


def touch_or_unlink(path, x):
    slow(x)
    existed = path.exists()
    if x % 2:
        path.unlink(missing_ok=True)
    else:
        path.touch()
    return (x, existed)


def touch_unlink_same_file(path, xs):
    seen = []
    for x in xs:
        seen.append(touch_or_unlink(path, x))
    return seen, path.exists()     # plain: item 7 (odd) unlinks last


def swap(a, b, x):
    slow(x)
    if a.exists():
        a.rename(b)
        return (x, "a->b")
    b.rename(a)
    return (x, "b->a")


def rename_back_and_forth(a, b, xs):
    out = []
    for x in xs:
        out.append(swap(a, b, x))
    return out


def make_dir(d, x):
    slow(x)
    try:
        d.mkdir()
        return (x, "made")
    except FileExistsError:
        return (x, "existed")


def mkdir_same_dir(d, xs):
    out = []
    for x in xs:
        out.append(make_dir(d, x))
    return out


def _clear(root):
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def test_path_write_text_last_item_wins(tmp_path):
    path = tmp_path / "out.txt"
    same(write_text_same_file, lambda: (path, list(ITEMS)), setup=lambda: _clear(tmp_path))


def test_path_write_bytes_last_item_wins(tmp_path):
    path = tmp_path / "out.bin"
    same(write_bytes_same_file, lambda: (path, list(ITEMS)), setup=lambda: _clear(tmp_path))


def test_path_touch_and_unlink_same_file(tmp_path):
    path = tmp_path / "flag"
    same(touch_unlink_same_file, lambda: (path, list(ITEMS)), setup=lambda: _clear(tmp_path))


def test_path_rename_back_and_forth(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"

    def setup():
        _clear(tmp_path)
        a.write_text("x")
    same(rename_back_and_forth, lambda: (a, b, list(ITEMS)), setup=setup)


def test_path_mkdir_same_dir(tmp_path):
    d = tmp_path / "d"
    same(mkdir_same_dir, lambda: (d, list(ITEMS)), setup=lambda: _clear(tmp_path))


# ------------------------------------------------------------------ warnings

def warn_in_body(xs):
    out = []
    for x in xs:
        value = fetch(x)
        warnings.warn(f"item {value} is deprecated", DeprecationWarning)
        out.append(value)
    return out


def checked(x):
    value = fetch(x)
    warnings.warn(f"item {value} looks odd", UserWarning)
    return value


def warn_in_callee(xs):
    out = []
    for x in xs:
        out.append(checked(x))
    return out


def test_warnings_warn_in_body():
    same(warn_in_body, items)


def test_warnings_warn_in_callee():
    same(warn_in_callee, items)


# ------------------------------------------------------------------ depth, libraries, caches

AUDIT = []


def reset_audit():
    AUDIT.clear()


def level1(x):
    return level2(slow(x))


def level2(x):
    return level3(x)


def level3(x):
    return level4(x)


def level4(x):
    return level5(x)


def level5(x):
    AUDIT.append(x)
    return x


def effect_five_levels_deep(xs):
    out = []
    for x in xs:
        out.append(level1(x))
    return out, list(AUDIT)


def effect_four_levels_deep(xs):
    out = []
    for x in xs:
        out.append(level2(slow(x)))
    return out, list(AUDIT)


def effect_three_levels_deep(xs):
    out = []
    for x in xs:
        out.append(level3(slow(x)))
    return out, list(AUDIT)


def test_effect_five_levels_deep():
    same(effect_five_levels_deep, items, setup=reset_audit)


def test_effect_four_levels_deep():
    same(effect_four_levels_deep, items, setup=reset_audit)


def test_effect_three_levels_deep():
    same(effect_three_levels_deep, items, setup=reset_audit)


lib_log = logging.getLogger("urllib3.connectionpool")


def get_via_library_logger(x):
    value = fetch(x)
    lib_log.debug("Starting new HTTP connection (%d): example.org:80", value)
    return value


def library_logger_in_callee(xs):
    out = []
    for x in xs:
        out.append(get_via_library_logger(x))
    return out


def test_logger_named_like_a_library():
    same(library_logger_in_callee, items)


def _installed_package_function():
    """A function whose code lives, as far as XCS can tell, in site-packages: an installed
    client library that logs each request at DEBUG."""
    source = (
        "import logging\n"
        "log = logging.getLogger('fakeclient.http')\n"
        "def get(x, slow):\n"
        "    value = slow(x)\n"
        "    log.debug('GET /item/%d -> 200', value)\n"
        "    return value\n"
    )
    filename = os.path.join(sysconfig.get_paths()["purelib"], "fakeclient", "http.py")
    namespace = {"__name__": "fakeclient.http"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["get"]


library_get = _installed_package_function()


def installed_library_logs(xs):
    out = []
    for x in xs:
        out.append(library_get(x, slow))
    return out


def test_installed_library_logging():
    from xcs.sourcepaths import is_library_file
    assert is_library_file(library_get.__code__.co_filename)
    same(installed_library_logs, items)


class _SlowPages(http.server.BaseHTTPRequestHandler):
    """Answers GET /<n> after a delay that shrinks with n; fixed headers (no clock)."""

    def do_GET(self):
        n = int(self.path.strip("/"))
        slow(n)
        body = b"page %d" % n
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def version_string(self):
        return "pages/1"

    def log_message(self, *args):
        pass


@pytest.fixture
def page_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def get_page(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.set_debuglevel(1)           # http.client prints "send:", "reply:", "header:" lines
    try:
        conn.request("GET", f"/{n}")
        return conn.getresponse().read()
    finally:
        conn.close()


def http_client_debug(port, xs):
    out = []
    for x in xs:
        out.append(get_page(port, x))
    return out


def test_http_client_debug_prints(page_server):
    same(http_client_debug, lambda: (page_server, list(ITEMS)))


MISSES = []


@functools.lru_cache(maxsize=None)
def load(key):
    slow(key)
    MISSES.append(key)
    return key * 100


def reset_cache():
    load.cache_clear()
    MISSES.clear()


def lru_cached_callee(keys):
    out = []
    for k in keys:
        out.append(load(k))
    return out, list(MISSES)


def test_lru_cache_side_effect_on_miss():
    same(lru_cached_callee, lambda: ([3, 1, 3, 2, 1, 5, 4, 2],), setup=reset_cache)


# ------------------------------------------------------------------ benign shapes: must stay parallel

N = 6


def get_or_report(x):
    try:
        return io(x)
    except OSError as error:      # never taken
        print("failed", x, error)
        return None


def benign_print_in_untaken_except(xs):
    out = []
    for x in xs:
        out.append(get_or_report(x))
    return out


def get_and_debug(x):
    value = io(x)
    logging.getLogger("lib").debug("got %s", value)
    return value


def benign_debug_log(xs):
    out = []
    for x in xs:
        out.append(get_and_debug(x))
    return out


def get_record(x):
    value = io(x)
    return {"x": x, "value": value, "tags": [x, value]}


def benign_fresh_dict(xs):
    out = []
    for x in xs:
        out.append(get_record(x))
    return out


def benign_append_io(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


def assert_parallel_and_same(fn):
    xs = list(range(N))
    expected = fn(list(xs))
    jitted = xcs.jit(fn, parallel=True)
    got, peak = peak_of(jitted, list(xs), overlap=N, timeout=2.0)
    assert got == expected
    assert peak == N, f"peak concurrency {peak}\n" + "\n".join(map(str, xcs.explain(jitted)))
    assert any(r.parallel for r in xcs.explain(jitted))
    again, peak = peak_of(jitted, list(xs), overlap=N, timeout=2.0)
    assert again == expected and peak == N


@pytest.fixture
def quiet_lib_logger():
    """The usual production setting: DEBUG of a library is off (no handler, WARNING)."""
    lib, root = logging.getLogger("lib"), logging.getLogger()
    old = lib.level, root.level
    lib.setLevel(logging.NOTSET)
    root.setLevel(logging.WARNING)
    yield
    lib.setLevel(old[0])
    root.setLevel(old[1])


def test_benign_print_only_in_untaken_except_stays_parallel():
    assert_parallel_and_same(benign_print_in_untaken_except)


def test_benign_library_debug_log_stays_parallel(quiet_lib_logger):
    assert_parallel_and_same(benign_debug_log)


def test_benign_fresh_dict_stays_parallel():
    assert_parallel_and_same(benign_fresh_dict)


def test_benign_append_io_stays_parallel():
    assert_parallel_and_same(benign_append_io)


class Settings:
    """Data attributes and a pure method: a computed getattr on it reaches nothing that changes."""

    def __init__(self):
        self.scale_even, self.scale_odd = 2, 3

    def describe(self, x):
        return f"setting {x}"


SETTINGS = Settings()


def benign_getattr_computed_name(xs):
    out = []
    for x in xs:
        value = io(x)
        out.append(value * getattr(SETTINGS, "scale_" + ("even" if value % 2 == 0 else "odd")))
    return out


def test_benign_getattr_with_computed_name_on_pure_class_stays_parallel():
    assert_parallel_and_same(benign_getattr_computed_name)


# ------------------------------------------------------------------ more spellings of the same effects

def check_aliased(x):
    value = fetch(x)
    warn(f"item {value} looks odd", UserWarning)    # `from warnings import warn`
    return value


def warn_alias_in_callee(xs):
    out = []
    for x in xs:
        out.append(check_aliased(x))
    return out


def test_warn_imported_by_name_in_callee():
    same(warn_alias_in_callee, items)


def stdout_write_alias(xs):
    write = sys.stdout.write
    for x in xs:
        write(f"{fetch(x)}\n")
    return len(xs)


def test_stdout_write_alias_in_body():
    same(stdout_write_alias, items)


def partial_append(xs):
    out = []
    push = functools.partial(list.append, out)
    for x in xs:
        push(fetch(x))
    return out


def test_partial_of_list_append_in_body():
    same(partial_append, items)


def export_many(x):
    value = fetch(x)
    os.environ.update({ENV: str(value)})
    return value


def environ_update_in_callee(xs):
    out = []
    for x in xs:
        out.append(export_many(x))
    return out, os.environ.get(ENV)


def export_via_alias(x):
    env = os.environ
    value = fetch(x)
    env[ENV] = str(value)
    return value


def environ_alias_in_callee(xs):
    out = []
    for x in xs:
        out.append(export_via_alias(x))
    return out, os.environ.get(ENV)


def test_environ_update_in_callee(clean_env):
    same(environ_update_in_callee, items, setup=unset_env)


def test_environ_alias_write_in_callee(clean_env):
    same(environ_alias_in_callee, items, setup=unset_env)
