"""Benchmark: concurrency that fits the service — plain vs a 64-worker pool vs `@xcs.jit`.

Two loops against the local benchmark server (`benchmarks.harness.server`), each timed for
plain CPython, a hand-written `ThreadPoolExecutor(64)` and `@xcs.jit(max_workers=64)` (its
first call, then later calls, which start from the concurrency the loop learnt):

- **rate-limited**: the server answers 429 (`Retry-After: 0`) at once while more than K
  requests are in flight. The loop is a polite client: on 429 it waits 10 ms and retries, so
  every contender returns the same pages; *429s* counts the rejected requests.
- **one session**: `requests.Session()` (urllib3 pool of 10 per host) shared by the loop;
  *pool warnings* counts urllib3's "Connection pool is full, discarding connection".

Writes the `overload` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.overload [--n 256] [--above 8] [--latency 0.05] [--repeat 3] [--pythons PY ...]
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xcs
from benchmarks.harness.server import running_server
from benchmarks.report import machine_line, write_section

REPO = Path(__file__).resolve().parents[1]
WORKERS = 64


def polite_get(session, url):
    while True:
        response = session.get(url, timeout=60)
        if response.status_code != 429:
            return response.text
        time.sleep(0.01)


def rate_limited(session, urls):
    pages = []
    for url in urls:
        pages.append(polite_get(session, url))
    return pages


def one_session(session, urls):
    pages = []
    for url in urls:
        pages.append(session.get(url, timeout=60).text)
    return pages


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.full = 0

    def emit(self, record):
        self.full += "Connection pool is full" in record.getMessage()


def _stats(base):
    with urllib.request.urlopen(base + "/_stats", timeout=10) as response:
        return json.loads(response.read())


def _measure(loop, one, urls, base, repeat):
    import requests

    counter = _Count()
    logging.getLogger("urllib3").addHandler(counter)
    logging.getLogger("urllib3").propagate = False     # counted here, not printed
    fast = xcs.jit(loop, max_workers=WORKERS)
    rows = {}

    def run(name, call):
        counter.full = 0
        _stats(base)
        with requests.Session() as session:
            start = time.perf_counter()
            result = call(session)
            seconds = time.perf_counter() - start
        stats = _stats(base)
        rows.setdefault(name, []).append({"seconds": seconds, "rejected": stats["rejected"], "peak": stats["peak"],
                                          "warnings": counter.full, "result": result})

    def pool(session):
        with ThreadPoolExecutor(WORKERS) as executor:
            return list(executor.map(lambda url: one(session, url), urls))

    run("plain", lambda session: loop(session, urls))
    run("xcs.jit (first call)", lambda session: fast(session, urls))
    for _ in range(repeat):
        run("ThreadPoolExecutor(64)", pool)
        run("xcs.jit (later calls)", lambda session: fast(session, urls))
    expected = rows["plain"][0]["result"]
    out = {}
    for name, runs in rows.items():
        out[name] = {"seconds": statistics.median(r["seconds"] for r in runs),
                     "rejected": statistics.median(r["rejected"] for r in runs),
                     "peak": statistics.median(r["peak"] for r in runs),
                     "warnings": statistics.median(r["warnings"] for r in runs),
                     "same": all(r["result"] == expected for r in runs), "runs": len(runs)}
    out["explain"] = [str(r) for r in xcs.explain(fast)]
    return out


def measure(n, above, latency, repeat) -> dict:
    import platform

    with running_server(latency) as base:
        limited = _measure(rate_limited, polite_get, [f"{base}/limited/{k}?above={above}" for k in range(n)],
                           base, repeat)
        session = _measure(one_session, lambda s, url: s.get(url, timeout=60).text,
                           [f"{base}/limited/{k}" for k in range(n)], base, repeat)
    return {"python": platform.python_version(), "limited": limited, "session": session}


def markdown(results, args, command) -> str:
    lines = [
        "## Overload: concurrency that fits the service — plain vs a 64-worker pool vs `@xcs.jit`",
        "",
        f"N = {args.n} GETs, {args.latency * 1000:.0f} ms each at the server. *Rate-limited*: the server answers 429 "
        f"(`Retry-After: 0`) at once above {args.above} requests in flight; the loop retries after 10 ms, so all "
        "return the same pages. *One session*: a shared `requests.Session()` (urllib3 keeps 10 connections per "
        "host). Wall time and counts are medians (first call: 1 run; later calls and the pool: "
        f"{args.repeat} runs). *peak* is the most requests the server saw in flight at once. Command: `{command}`",
        "",
        "| CPython | loop | contender | wall time | 429s | peak in flight | pool-full warnings | same result |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for key, title in (("limited", f"rate-limited (429 above {args.above})"), ("session", "one `requests.Session`")):
            for name, row in r[key].items():
                if name == "explain":
                    continue
                lines.append(f"| {r['python']} | {title} | {name} | {row['seconds'] * 1000:.0f} ms | "
                             f"{row['rejected']:.0f} | {row['peak']:.0f} | {row['warnings']:.0f} | {row['same']} |")
    lines.append("")
    for r in results:
        for key in ("limited", "session"):
            lines.append(f"- {r['python']} `xcs.explain`: " + " / ".join(r[key]["explain"]))
    lines += ["", f"Machine: {machine_line()}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--above", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pythons", nargs="*", default=[])
    parser.add_argument("--json", action="store_true", help="print this interpreter's figures as JSON")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(measure(args.n, args.above, args.latency, args.repeat)))
        return 0
    results = [measure(args.n, args.above, args.latency, args.repeat)]
    for python in args.pythons:
        out = subprocess.run([python, "-m", "benchmarks.overload", "--json", "--n", str(args.n), "--above",
                              str(args.above), "--latency", str(args.latency), "--repeat", str(args.repeat)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    command = " ".join(["python -m benchmarks.overload", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(results, args, command)
    write_section("overload", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
