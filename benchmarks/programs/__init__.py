"""Small call-heavy programs with nothing to parallelize, for `benchmarks.hook_overhead`.

Each module has `run()` (one timed unit of work, returning a checkable value) and
`EXPECTED` (what `run()` returns), written here in the style of the pyperformance
benchmarks of the same name, not copied from them.
"""
PROGRAMS = ("fib", "method_calls", "genexpr", "arith_loop", "richards", "nbody", "deltablue", "json_dumps")
