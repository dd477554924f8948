"""API: what users call — `jit`, `explain`, `enable`/`disable` — and the per-code-object cache.

- `decorator`: `@xcs.jit` and `xcs.explain`.
- `compiler`: analysis, transform and evidence put together for one function; the cache
  of compiled code objects and their reports.
- `auto`: auto-mode (`xcs.enable()`), discovering functions with loops as they are called;
  `monitoring`: its `sys.monitoring` mechanism (3.12+).
- `report`: `LoopReport` and `Reports`, the words `explain` prints.

May import every layer below it (analysis, transform, runtime, evidence) and the
foundation modules (`pyversion`, `sourcepaths`, `config`, `native`, which loads `_hook`); nothing imports it but
`xcs/__init__.py` and the `cli` commands.
"""
