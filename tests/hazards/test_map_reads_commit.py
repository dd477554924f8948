"""Hazard: the map part reads what an earlier iteration's in-order part changes.

Each loop is written as a user would: the work is a call (often of a small helper), and the
bookkeeping that follows it (`SEEN.add(url)`, `self.count += 1`, a file written) is in-order.
If XCS puts the read of that bookkeeping into the map part, a later iteration reads it before
the earlier iteration's in-order part has run. `slow(x)` before each hazardous read makes the
later items read first on a thread pool, so the difference shows.
"""
from __future__ import annotations

import contextvars
import decimal
import functools
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

import xcs
from tests.hazards.harness import io, peak_of, same, slow

URLS = ["a", "b", "a", "c", "b", "d", "a", "e"]
KEYS = [1, 2, 1, 3, 2, 1, 4, 3]
ITEMS = list(range(8))
STEP = 0.01  # slow(i, STEP) blocks 2.5-20 ms: long enough for later items to overtake on a busy machine


# --- a crawler's dedupe set, read by the callee, filled by the loop ---------------------------

SEEN: set = set()


def reset_seen():
    SEEN.clear()


def fetch_page(i, url):
    slow(i, STEP)
    if url in SEEN:
        return None
    return f"<{url}>"


def crawl(urls):
    pages = []
    for i, url in enumerate(urls):
        page = fetch_page(i, url)
        SEEN.add(url)
        if page is not None:
            pages.append(page)
    return pages


def test_dedupe_set_read_by_callee():
    same(crawl, lambda: (URLS,), setup=reset_seen)


def already_seen(url):
    return url in SEEN


def fetch_if_new(i, url):
    slow(i, STEP)
    if already_seen(url):
        return None
    return f"<{url}>"


def crawl_deep(urls):
    pages = []
    for i, url in enumerate(urls):
        page = fetch_if_new(i, url)
        SEEN.add(url)
        pages.append(page)
    return pages


def test_dedupe_set_read_two_levels_deep():
    same(crawl_deep, lambda: (URLS,), setup=reset_seen)


CACHE: dict = {}


def reset_cache():
    CACHE.clear()


def get_cached(i, key):
    slow(i, STEP)
    if key in CACHE:
        return ("hit", CACHE[key])
    return ("miss", key * 10)


def fill_cache(keys):
    out = []
    for i, key in enumerate(keys):
        kind, value = get_cached(i, key)
        CACHE[key] = value
        out.append(kind)
    return out


def test_global_dict_cache_read_by_callee():
    same(fill_cache, lambda: (KEYS,), setup=reset_cache)


def lookup(memo, i, key):
    slow(i, STEP)
    return memo.get(key, "new")


def memoize(keys, memo):
    out = []
    for i, key in enumerate(keys):
        out.append(lookup(memo, i, key))
        memo[key] = i
    return out


def test_memo_dict_argument_read_by_callee():
    same(memoize, lambda: (KEYS, {}))


# --- functools caches: the blocking function must run once per key -----------------------------

CALLS: dict = {}
_calls_lock = threading.Lock()


def reset_calls():
    CALLS.clear()
    cached_fetch.cache_clear()
    cached_forever.cache_clear()


@xcs.io
def raw_fetch(i, key):
    """The blocking call a user caches; counts its calls per key."""
    with _calls_lock:
        CALLS[key] = CALLS.get(key, 0) + 1
    time.sleep(STEP * (8 - i % 8) / 4)
    return key * 10


@functools.lru_cache(maxsize=None)
def cached_fetch(key):
    return raw_fetch(KEY_POSITION[key], key)


@functools.cache
def cached_forever(key):
    return raw_fetch(KEY_POSITION[key], key)


# the delay is that of the key's first position, so a repeated key finishes first
KEY_POSITION = {1: 0, 2: 1, 3: 3, 4: 6}


def with_lru(keys):
    out = []
    for key in keys:
        out.append(cached_fetch(key))
    return out, dict(CALLS)


def with_cache(keys):
    out = []
    for key in keys:
        out.append(cached_forever(key))
    return out, dict(CALLS)


def test_lru_cache_runs_blocking_call_once_per_key():
    same(with_lru, lambda: (KEYS,), setup=reset_calls)


def test_functools_cache_runs_blocking_call_once_per_key():
    same(with_cache, lambda: (KEYS,), setup=reset_calls)


# --- files the in-order part creates ----------------------------------------------------------

DOWNLOADS = Path(os.environ.get("TMPDIR", "/tmp")) / f"xcs-hazard-downloads-{os.getpid()}"
NAMES = ["x.txt", "y.txt", "x.txt", "z.txt", "y.txt", "w.txt", "x.txt", "v.txt"]


@pytest.fixture(autouse=True, scope="module")
def _remove_downloads():
    yield
    shutil.rmtree(DOWNLOADS, ignore_errors=True)


def reset_downloads():
    shutil.rmtree(DOWNLOADS, ignore_errors=True)
    DOWNLOADS.mkdir(parents=True)


def needs_download(i, name):
    slow(i, STEP)
    return not os.path.exists(os.path.join(str(DOWNLOADS), name))


def download_all(names):
    log = []
    for i, name in enumerate(names):
        fresh = needs_download(i, name)
        if fresh:
            with open(os.path.join(str(DOWNLOADS), name), "w") as f:
                f.write(str(i))
        log.append((name, fresh))
    return log, sorted((p.name, p.read_text()) for p in DOWNLOADS.iterdir())


def test_os_path_exists_on_files_the_loop_writes():
    same(download_all, lambda: (NAMES,), setup=reset_downloads)


def fetch_unless_present(i, path):
    slow(i, STEP)
    if path.exists():
        return None
    return f"body {i}"


def download_paths(names):
    log = []
    for i, name in enumerate(names):
        path = DOWNLOADS / name
        body = fetch_unless_present(i, path)
        if body is not None:
            path.write_text(body)
        log.append((name, body))
    return log, sorted((p.name, p.read_text()) for p in DOWNLOADS.iterdir())


def test_path_exists_on_files_the_loop_writes():
    same(download_paths, lambda: (NAMES,), setup=reset_downloads)


# --- context the loop sets in order -----------------------------------------------------------

LAST = contextvars.ContextVar("LAST", default=None)


def reset_last():
    LAST.set(None)


def tag_with_last(i):
    slow(i, STEP)
    return (i, LAST.get())


def tags(items):
    out = []
    for i in items:
        out.append(tag_with_last(i))
        LAST.set(i)
    return out, LAST.get()


def test_contextvar_set_by_body_read_by_callee():
    same(tags, lambda: (ITEMS,), setup=reset_last)


def remember(i):
    LAST.set(i)


def tags_via_helper(items):
    out = []
    for i in items:
        out.append(tag_with_last(i))
        remember(i)
    return out, LAST.get()


def test_contextvar_set_by_helper_called_in_body():
    same(tags_via_helper, lambda: (ITEMS,), setup=reset_last)


def divide(i):
    slow(i, STEP)
    return str(decimal.Decimal(1) / decimal.Decimal(7))


def precisions(items):
    out = []
    with decimal.localcontext() as ctx:
        for i in items:
            out.append(divide(i))
            ctx.prec = 3 + i
    return out


def test_decimal_local_context_changed_in_order():
    same(precisions, lambda: (ITEMS,))


def precisions_getcontext(items):
    out = []
    with decimal.localcontext():
        for i in items:
            out.append(divide(i))
            decimal.getcontext().prec = 3 + i
    return out


def test_decimal_getcontext_prec_assigned_in_order():
    same(precisions_getcontext, lambda: (ITEMS,))


def precisions_fixed(items):
    out = []
    with decimal.localcontext() as ctx:
        ctx.prec = 5
        for i in items:
            out.append(divide(i))
    return out


def test_decimal_local_context_set_before_loop_reaches_workers():
    same(precisions_fixed, lambda: (ITEMS,))


# --- aliasing, counters, attributes, the output list ------------------------------------------

def read_entry(src, i):
    slow(i, STEP)
    return src.get(i, "unset")


def aliased(items, src, dst):
    out = []
    for i in items:
        out.append(read_entry(src, i))
        dst[i + 1] = f"set by {i}"
    return out


def test_same_dict_as_two_arguments():
    # The loop-start check compares `src` (read by the work) with `dst` (changed in order).
    def args():
        d = {}
        return ITEMS, d, d
    same(aliased, args)


SHARED: dict = {}


def reset_shared():
    SHARED.clear()


def into_the_global(items, src):
    out = []
    for i in items:
        out.append(read_entry(src, i))
        SHARED[i + 1] = f"set by {i}"   # in order: a global the analysis took for another object
    return out


def test_a_global_changed_in_order_passed_as_the_input_the_work_reads():
    # The loop-start check compares the globals the in-order part changes with the inputs.
    same(into_the_global, lambda: (ITEMS, SHARED), setup=reset_shared)


def into_the_global_through_a_closure(items):
    src = SHARED

    def run():
        out = []
        for i in items:
            out.append(read_entry(src, i))
            SHARED[i + 1] = f"set by {i}"
        return out
    return run()


def test_a_global_changed_in_order_read_through_a_closure_variable():
    same(into_the_global_through_a_closure, lambda: (ITEMS,), setup=reset_shared)


def read_entry_gauged(src, i):
    io(i)
    return src.get(i, "unset")


def into_the_global_gauged(items, src):
    out = []
    for i in items:
        out.append(read_entry_gauged(src, i))
        SHARED[i + 1] = f"set by {i}"
    return out


def test_another_dict_than_the_global_changed_in_order_keeps_the_loop_parallel():
    fast = same(into_the_global_gauged, lambda: (ITEMS, {}), setup=reset_shared)
    result, peak = peak_of(fast, ITEMS, {}, overlap=4)
    assert result == ["unset"] * len(ITEMS) and peak >= 4


COUNTER = 0


def reset_counter():
    global COUNTER
    COUNTER = 0


def label(i):
    slow(i, STEP)
    return f"{i}@{COUNTER}"


def counted(items):
    global COUNTER
    out = []
    for i in items:
        out.append(label(i))
        COUNTER += 1
    return out


def test_module_counter_incremented_by_body_read_by_callee():
    same(counted, lambda: (ITEMS,), setup=reset_counter)


class Worker:
    def __init__(self):
        self.count = 0

    def work(self, i):
        slow(i, STEP)
        return (i, self.count)

    def run(self, items):
        out = []
        for i in items:
            out.append(self.work(i))
            self.count += 1
        return out

    def __deepcopy__(self, memo):
        return ("Worker", self.count)


def test_self_state_assigned_by_body_read_by_method():
    same(Worker.run, lambda: (Worker(), ITEMS))


def tag_with_length(out, i):
    slow(i, STEP)
    return (i, len(out))


def lengths(items):
    out = []
    for i in items:
        out.append(tag_with_length(out, i))
    return out


def test_callee_reads_len_of_list_body_appends_to():
    same(lengths, lambda: (ITEMS,))


def tag_with_length_later(out, i):
    slow(i, STEP)
    return (i, len(out))


def lengths_separate(items):
    out = []
    tags = []
    for i in items:
        tags.append(tag_with_length_later(out, i))
        out.append(i)
    return tags


def test_callee_reads_len_of_other_list_body_appends_to():
    same(lengths_separate, lambda: (ITEMS,))


class Registry:
    """A global object whose attribute the body sets and a callee reads."""
    last = None


REGISTRY = Registry()


def reset_registry():
    REGISTRY.last = None


def read_registry(i):
    slow(i, STEP)
    return (i, REGISTRY.last)


def registered(items):
    out = []
    for i in items:
        out.append(read_registry(i))
        REGISTRY.last = i
    return out


def test_global_object_attribute_set_by_body_read_by_callee():
    same(registered, lambda: (ITEMS,), setup=reset_registry)


def closure_loop(items):
    state = {"n": 0}

    def peek(i):
        slow(i, STEP)
        return (i, state["n"])

    out = []
    for i in items:
        out.append(peek(i))
        state["n"] += 1
    return out


def test_closure_dict_updated_by_body_read_by_inner_function():
    same(closure_loop, lambda: (ITEMS,))


def nonlocal_loop(items):
    n = 0

    def peek(i):
        slow(i, STEP)
        return (i, n)

    out = []
    for i in items:
        out.append(peek(i))
        n += 1
    return out


def test_cell_variable_updated_by_body_read_by_inner_function():
    # Fixed by issue 11.6: a closure made outside the loop over a cell the loop assigns
    # keeps the loop sequential ("captured by a closure made outside the loop").
    same(nonlocal_loop, lambda: (ITEMS,))


# --- benign shapes: they must stay parallel, and equal ----------------------------------------

CONFIG = {"scale": 3, "prefix": "item"}


def configured(i):
    return f"{CONFIG['prefix']}-{io(i) * CONFIG['scale']}"


def with_config(items):
    out = []
    for i in items:
        out.append(configured(i))
    return out


def into_dict(items):
    results = {}
    for k in items:
        results[k] = io(k)
    return results


def assert_parallel_and_same(fn, items, n=4):
    expected = fn(items)
    jitted = same(fn, lambda: (items,))
    got, peak = peak_of(jitted, items, overlap=n)
    assert got == expected
    assert peak >= n


def test_benign_global_config_read_stays_parallel():
    assert_parallel_and_same(with_config, ITEMS)


def test_benign_results_into_dict_stays_parallel():
    assert_parallel_and_same(into_dict, ITEMS)


def read_source(src, i):
    return src.get(io(i), "unset")


def copy_between(items, src, dst):
    out = []
    for i in items:
        out.append(read_source(src, i))
        dst[i + 1] = f"set by {i}"
    return out


def test_benign_two_distinct_dicts_stay_parallel():
    # The aliasing check (`src is dst`) must not cost the distinct case its parallelism.
    jitted = same(copy_between, lambda: (ITEMS, {}, {}))
    got, peak = peak_of(jitted, ITEMS, {1: "one"}, {}, overlap=4)
    assert got == copy_between(ITEMS, {1: "one"}, {})
    assert peak >= 4


def write_then_list(names):
    seen = []
    for i, name in enumerate(names):
        path = DOWNLOADS / name
        path.write_text(f"{slow(i, STEP)}:{name}")   # a path computed in the loop: a file-system change
        seen.append(sorted(p.name for p in DOWNLOADS.iterdir()))
    return seen, sorted((p.name, p.read_text()) for p in DOWNLOADS.iterdir())


def test_path_write_text_on_loop_path_runs_in_order():
    same(write_then_list, lambda: (NAMES,), setup=reset_downloads)


def read_existing(names):
    out = []
    for i, name in enumerate(names):
        out.append((io(i), (DOWNLOADS / name).read_text()))
    return out


def test_benign_path_reads_without_writes_stay_parallel():
    reset_downloads()
    for name in set(NAMES):
        (DOWNLOADS / name).write_text(name.upper())
    assert_parallel_and_same(read_existing, NAMES)


# --- a helper that writes files, then work that reads them ---------------------------------

def save(path, text):
    with open(path, "w") as f:   # inside a helper: the loop body shows only `save(...)`
        f.write(text)


def read_back(i, path):
    slow(i, STEP)
    with open(path) as f:
        return f.read()


def save_then_read(names):
    out = []
    for i, name in enumerate(names):
        path = os.path.join(str(DOWNLOADS), name)
        save(path, f"{i}:{name}")
        out.append(read_back(i, path))   # must not run before this iteration's save()
    return out


def test_work_after_a_helper_that_writes_files_waits_for_it():
    same(save_then_read, lambda: (NAMES,), setup=reset_downloads)


def archive(path, text, made):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:   # a class given a write mode: a file-system change
        z.writestr("entry", text)
    made.append(path)                      # a shared list: this call runs in order


def unpack(i, path):
    import zipfile

    slow(i, STEP)
    with zipfile.ZipFile(path) as z:
        return z.read("entry").decode()


def archive_then_unpack(names):
    out, made = [], []
    for i, name in enumerate(names):
        path = os.path.join(str(DOWNLOADS), name + ".zip")
        archive(path, f"{i}:{name}", made)
        out.append(unpack(i, path))   # must not run before this iteration's archive()
    return out, len(made)


def test_work_after_a_helper_that_writes_an_archive_waits_for_it():
    same(archive_then_unpack, lambda: (NAMES,), setup=reset_downloads)


def archive_then_open(names):
    import zipfile

    out, made = [], []
    for i, name in enumerate(names):
        path = os.path.join(str(DOWNLOADS), name + ".zip")
        archive(path, f"{i}:{name}", made)
        with zipfile.ZipFile(path) as z:   # its manager must not be made before archive() ran
            out.append(z.read("entry").decode())
    return out, len(made)


def test_with_manager_after_a_helper_that_writes_an_archive_waits_for_it():
    same(archive_then_open, lambda: (NAMES,), setup=reset_downloads)


class Archiver:
    def __init__(self):
        self.count = 0

    def archive(self, path, text):
        import zipfile

        with zipfile.ZipFile(path, "w") as z:   # a class given a write mode: a file-system change
            z.writestr("entry", text)


def archive_with_method_then_open(archiver, names):
    import zipfile

    out = []
    for i, name in enumerate(names):
        path = os.path.join(str(DOWNLOADS), name + ".zip")
        archiver.archive(path, f"{slow(i, STEP)}:{name}")   # in order: the loop changes `archiver`
        with zipfile.ZipFile(path) as z:   # its manager must not be made before archive() ran
            out.append(z.read("entry").decode())
        archiver.count += 1
    return out


def test_with_manager_after_a_method_that_writes_an_archive_waits_for_it():
    same(archive_with_method_then_open, lambda: (Archiver(), NAMES), setup=reset_downloads)
