"""Reading many small files (4 KiB each, from a temporary directory, so from the page cache)."""
from __future__ import annotations

import contextlib
import os
import tempfile

from benchmarks.workloads import Workload

FILES = 512
SIZE = 4096


def read_one(name, directory):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read().count(b"x")


def loop(names, directory):
    counts = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        counts.append(data.count(b"x"))
    return counts


@contextlib.contextmanager
def directory_of_files(options):
    with tempfile.TemporaryDirectory(prefix="xcs-bench-") as directory:
        for i in range(FILES):
            with open(os.path.join(directory, f"f{i}.txt"), "wb") as f:
                f.write((b"x" * (i % 64) + b".").ljust(SIZE, b"-"))
        yield directory


WORKLOAD = Workload(
    name="small-files", title="read 4 KiB files (page cache)", kind="io",
    loop=loop, one=read_one,
    items=lambda n, directory: [f"f{i % FILES}.txt" for i in range(n)],
    environment=directory_of_files,
)
