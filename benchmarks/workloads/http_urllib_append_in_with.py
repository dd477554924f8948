"""The same fan-out written with the append inside the `with` block: the in-order part is
then the whole `with` block, and XCS runs the `urlopen(...)` call that makes the manager
(the request and its wait) in the map part, the body read and the append in order."""
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
