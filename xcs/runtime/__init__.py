"""Runtime: bounded, ordered, thread-pooled execution of a loop's map part.

`ordered_map(body, iterable, args)` runs `body(item, *args)` for each item on a shared
pool and yields the results in iteration order; see its docstring for the ordering,
cancellation and exception rules. `run_inline` is its sequential twin with the same
protocol, and `is_worker_thread()` tells whether the current thread is one of XCS's.
`take_turn()` makes the rest of a body run in order (OpenMP `ordered`), `in_iteration()`
tells whether the current thread runs an iteration without the turn, and `Abandoned` is
what a body waiting for a turn that never comes is unwound with.

`executors.remote_map` is `ordered_map`'s twin for map parts shipped to other processes
(`executor="processes"`, a Dask client, a `concurrent.futures.Executor`): `shipping`
serialises them and runs them in the worker, `processes` is the "processes" pool.

How a loop's iterations reach the pool: `lanes` (no head-of-line blocking, fail-fast),
`adaptive` (the per-loop concurrency limit), `signals` (overload responses and errors),
`pools_fit` (fitting to the loop's HTTP clients), `hosts` (per-host caps), `creations`
(requests that create resources run in order); see docs/runtime.md.

May import the layers below it (analysis, transform) and the foundation modules; in practice
it needs only `xcs.config`.
"""
from xcs.runtime.inline import run_inline
from xcs.runtime.ordered import ordered_map
from xcs.runtime.pools import is_worker_thread
from xcs.runtime.turns import Abandoned, in_iteration, take_turn

__all__ = ["Abandoned", "in_iteration", "is_worker_thread", "ordered_map", "run_inline", "take_turn"]
