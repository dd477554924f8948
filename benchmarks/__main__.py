"""`python -m benchmarks`: the benchmark harness (see `benchmarks.harness.cli`)."""
import sys

from benchmarks.harness.cli import main

sys.exit(main())
