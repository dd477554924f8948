"""Benchmark: a `with client.stream(...)` block in the loop body — plain vs `@xcs.jit` vs a pool.

```python
for u in urls:
    with client.stream("GET", u) as r:      # the request is sent at __enter__
        pages.append(r.read())
```

The `with` block runs in the map part and `pages.append` moves after it
(`xcs.analysis.with_blocks`). Timed against the local benchmark server
(`benchmarks.harness.server`, a fixed latency per request) for plain CPython, `@xcs.jit`
(first call, then later calls) and a hand-written `ThreadPoolExecutor(N)` doing the same block
per URL. One `httpx.Client` allowing N connections is shared by all. *peak* is the most
requests the server saw in flight at once.

Writes the `stream_with` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.stream_with [--n 32] [--latency 0.05] [--repeat 5] [--pythons PY ...] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import json
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


def stream_pages(client, urls):
    pages = []
    for u in urls:
        with client.stream("GET", u) as r:
            pages.append(r.read())
    return pages


def one_page(client, u):
    with client.stream("GET", u) as r:
        return r.read()


def _stats(base):
    with urllib.request.urlopen(base + "/_stats", timeout=10) as response:
        return json.loads(response.read())


def measure(n, latency, repeat, label="xcs.jit", xcs_only=False) -> dict:
    import platform

    import httpx

    fast = xcs.jit(stream_pages, max_workers=n)
    first, later = f"{label} (first call)", f"{label} (later calls)"
    rows: dict = {}
    with running_server(latency) as base, httpx.Client(limits=httpx.Limits(max_connections=n)) as client:
        urls = [f"{base}/limited/{k}" for k in range(n)]   # counted by the server's gauge

        def run(name, call):
            _stats(base)
            start = time.perf_counter()
            result = call()
            seconds = time.perf_counter() - start
            rows.setdefault(name, []).append({"seconds": seconds, "peak": _stats(base)["peak"], "result": result})

        def pool():
            with ThreadPoolExecutor(n) as executor:
                return list(executor.map(lambda u: one_page(client, u), urls))

        expected = stream_pages(client, urls)
        if not xcs_only:
            run("plain", lambda: stream_pages(client, urls))
        run(first, lambda: fast(client, urls))
        for _ in range(repeat):
            if not xcs_only:
                run(f"ThreadPoolExecutor({n})", pool)
            run(later, lambda: fast(client, urls))
        out = {name: {"seconds": statistics.median(r["seconds"] for r in runs),
                      "peak": statistics.median(r["peak"] for r in runs),
                      "same": all(r["result"] == expected for r in runs), "runs": len(runs)}
               for name, runs in rows.items()}
    return {"python": platform.python_version(), "rows": out, "explain": [str(r) for r in xcs.explain(fast)],
            "label": label}


def markdown(results, args, command) -> str:
    lines = [
        "## `with client.stream(...)` in the loop body — plain vs `@xcs.jit` vs a pool (issue 11 item 5, issue 13)",
        "",
        f"N = {args.n} GETs through one `httpx.Client` (N connections), {args.latency * 1000:.0f} ms each at the "
        "server, each read inside `with client.stream(\"GET\", u) as r: pages.append(r.read())`. Before this change "
        "XCS ran the whole `with` in order; now the block runs in the map part and only "
        "`pages.append` stays in order. *xcs.jit before*: the same loop under the XCS of `--baseline` (the "
        "commit this work started from). Wall time and peak are medians (plain and first calls: 1 run; the "
        f"pool and later calls: {args.repeat} runs). Command: `{command}`",
        "",
        "| CPython | contender | wall time | peak in flight | same result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for name, row in r["rows"].items():
            lines.append(f"| {r['python']} | {name} | {row['seconds'] * 1000:.0f} ms | {row['peak']:.0f} | "
                         f"{row['same']} |")
    lines.append("")
    for r in results:
        lines.append(f"- {r['python']} `xcs.explain`: " + " / ".join(r["explain"]))
        if "explain_before" in r:
            lines.append(f"- {r['python']} `xcs.explain` before: " + " / ".join(r["explain_before"]))
    lines += ["", f"Machine: {machine_line()}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pythons", nargs="*", default=[])
    parser.add_argument("--json", action="store_true", help="print this interpreter's figures as JSON")
    parser.add_argument("--baseline", help="an XCS source tree (`git archive <commit>` unpacked) whose "
                        "@xcs.jit is timed too, as `xcs.jit before`")
    parser.add_argument("--xcs-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="xcs.jit", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(measure(args.n, args.latency, args.repeat, args.label, args.xcs_only)))
        return 0
    results = [measure(args.n, args.latency, args.repeat)]
    common = ["--json", "--n", str(args.n), "--latency", str(args.latency), "--repeat", str(args.repeat)]
    for python in args.pythons:
        out = subprocess.run([python, "-m", "benchmarks.stream_with", *common],
                             cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.baseline:
        import os

        env = dict(os.environ, PYTHONPATH=args.baseline, PYTHONDONTWRITEBYTECODE="1")
        for n, python in enumerate([sys.executable, *args.pythons]):
            out = subprocess.run([python, str(Path(__file__).resolve()), *common, "--xcs-only", "--label",
                                  "xcs.jit before"], cwd=args.baseline, env=env, stdout=subprocess.PIPE, text=True,
                                 check=True)
            before = json.loads(out.stdout.strip().splitlines()[-1])
            results[n]["rows"].update(before["rows"])
            results[n]["explain_before"] = before["explain"]
    command = " ".join(["python -m benchmarks.stream_with", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(results, args, command)
    write_section("stream_with", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
