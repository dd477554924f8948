"""`with` blocks over a known response or a file read run in the map part; the block's last
in-order statement moves after the `with` (`xcs.analysis.with_blocks`). Every case is compared
with the plain function; overlap is proven by the local service's peak-concurrency gauge."""
from __future__ import annotations

import inspect
import threading
import time
import types
import urllib.error
import urllib.request

import pytest
from bytecode import Bytecode

import xcs
from xcs.api.words import hint, words
from xcs.evidence import registry
from xcs.analysis import analyze, with_blocks
from xcs.analysis.flow import build_flow
from xcs.analysis.loops import find_loops
from xcs.analysis.normalize import normalize
from xcs.analysis.split import LoopAnalysis
from xcs.evidence.environment import environment
from tests.runtime.services import running_service, stats

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

N = 8
client = httpx.Client(limits=httpx.Limits(max_connections=N))
session = requests.Session()
session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=N))


@pytest.fixture(scope="module")
def service():
    with running_service() as base:
        yield base
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(t.name.startswith("xcs-worker") for t in threading.enumerate()):
        time.sleep(0.05)


def urls(base, route="item", **query):
    q = "&".join(f"{k}={v}" for k, v in {"delay": 0.3, **query}.items())
    return [f"{base}/{route}/{k}?{q}" for k in range(N)]


def httpx_stream(us):
    pages = []
    for u in us:
        with client.stream("GET", u) as r:
            pages.append(r.read())
    return pages


def requests_stream(us):
    pages = []
    for u in us:
        with requests.get(u, stream=True) as r:
            pages.append(r.content)
    return pages


def session_get(us):
    pages = {}
    for u in us:
        with session.get(u) as r:
            pages[u] = r.text
    return pages


def urllib_read(us):
    pages = []
    for u in us:
        with urllib.request.urlopen(u) as r:
            pages.append(r.read())
    return pages


def source_line(fn, text):
    """`explain`'s name for the line of `fn` holding `text`."""
    lines, first = inspect.getsourcelines(fn)
    return f"line {first + next(k for k, line in enumerate(lines) if text in line)}"


@pytest.mark.parametrize("fn, moved", [(httpx_stream, "pages.append"), (requests_stream, "pages.append"),
                                       (session_get, "pages[u]"), (urllib_read, "pages.append")])
def test_a_with_over_a_known_response_overlaps_and_equals_plain(service, fn, moved):
    us = urls(service)
    stats(service)
    expected = fn(us)
    assert stats(service)["peak"] == 1                 # plain: one request at a time
    fast = xcs.jit(fn)
    assert fast(us) == expected
    assert stats(service)["peak"] >= 2                 # the blocks overlapped
    report = xcs.explain(fast)[0]
    assert report.parallel
    # Only the moved statement is in order, not the `with` line.
    assert report.in_order == [source_line(fn, moved)], (report.in_order, str(report))


def test_httpx_stream_was_in_order_before_the_move(service):
    # The same loop with the block's statement made map by hand: the rewrite gives that shape.
    def by_hand(us):
        pages = []
        for u in us:
            with client.stream("GET", u) as r:
                body = r.read()
            pages.append(body)
        return pages

    us = urls(service)
    assert xcs.jit(by_hand)(us) == httpx_stream(us)


def reads_files(paths):
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(fh.read())
    return out


def reads_files_binary(paths):
    out = {}
    for p in paths:
        with open(p, "rb") as fh:
            out[p] = fh.read().upper()
    return out


@pytest.fixture
def open_is_blocking():
    """`open` vouched for as the hint of an unknown `open()` says (`xcs.register_blocking`);
    removed afterwards."""
    name = "io.open"   # the name the hint gives on 3.11-3.13
    xcs.register_blocking(name)
    try:
        yield
    finally:
        with registry._lock:
            registry._names.pop(name, None)
            registry._version[0] += 1


@pytest.mark.parametrize("fn", [reads_files, reads_files_binary])
def test_a_file_opened_for_reading_runs_its_block_in_the_map_part(tmp_path, fn, open_is_blocking):
    paths = []
    for k in range(6):
        (tmp_path / f"f{k}").write_text(f"file {k}\n" * 3)
        paths.append(str(tmp_path / f"f{k}"))
    loops = analyze(fn.__code__, environment(fn)).loops
    assert loops[0].parallel, loops[0].reasons
    with_line = int(source_line(fn, "with open").split()[1])
    kinds = {s.line: s.kind for s in loops[0].statements if s.kind != "end"}
    assert kinds[with_line] == "map", kinds
    assert xcs.jit(fn)(paths) == fn(paths)


def writes_files(paths):
    for p in paths:
        with open(p, "w") as fh:
            fh.write(p.upper())


def test_a_file_opened_for_writing_keeps_its_block_in_order(tmp_path, open_is_blocking):
    paths = [str(tmp_path / f"w{k}") for k in range(4)]
    loops = analyze(writes_files.__code__, environment(writes_files)).loops
    assert not any(s.kind == "map" and s.line == int(source_line(writes_files, "with open").split()[1])
                   for s in loops[0].statements)
    xcs.jit(writes_files)(paths)
    assert [open(p).read() for p in paths] == [p.upper() for p in paths]


def collect_until_failure(us, pages):
    for u in us:
        with client.stream("GET", u) as r:
            r.raise_for_status()
            pages.append(r.read())
    return pages


def urllib_until_failure(us, pages):
    for u in us:
        with urllib.request.urlopen(u) as r:
            pages.append(r.read())
    return pages


@pytest.mark.parametrize("fn, error", [(collect_until_failure, httpx.HTTPStatusError),
                                       (urllib_until_failure, urllib.error.HTTPError)])
def test_a_failing_get_in_iteration_2_raises_the_same_after_the_earlier_appends(service, fn, error):
    us = urls(service, "fail", bad=2, delay=0.1)
    plain_pages, fast_pages = [], []
    with pytest.raises(error) as plain:
        fn(us, plain_pages)
    with pytest.raises(error) as fast:
        xcs.jit(fn)(us, fast_pages)
    assert str(fast.value) == str(plain.value)
    assert fast_pages == plain_pages == [b"item 0", b"item 1"]
    assert xcs.explain(xcs.jit(fn))[0].parallel


def into_mapping(us, out):
    for u in us:
        with client.stream("GET", u) as r:
            out[u] = r.read()
    return out


def test_the_moved_statement_failing_raises_as_plain(service):
    # The moved store fails (a read-only mapping) after the response closed: the same
    # exception as the plain loop's, raised in the first iteration.
    us = urls(service, delay=0.05)
    with pytest.raises(TypeError) as plain:
        into_mapping(us, types.MappingProxyType({}))
    with pytest.raises(TypeError) as fast:
        xcs.jit(into_mapping)(us, types.MappingProxyType({}))
    assert str(fast.value) == str(plain.value)
    out = {}
    assert xcs.jit(into_mapping)(us, out) == into_mapping(us, {})


def fetch(url):
    """Builds a manager XCS does not know (the response of `urlopen`, through a function)."""
    return urllib.request.urlopen(url)


def unknown_manager(us):
    pages = []
    for u in us:
        with fetch(u) as r:
            pages.append(r.read())
    return pages


def test_a_manager_xcs_does_not_know_stays_in_order_and_explain_says_why(service):
    us = urls(service, delay=0.05)
    assert xcs.jit(unknown_manager)(us) == unknown_manager(us)
    report = xcs.explain(xcs.jit(unknown_manager))[0]
    assert report.in_order == [source_line(unknown_manager, "with fetch")]   # the whole block
    [note] = [r for r in report.refusals if r.kind == "commit:with-block"]
    assert note.name == "fetch(...)"
    assert "`with fetch(...)`: a context manager XCS does not know" in words(note)
    assert "body = r.read()" in hint(note)
    assert words(note) in report.reasons


def appends_then_reads(us):
    pages, sizes = [], []
    for u in us:
        with client.stream("GET", u) as r:
            pages.append(r.read())
            sizes.append(len(pages))
    return pages, sizes


def test_a_block_that_reads_what_its_append_changed_stays_exact(service):
    us = urls(service, delay=0.05)
    assert xcs.jit(appends_then_reads)(us) == appends_then_reads(us)
    report = xcs.explain(xcs.jit(appends_then_reads))[0]
    assert source_line(appends_then_reads, "with client") in report.in_order   # nothing moved


def stream_to_files(us, folder):
    for k, u in enumerate(us):
        with client.stream("GET", u) as r, open(f"{folder}/{k}", "wb") as fh:
            fh.write(r.read())


def test_nested_with_writing_a_file_stays_exact(service, tmp_path):
    us = urls(service, delay=0.05)
    (tmp_path / "plain").mkdir()
    (tmp_path / "fast").mkdir()
    stream_to_files(us, tmp_path / "plain")
    xcs.jit(stream_to_files)(us, tmp_path / "fast")
    for k in range(N):
        assert (tmp_path / "fast" / str(k)).read_bytes() == (tmp_path / "plain" / str(k)).read_bytes() == \
            f"item {k}".encode()
    assert source_line(stream_to_files, "with client") in xcs.explain(xcs.jit(stream_to_files))[0].in_order


def until_an_error_status(us):
    pages = []
    for u in us:
        with client.stream("GET", u) as r:
            if r.status_code != 200:
                break
            pages.append(r.read())
    return pages


def test_break_inside_the_with(service):
    us = urls(service, "fail", bad=3, delay=0.05)
    assert xcs.jit(until_an_error_status)(us) == until_an_error_status(us) == [f"item {k}".encode() for k in range(3)]


class Suppressing:
    """Suppresses what its block raises: the moved statement must then not run."""

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True

    def read(self):
        if self.value % 3 == 1:
            raise ValueError(self.value)
        return self.value


def suppressed(xs):
    out = []
    for x in xs:
        with Suppressing(x) as r:
            out.append(r.read() * 10)
    return out


def test_the_rewrite_skips_the_moved_statement_when_the_manager_suppressed_the_block():
    # The rewrite is only applied to known managers, which suppress nothing; the code it makes
    # is exact for any manager (a guard failing at a later call runs it in order as it is).
    code = suppressed.__code__
    items = list(normalize(code))
    flow = build_flow(items)
    [shape] = find_loops(flow)
    analysis = LoopAnalysis(flow, shape, environment(suppressed), code, {})
    from xcs.analysis.split import description

    desc, _ = description.describe(flow, shape, analysis.env, code, {}, analysis._whole_function_events)
    found = [move for _, _, move in with_blocks.candidates(desc)]
    assert len(found) == 1
    rewritten = Bytecode(with_blocks.rewrite(items, found))
    original = Bytecode.from_code(code)
    for attr in ("argcount", "flags", "name", "qualname", "filename", "first_lineno", "argnames"):
        setattr(rewritten, attr, getattr(original, attr))
    fn = types.FunctionType(rewritten.to_code(), suppressed.__globals__)
    assert fn(range(7)) == suppressed(range(7)) == [0, 20, 30, 50, 60]


def suppressed_then_more(xs):
    out, seen = [], []
    for x in xs:
        with Suppressing(x) as r:
            out.append(r.read() * 10)
        seen.append(x)
    return out, seen


def test_the_rewrite_is_exact_for_a_suppressing_manager_with_a_statement_after_the_with():
    code = suppressed_then_more.__code__
    items = list(normalize(code))
    flow = build_flow(items)
    [shape] = find_loops(flow)
    from xcs.analysis.split import description

    analysis = LoopAnalysis(flow, shape, environment(suppressed_then_more), code, {})
    desc, _ = description.describe(flow, shape, analysis.env, code, {}, analysis._whole_function_events)
    found = [move for _, _, move in with_blocks.candidates(desc)]
    assert len(found) == 1
    rewritten = Bytecode(with_blocks.rewrite(items, found))
    original = Bytecode.from_code(code)
    for attr in ("argcount", "flags", "name", "qualname", "filename", "first_lineno", "argnames"):
        setattr(rewritten, attr, getattr(original, attr))
    fn = types.FunctionType(rewritten.to_code(), suppressed_then_more.__globals__)
    assert fn(range(7)) == suppressed_then_more(range(7)) == ([0, 20, 30, 50, 60], list(range(7)))


def skips_error_statuses(us):
    pages = []
    for u in us:
        with client.stream("GET", u) as r:
            if r.status_code != 200:
                continue
            pages.append(r.read())
    return pages


def test_continue_inside_the_with_before_the_moved_statement(service):
    # `continue` leaves the block through a second copy of the exit; the append still moves.
    us = urls(service, "fail", bad=3, delay=0.3)
    expected = skips_error_statuses(us)
    assert len(expected) == N - 1
    stats(service)
    assert xcs.jit(skips_error_statuses)(us) == expected
    assert stats(service)["peak"] >= 2
    report = xcs.explain(xcs.jit(skips_error_statuses))[0]
    assert report.in_order == [source_line(skips_error_statuses, "pages.append")], str(report)


def client_argument(c, us):
    pages = []
    for u in us:
        with c.stream("GET", u) as r:
            pages.append(r.read())
    return pages


def test_a_client_passed_as_an_argument(service):
    us = urls(service)
    stats(service)
    assert xcs.jit(client_argument)(client, us) == client_argument(client, us)
    assert stats(service)["peak"] >= 2


def auto_stream(us):
    pages = []
    for u in us:
        with client.stream("GET", u) as r:
            pages.append(r.read())
    return pages


def test_auto_mode_runs_the_moved_block_in_parallel(service):
    us = urls(service)
    expected = auto_stream(us)
    stats(service)
    with xcs.enabled():
        got = [auto_stream(us) for _ in range(2)]
    assert got == [expected, expected]
    assert stats(service)["peak"] >= 2


class SuppressingClient:
    """Another client for the same loop: its `stream` makes a manager that suppresses."""

    def stream(self, method, u):
        return Suppressing(u)


def test_another_client_at_a_later_call_fails_the_guard_and_stays_exact(service):
    fast = xcs.jit(client_argument)
    us = urls(service, delay=0.05)
    assert fast(client, us) == client_argument(client, us)
    assert fast(SuppressingClient(), list(range(7))) == client_argument(SuppressingClient(), list(range(7))) == \
        [0, 2, 3, 5, 6]
    assert "is not the object the analysis saw" in str(xcs.explain(fast)[0])
