"""The real-world corpus (issue 11): loops from public projects, run plain and under XCS.

    python -m pytest -q tests/realworld          # plain vs @xcs.jit vs xcs.enabled(): identical results
    python -m tests.realworld.table              # decision, reason and speedup per loop (Markdown)

`loops.py` holds the loops and their table, `servers.py` the local services they talk to,
`observe.py` what a run leaves behind (return value, stdout, stderr, files).
"""
