"""The benchmark harness: every workload of `benchmarks.workloads`, every contender, side by
side in one run, with a report (`benchmarks/RESULTS.md`, `benchmarks/results.json`, a plot).
Entry point: `python -m benchmarks` (see `benchmarks.harness.cli`)."""
