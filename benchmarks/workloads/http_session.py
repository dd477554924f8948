"""HTTP fan-out over one shared `requests.Session` (urllib3 pool of 10 per host, the default).

With more workers than the pool holds, a hand-written pool makes urllib3 discard connections
("Connection pool is full" warnings) and reconnect; XCS raises the session's pool size for
the loop's duration (`xcs.runtime.pools_fit`). `benchmarks.overload` counts the warnings."""
from __future__ import annotations

import contextlib

from benchmarks.harness.server import running_server
from benchmarks.workloads import Workload


def fetch(url, env):
    base, session = env
    return session.get(base + url, timeout=60).text


def loop(urls, env):
    base, session = env
    pages = []
    for url in urls:
        pages.append(session.get(base + url, timeout=60).text)
    return pages


@contextlib.contextmanager
def session_of_local_server(options):
    import requests

    with running_server(options.latency) as base, requests.Session() as session:
        yield base, session


WORKLOAD = Workload(
    name="http-session", title="HTTP GET over one `requests.Session` (pool of 10)", kind="io",
    loop=loop, one=fetch, requires=("requests",),
    items=lambda n, env: [f"/item/{i}" for i in range(n)],
    environment=session_of_local_server,
)
