"""HTTP fan-out with `urllib.request` against the local latency server (one GET per item).

The page is appended after the `with` block; `http_urllib_append_in_with` measures the
other common shape, with the append inside it."""
from __future__ import annotations

import urllib.request

from benchmarks.harness.server import running_server
from benchmarks.workloads import Workload


def fetch(url, base):
    with urllib.request.urlopen(base + url, timeout=60) as response:
        return response.read().decode()


def loop(urls, base):
    pages = []
    for url in urls:
        with urllib.request.urlopen(base + url, timeout=60) as response:
            page = response.read().decode()
        pages.append(page)
    return pages


WORKLOAD = Workload(
    name="http-urllib", title="HTTP GET with `urllib.request`", kind="io",
    loop=loop, one=fetch,
    items=lambda n, base: [f"/item/{i}" for i in range(n)],
    environment=lambda options: running_server(options.latency),
)
