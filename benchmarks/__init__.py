"""XCS benchmarks: one module per workload, sharing one timing/report helper (`benchmarks.report`)."""
