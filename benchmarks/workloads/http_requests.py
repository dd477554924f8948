"""HTTP fan-out with `requests` (one `requests.get` per item) against the local latency server."""
from __future__ import annotations

from benchmarks.harness.server import running_server
from benchmarks.workloads import Workload

try:
    import requests
except ImportError:  # optional: the workload is then reported as not run
    requests = None


def fetch(url, base):
    return requests.get(base + url, timeout=60).text


def loop(urls, base):
    pages = []
    for url in urls:
        pages.append(requests.get(base + url, timeout=60).text)
    return pages


WORKLOAD = Workload(
    name="http-requests", title="HTTP GET with `requests`", kind="io",
    loop=loop, one=fetch, requires=("requests",),
    items=lambda n, base: [f"/item/{i}" for i in range(n)],
    environment=lambda options: running_server(options.latency),
)
