"""Transform: build the variant code objects that run a loop's map part on the runtime.

- `variant`: the function's code with a proven loop replaced by a call of the loop runner.
- `body`, `layout`, `jumps`, `catch`: the extracted body function and its exits.
- `trampoline`: the small code object `@xcs.jit` returns, which compiles on first call.

May import analysis and the foundation modules; never runtime, evidence or api (the variant
names the runner it calls through a constant handed in by the caller).
"""
