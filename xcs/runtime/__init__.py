"""Runtime: bounded, ordered, thread-pooled execution of a loop's map part.

`ordered_map(body, iterable, args)` runs `body(item, *args)` for each item on a shared
pool and yields the results in iteration order; see its docstring for the ordering,
cancellation and exception rules. `run_inline` is its sequential twin with the same
protocol, and `is_worker_thread()` tells whether the current thread is one of XCS's.
"""
from xcs.runtime.inline import run_inline
from xcs.runtime.ordered import ordered_map
from xcs.runtime.pools import is_worker_thread

__all__ = ["is_worker_thread", "ordered_map", "run_inline"]
