"""`python -m xcs COMMAND ...`: dispatch to the sub-command module in `xcs.cli`.

Commands: `demo` (the seed example, sequential vs parallel), `run SCRIPT [ARGS...]`
(run a script with auto-mode on), `explain MODULE:FUNCTION`.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {"demo": "xcs.cli.demo", "run": "xcs.cli.run", "explain": "xcs.cli.explain"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m xcs {" + ",".join(COMMANDS) + "} ...", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
