"""Pacing: a `time.sleep` between requests is a rate limit, and keeps the loop in order.

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

import time

from tests.corpus.probe import io
from tests.corpus.shapes.common import XS, shape




@shape("sequential", "paced", subject="time.sleep", args=(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"],))
def sleeps_between_requests(urls):
    import urllib.request
    out = []
    for u in urls:
        try:
            out.append(urllib.request.urlopen(u, timeout=0.2).status)
        except OSError as error:
            out.append(type(error).__name__)
        time.sleep(0.001)   # a rate limit: one request per interval
    return out


@shape("parallel", args=(XS,))
def sleep_beside_work_that_reaches_no_server(xs):
    out = []
    for x in xs:
        out.append(io(x))
        time.sleep(0.001)
    return out
