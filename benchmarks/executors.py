"""Benchmark: a fetch-and-parse loop — plain, threads, processes, a Dask `LocalCluster`.

Each iteration fetches `/item/<k>` from the local latency server (`benchmarks.harness.server`,
its own process) and parses an HTML table built from the reply with `html.parser` — about
1 ms of CPU per item (measured and printed), under the GIL when it runs on threads. For N
items it times, once each after a warm-up call:

- plain CPython;
- `@xcs.jit` with `executor="threads"` (the default pool, `max_workers` threads);
- `@xcs.jit` with `executor="processes"` (XCS's pool: one worker process per core, each
  running up to max_workers / cores iterations on its threads);
- `@xcs.jit` with a `dask.distributed.Client` of a `LocalCluster` (one worker process per
  core on 127.0.0.1, `--dask-threads` threads each, the scheduler set not to re-run tasks).

All must return the plain loop's list. Then the cost of shipping: N iterations of a map part
that does nothing (`echo(x)`), wall time per item on threads, processes and Dask, and the
caller's own share per item (serialising the item, reading the reply) in µs.
Writes the `executors` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.executors [--n 1000] [--latency 0.01] [--rows 90] [--dask-threads 16]
"""
from __future__ import annotations

import argparse
import logging
import os
import time
import urllib.request
from html.parser import HTMLParser

import xcs
from benchmarks.harness.server import running_server
from benchmarks.report import machine_line, write_section

ROWS = 90


class _Cells(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)    # not `super()`: XCS's analysis cannot read `super.__new__`
        self.cells = 0
        self.text = 0

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self.cells += 1

    def handle_data(self, data):
        self.text += len(data)


def parse(body: str, rows: int) -> tuple:
    """About `rows` × 11 µs of pure-Python parsing: the cells and text length of a table."""
    parser = _Cells()
    parser.feed("".join(f"<tr><td class='c'>{body}</td><td>{i}</td></tr>" for i in range(rows)))
    parser.close()
    return parser.cells, parser.text


def fetch_and_parse(base: str, k: int, rows: int) -> tuple:
    with urllib.request.urlopen(f"{base}/item/{k}", timeout=60) as response:
        body = response.read().decode()
    return (k, *parse(body, rows))


def crawl(base, ids, rows):
    """The user's plain loop."""
    results = []
    for k in ids:
        results.append(fetch_and_parse(base, k, rows))
    return results


@xcs.io
def echo(x):
    return x


def ship_only(xs):
    """A loop whose map part does nothing: what remains is the cost of running it elsewhere."""
    out = []
    for x in xs:
        out.append(echo(x))
    return out


def identity(x):
    return x


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def caller_share_us(n: int) -> float:
    """µs per item the calling thread spends serialising an item and reading a reply."""
    from xcs.runtime.shipping import Shipment, unpack
    import cloudpickle

    shipment = Shipment.prepare(echo, ())
    reply = cloudpickle.dumps(((True, (None, -1, None, 7)), []))
    start = time.perf_counter()
    for k in range(n):
        shipment.pack(k, k)
        unpack(reply)
    return (time.perf_counter() - start) / n * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.01)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--dask-threads", type=int, default=16)
    args = parser.parse_args(argv)
    import dask
    from distributed import Client, LocalCluster

    cores = os.cpu_count() or 1
    load = os.getloadavg()
    ids = list(range(args.n))
    start = time.perf_counter()
    for _ in range(200):
        parse("item 5", args.rows)
    parse_ms = (time.perf_counter() - start) / 200 * 1e3
    rows, same, shipping = [], True, []
    with running_server(args.latency) as base:
        expected = None
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=cores, threads_per_worker=args.dask_threads, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        client = Client(cluster)
        try:
            contenders = [("plain", crawl), ("threads", xcs.jit(crawl, executor="threads")),
                          ("processes", xcs.jit(crawl, executor="processes")),
                          ("Dask LocalCluster", xcs.jit(crawl, executor=client))]
            for name, fn in contenders:
                fn(base, ids[:8], args.rows)                 # warm-up: decide, start the workers
                seconds, value = timed(lambda: fn(base, ids, args.rows))
                expected = value if expected is None else expected
                same = same and value == expected
                notes = [r.executor_notice() for r in xcs.explain(fn)] if name != "plain" else []
                rows.append((name, seconds, [n for n in notes if n]))
                print(f"{name}: {seconds:.2f} s, {args.n / seconds:.0f} items/s")
            for name, executor in (("threads", "threads"), ("processes", "processes"), ("Dask LocalCluster", client)):
                fn = xcs.jit(ship_only, executor=executor, parallel=True)
                fn(range(8))
                seconds, value = timed(lambda: fn(ids))
                same = same and value == ids
                shipping.append((name, seconds / args.n * 1e6))
                print(f"no-op on {name}: {seconds / args.n * 1e6:.0f} µs per item")
            client.gather(client.map(identity, range(8), pure=False))
            seconds, value = timed(lambda: client.gather(client.map(identity, ids, pure=False)))
            same = same and value == ids
            shipping.append(("Dask alone: `client.gather(client.map(identity, items))`, no XCS", seconds / args.n * 1e6))
        finally:
            client.close()
            cluster.close()
    caller = caller_share_us(args.n)
    plain = rows[0][1]
    table = ["| contender | wall time | items/s | speedup over plain |", "| --- | --- | --- | --- |"]
    table += [f"| {name} | {seconds:.2f} s | {args.n / seconds:.0f} | {plain / seconds:.1f}× |"
              for name, seconds, _ in rows]
    cost = ["| where the map part runs | wall time per item, empty map part |", "| --- | --- |"]
    cost += [f"| {name} | {us:.0f} µs |" for name, us in shipping]
    command = (f"python -m benchmarks.executors --n {args.n} --latency {args.latency} --rows {args.rows} "
               f"--dask-threads {args.dask_threads}")
    notes = sorted({n for _, _, ns in rows for n in ns})
    body = [
        "## Executors: fetch-and-parse on threads, processes and Dask",
        "",
        f"N = {args.n} items; each fetches `/item/<k>` from the local server ({args.latency * 1000:.0f} ms latency, "
        f"its own process) and parses an HTML table of {args.rows} rows with `html.parser` "
        f"({parse_ms:.2f} ms of CPU per item, measured here). One run each after a warm-up call of 8 items "
        f"(which also starts the worker processes). Threads: `max_workers` = {xcs.settings().max_workers}; "
        f"processes: {cores} worker processes × {-(-xcs.settings().max_workers // cores)} threads; Dask: "
        f"`LocalCluster` of {cores} worker processes × {args.dask_threads} threads on 127.0.0.1. "
        f"Same results as plain: {same}. Machine: {cores} cores ({machine_line()}), shared: load average "
        f"{load[0]:.1f} before the run, {os.getloadavg()[0]:.1f} after. Command: `{command}`",
        "",
        *table,
        "",
        "Shipping cost: N iterations whose map part only returns its item (`out.append(echo(x))`), wall time "
        "divided by N — the per-item price of running the map part elsewhere, all of it overhead:",
        "",
        *cost,
        "",
        f"Of that, the calling thread's own share (serialising the item with cloudpickle, reading the reply): "
        f"{caller:.0f} µs per item. The rest is the executor's: for Dask, the scheduler's work per task (the "
        "`LocalCluster`'s scheduler runs in the calling process, on the same 2 cores as the workers), which the "
        "last row measures without XCS.",
    ]
    if notes:
        body += ["", "Notices: " + "; ".join(notes)]
    write_section("executors", "\n".join(body))
    print("\n".join(body))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
