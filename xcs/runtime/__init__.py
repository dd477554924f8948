"""Runtime: bounded, ordered, thread-pooled execution of a loop's map part.

`ordered_map(body, iterable, args)` runs `body(item, *args)` for each item on a shared
pool and yields the results in iteration order; see its docstring for the ordering,
cancellation and exception rules.
"""
