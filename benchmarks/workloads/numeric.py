"""A numeric loop where `numba`'s `prange` is the right tool: the Euclidean norm of each row.

The plain loop walks each row element by element in Python, holding the GIL: threads cannot
help it and XCS leaves it alone (≈ 1.0×). Compiled by numba with `parallel=True`, the same
loop runs as machine code on all cores; that contender is here to show where the speedup
for this kind of loop comes from. Needs `numba` (the `numba` extra).
"""
from __future__ import annotations

import contextlib

from benchmarks.workloads import Workload

COLUMNS = 5_000
ROWS = 512


def norm(row, _=None):
    total = 0.0
    for value in row:
        total += value * value
    return total ** 0.5


def loop(rows, _=None):
    norms = []
    for row in rows:
        total = 0.0
        for value in row:
            total += value * value
        norms.append(total ** 0.5)
    return norms


@contextlib.contextmanager
def matrix(options):
    import numpy

    yield numpy.random.default_rng(7).random((ROWS, COLUMNS))


def numba_prange(_matrix):
    """The numba contender: `run(rows)` with the loop compiled `@njit(parallel=True)` over `prange`."""
    import numba
    import numpy

    @numba.njit(parallel=True)
    def norms_of(rows):
        out = numpy.empty(rows.shape[0])
        for i in numba.prange(rows.shape[0]):
            total = 0.0
            for value in rows[i]:
                total += value * value
            out[i] = total ** 0.5
        return out

    return lambda rows: [float(v) for v in norms_of(rows)]


WORKLOAD = Workload(
    name="numeric", title=f"row norms of a {COLUMNS:,}-column float matrix (numba's case)", kind="cpu",
    loop=loop, one=norm, requires=("numba",),
    items=lambda n, m: m[:n],
    environment=matrix,
    sizes=(1, 8, 32, 128, 512), quick_sizes=(1, 8, 32),
    extra={"numba prange": numba_prange},
)
