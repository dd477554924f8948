"""The same fan-out written with the append inside the `with` block — a shape XCS keeps
sequential today (the in-order append would have to run before the response's `__exit__`),
measured so the report shows that limit next to the shape it does handle."""
from __future__ import annotations

import urllib.request

from benchmarks.harness.server import running_server
from benchmarks.workloads import Workload
from benchmarks.workloads.http_urllib import fetch


def loop(urls, base):
    pages = []
    for url in urls:
        with urllib.request.urlopen(base + url, timeout=60) as response:
            pages.append(response.read().decode())
    return pages


WORKLOAD = Workload(
    name="http-urllib-append-in-with", title="HTTP GET with `urllib.request`, `pages.append(...)` inside the `with`",
    kind="io", loop=loop, one=fetch,
    items=lambda n, base: [f"/item/{i}" for i in range(n)],
    environment=lambda options: running_server(options.latency),
    sizes=(1, 8, 32), quick_sizes=(8,),
)
