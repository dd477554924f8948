"""`python -m xcs run [--explain] SCRIPT [ARGS...]`: run a script as `__main__` with auto-mode on.

Like `python SCRIPT ARGS...`: `sys.argv` becomes `[SCRIPT, ARGS...]`, the script's directory
goes first on `sys.path`, the script's frames carry its absolute path, an uncaught exception
prints the script's own frames only (none of XCS's) and exits 1, a missing file or a syntax
error is reported in one message, and `sys.exit(...)` sets the exit status. The script runs
with `xcs.enable()` active, so its proven I/O-bound loops run in parallel without a decorator.
With `--explain`, prints at exit (to stderr) which of the script's loops ran in parallel and
which stayed sequential, and why.
"""
from __future__ import annotations

import builtins
import os
import sys
import types

from xcs import config
from xcs.cli.frames import print_user_traceback
from xcs.sourcepaths import is_xcs_file

PROG = "python -m xcs run"
USAGE = f"usage: {PROG} [--explain] SCRIPT [ARGS...]"
HELP = f"""{USAGE}

Run SCRIPT as `python SCRIPT ARGS...` would, with XCS's auto-mode on: the proven I/O-bound
loops of the script's functions run in parallel, with the results of the plain loops.

positional arguments:
  SCRIPT      the Python file to run (as __main__)
  ARGS        passed to the script as sys.argv[1:]

options:
  -h, --help  show this message and exit
  --explain   at exit, list the script's loops on stderr: parallel or sequential, and why

The exit status is the script's (1 for an uncaught exception, 2 if SCRIPT cannot be opened)."""


def main(argv: list[str]) -> int:
    explain = False
    while argv and argv[0].startswith("-"):
        if argv[0] in ("-h", "--help"):
            print(HELP)
            return 0
        if argv[0] != "--explain":
            print(f"{USAGE}\n{PROG}: unknown option {argv[0]!r}", file=sys.stderr)
            return 2
        explain, argv = True, argv[1:]
    if not argv:
        print(f"{USAGE}\n{PROG}: no SCRIPT given", file=sys.stderr)
        return 2
    script, args = argv[0], argv[1:]
    path = os.path.abspath(script)
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as error:   # what `python nosuch.py` says, and its exit status
        print(f"{PROG}: can't open file {path!r}: [Errno {error.errno}] {error.strerror}", file=sys.stderr)
        return 2
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        print_user_traceback(error)
        return 1
    from xcs.api import auto

    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=path, __builtins__=builtins, __cached__=None)
    previous_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(path))
    if not config.is_disabled():   # disabled: the script runs as written (enable() would warn)
        auto.enable()
    try:
        exec(code, module.__dict__)
    except SystemExit as exit_:
        status = _exit_status(exit_.code)
    except KeyboardInterrupt as error:
        print_user_traceback(error)
        status = 130
    except BaseException as error:  # noqa: BLE001 - the script's own failure, shown as Python shows it
        print_user_traceback(error)
        status = 1
    else:
        status = 0
    finally:
        auto.disable()
        if previous_main is not None:
            sys.modules["__main__"] = previous_main
    if explain:
        _explain()
    return status


def _exit_status(code) -> int:
    """The exit status `sys.exit(code)` gives plain Python (a message is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _explain() -> None:
    if config.is_disabled():
        print("xcs: XCS is disabled (XCS_DISABLE is set): the script ran as written, no loop was analysed",
              file=sys.stderr)
        return
    from xcs.api.compiler import all_reports

    reports = [r for rs in all_reports().values() for r in rs if not is_xcs_file(r.filename)]
    print(f"xcs: {len(reports)} loops seen", file=sys.stderr)
    for report in sorted(reports, key=lambda r: (r.filename, r.line or 0)):
        print(f"xcs:   {report}", file=sys.stderr)
