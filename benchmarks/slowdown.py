"""Benchmark: where the adaptive limit settles — a service that slows down above K in flight,
and a flat service whose replies take different times.

- **slows above K**: the local benchmark server's `/slow/<k>?above=K` answers after
  `latency × max(1, in flight / K)` (`benchmarks.harness.server`): above K, more requests in
  flight only queue, the throughput stays that of K. Contenders: `ThreadPoolExecutor(K)` (the
  right concurrency, known in advance), `ThreadPoolExecutor(64)`, and `@xcs.jit(max_workers=64)`
  (first call, then later calls). Per contender: wall time, the server's peak in flight, and
  XCS's limit after the call.
- **varied, flat**: `time.sleep` of 50 to 500 ms per item (seeded), no service behind it: the
  right concurrency is the most workers. `ThreadPoolExecutor(64)` against `@xcs.jit(max_workers=64)`.

Writes the section `slowdown` (or `slowdown-<label>`) of `benchmarks/RESULTS.md`.

    python -m benchmarks.slowdown [--n 256] [--above 4] [--latency 0.02] [--calls 8] [--label L]
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import xcs
from benchmarks.harness.server import running_server
from benchmarks.report import machine_line, write_section

WORKERS = 64


def get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read()


def slow_loop(urls):
    pages = []
    for url in urls:
        pages.append(get(url))
    return pages


def pause(seconds):
    time.sleep(seconds)
    return seconds


def varied_loop(delays):
    out = []
    for delay in delays:
        out.append(pause(delay))
    return out


def _stats(base):
    with urllib.request.urlopen(base + "/_stats", timeout=10) as response:
        return json.loads(response.read())


def _timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def measure_slow(n, above, latency, calls) -> dict:
    rows = []
    with running_server(latency) as base:
        urls = [f"{base}/slow/{k}?above={above}" for k in range(n)]
        expected = [f"item {k}".encode() for k in range(n)]
        for workers in (above, WORKERS):
            _stats(base)
            with ThreadPoolExecutor(workers) as pool:
                result, seconds = _timed(lambda: list(pool.map(get, urls)))
            rows.append({"contender": f"ThreadPoolExecutor({workers})", "seconds": seconds,
                         "peak": _stats(base)["peak"], "limit": workers, "same": result == expected})
        fast = xcs.jit(slow_loop, max_workers=WORKERS)
        for call in range(calls):
            _stats(base)
            result, seconds = _timed(lambda: fast(urls))
            limiter = xcs.explain(fast)[0].runner.limiter
            rows.append({"contender": f"xcs.jit call {call + 1}", "seconds": seconds, "peak": _stats(base)["peak"],
                         "limit": limiter.limit, "same": result == expected})
    return {"rows": rows, "explain": [str(r) for r in xcs.explain(fast)]}


def measure_varied(n, calls) -> dict:
    delays = [round(random.Random(k).uniform(0.05, 0.5), 3) for k in range(n)]
    rows = []
    with ThreadPoolExecutor(WORKERS) as pool:
        result, seconds = _timed(lambda: list(pool.map(pause, delays)))
    rows.append({"contender": f"ThreadPoolExecutor({WORKERS})", "seconds": seconds, "limit": WORKERS,
                 "same": result == delays})
    fast = xcs.jit(varied_loop, max_workers=WORKERS)
    for call in range(calls):
        result, seconds = _timed(lambda: fast(delays))
        rows.append({"contender": f"xcs.jit call {call + 1}", "seconds": seconds,
                     "limit": xcs.explain(fast)[0].runner.limiter.limit, "same": result == delays})
    return {"rows": rows, "ideal": sum(delays) / WORKERS}


def markdown(slow, varied, args, command) -> str:
    later = [r for r in slow["rows"] if r["contender"].startswith("xcs.jit")][2:]
    lines = [
        f"## Slowdown{f' ({args.label})' if args.label else ''}: where the adaptive limit settles",
        "",
        f"*Slows above K*: N = {args.n} GETs to a local server that answers after {args.latency * 1000:.0f} ms × "
        f"max(1, in flight / {args.above}); *peak* is the most requests it saw in flight, *limit* XCS's "
        f"concurrency after the call (max_workers = {WORKERS}). *Varied, flat*: N = {args.varied_n} "
        f"`time.sleep` of 50-500 ms. CPython {platform.python_version()}. Command: `{command}`",
        "",
        "| loop | contender | wall time | peak in flight | limit after | same result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in slow["rows"]:
        lines.append(f"| slows above {args.above} | {r['contender']} | {r['seconds'] * 1000:.0f} ms | {r['peak']} | "
                     f"{r['limit']} | {r['same']} |")
    for r in varied["rows"]:
        lines.append(f"| varied, flat | {r['contender']} | {r['seconds'] * 1000:.0f} ms | – | {r['limit']} | {r['same']} |")
    if later:
        lines += ["", f"Slows above {args.above}, calls 3-{args.calls}: limit after the call median "
                  f"{statistics.median(r['limit'] for r in later):.0f} (range {min(r['limit'] for r in later)}-"
                  f"{max(r['limit'] for r in later)}), peak in flight median "
                  f"{statistics.median(r['peak'] for r in later):.0f} = "
                  f"{statistics.median(r['peak'] for r in later) / args.above:.1f} × K. Varied, flat: "
                  f"{varied['ideal'] * 1000:.0f} ms is the sum of the sleeps over {WORKERS} workers."]
    lines += ["", f"Machine: {machine_line()}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--above", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--varied-n", type=int, default=512)
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    slow = measure_slow(args.n, args.above, args.latency, args.calls)
    varied = measure_varied(args.varied_n, 3)
    command = " ".join(["python -m benchmarks.slowdown", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(slow, varied, args, command)
    write_section("slowdown" + (f"-{args.label.split()[0]}" if args.label else ""), text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
