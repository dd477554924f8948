"""Loops whose map parts the executor tests ship to other processes, and their helpers.

Each loop talks to the local server of `tests.realworld.servers` (its `/_stats` gauge proves
overlap and counts requests); the helpers print and log, so output replay is checked too.
"""
from __future__ import annotations

import json
import logging
import os
import time
import urllib.request

import xcs

log = logging.getLogger("tests.executors")


def get_json(base, k):
    """One request: the server's JSON for item k; prints and logs a line about it."""
    with urllib.request.urlopen(f"{base}/item/{k}", timeout=30) as response:
        data = json.loads(response.read())
    print("got", k)
    log.warning("fetched %s", k)
    return data


def fetch_all(base, ids):
    pages = []
    for k in ids:
        pages.append(get_json(base, k))
    return pages


def where(base, k):
    """One request; returns the id of the process that made it."""
    with urllib.request.urlopen(f"{base}/item/{k}", timeout=30) as response:
        response.read()
    return os.getpid()


def pids(base, ids):
    out = []
    for k in ids:
        out.append(where(base, k))
    return out


class Opaque:
    """A value cloudpickle cannot serialise (as a C object without pickle support)."""

    def __init__(self, tag):
        self.tag = tag

    def __reduce__(self):
        raise TypeError("Opaque objects cannot be pickled")

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.tag == self.tag

    def __hash__(self):
        return hash(self.tag)


def get_tagged(base, k, token):
    return get_json(base, k)["id"] + str(token.tag)


def fetch_tagged(base, ids, token):
    out = []
    for k in ids:
        out.append(get_tagged(base, k, token))
    return out


def get_item(base, item):
    return get_json(base, item.tag if isinstance(item, Opaque) else item)["name"]


def fetch_items(base, items):
    out = []
    for item in items:
        out.append(get_item(base, item))
    return out


@xcs.io   # vouched for by the user: the analysis trusts it for threads
def get_locked(base, k, lock):
    data = get_json(base, k)
    with lock:
        return data["id"]


def fetch_locked(base, ids, lock):
    out = []
    for k in ids:
        out.append(get_locked(base, k, lock))
    return out


COUNTS = {"calls": 0}


@xcs.io   # vouched for by the user: the analysis trusts it for threads
def get_counted(base, k):
    COUNTS["calls"] += 1
    return get_json(base, k)["id"]


def fetch_counted(base, ids):
    out = []
    for k in ids:
        out.append(get_counted(base, k))
    return out


@xcs.io   # vouched for by the user: the analysis trusts it for threads
def get_or_die(base, k, doomed):
    """Item `doomed`'s worker process dies (after the earlier items are done) mid-task."""
    if k == doomed:
        time.sleep(0.5)
        os._exit(13)
    return get_json(base, k)["id"]


def fetch_or_die(base, ids, doomed, out):
    for k in ids:
        out.append(get_or_die(base, k, doomed))
    return out


def get_or_fail(base, k, bad):
    data = get_json(base, k)
    if k == bad:
        raise ValueError(f"bad item {k}")
    return data["id"]


def fetch_or_fail(base, ids, bad, out):
    for k in ids:
        out.append(get_or_fail(base, k, bad))
    return out


def get_slow(base, k, bad, delay=0.0):
    """The failing item fails at once; the others wait `delay`, then make a request."""
    if k == bad:
        raise ValueError(f"bad item {k}")
    time.sleep(delay)
    return get_json(base, k)["id"]


def fetch_slow_or_fail(base, ids, bad, out, delay=0.0):
    for k in ids:
        out.append(get_slow(base, k, bad, delay))
    return out


@xcs.io   # vouched for by the user; but a file write from a worker process cannot be put in order
def get_and_write(base, k, path):
    data = get_json(base, k)
    with open(path, "a") as f:
        f.write(data["id"])
    return data["id"]


def fetch_and_write(base, ids, path):
    out = []
    for k in ids:
        out.append(get_and_write(base, k, path))
    return out


@xcs.io
def get_and_write_path(base, k, path):
    import pathlib
    data = get_json(base, k)
    pathlib.Path(f"{path}.{k}").write_text(data["id"])      # not visible to the scan
    return data["id"]


def fetch_and_write_paths(base, ids, path):
    out = []
    for k in ids:
        out.append(get_and_write_path(base, k, path))
    return out
