"""`python -m xcs run [--explain] SCRIPT [ARGS...]`: run a script as `__main__` with auto-mode on.

Like `python -m cProfile SCRIPT`: `sys.argv` becomes `[SCRIPT, ARGS...]`, the script's
directory goes first on `sys.path`, and the script runs with `xcs.enable()` active, so its
proven I/O-bound loops run in parallel without a decorator. With `--explain`, prints at exit
(to stderr) which loops ran in parallel and which stayed sequential, and why.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcs run", description=__doc__.splitlines()[0])
    parser.add_argument("--explain", action="store_true", help="print the loops' reports at exit")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    from xcs.api import auto

    sys.argv = [options.script, *options.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(options.script)))
    auto.enable()
    try:
        runpy.run_path(options.script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    finally:
        auto.disable()
        if options.explain:
            _explain()
    return code if isinstance(code, int) else (0 if code is None else 1)


def _explain() -> None:
    from xcs.api.compiler import all_reports

    reports = [r for rs in all_reports().values() for r in rs]
    print(f"xcs: {len(reports)} loops seen", file=sys.stderr)
    for report in sorted(reports, key=lambda r: (r.filename, r.line or 0)):
        print(f"xcs:   {report}", file=sys.stderr)
