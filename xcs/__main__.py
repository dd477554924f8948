"""`python -m xcs COMMAND ...`: dispatch to the sub-command module in `xcs.cli`.

Commands: `demo` (the seed example, sequential vs parallel), `run SCRIPT [ARGS...]`
(run a script with auto-mode on), `explain MODULE:FUNCTION`.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {"demo": "xcs.cli.demo", "run": "xcs.cli.run", "explain": "xcs.cli.explain"}

USAGE = "usage: python -m xcs {demo,run,explain} ... (python -m xcs --help describes each)"

HELP = """\
usage: python -m xcs COMMAND [ARGS...]

XCS runs the iterations of I/O-bound `for` loops in parallel, with the results of the plain loop.

commands:
  demo [--models N] [--latency S]
        the seed example: an ensemble of simulated models queried in a plain loop, timed
        plainly and with @xcs.jit; shows the loop with its parallel and in-order lines
  run [--explain] SCRIPT [ARGS...]
        run SCRIPT as `python SCRIPT ARGS...` would, with auto-mode on (xcs.enable()):
        its proven I/O-bound loops run in parallel without a decorator; --explain lists
        the script's loops, parallel or sequential and why, on stderr at exit
  explain MODULE:FUNCTION
        import MODULE and print what XCS decides for each loop of FUNCTION
        (e.g. `python -m xcs explain mypkg.jobs:fan_out`, `... explain jobs:Client.fetch_all`)

`python -m xcs COMMAND --help` gives a command's options. XCS_DISABLE=1 turns XCS off.
Exit status: that of the command (of the script, for `run`); 2 for a wrong command line."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help", "help"):
        print(HELP)
        return 0
    if not argv or argv[0] not in COMMANDS:
        if argv:
            print(f"python -m xcs: unknown command {argv[0]!r}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    try:
        return module.main(argv[1:])
    except BrokenPipeError:   # `python -m xcs demo | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
