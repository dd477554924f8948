"""`python -m xcs explain MODULE:FUNCTION`: print the loop reports of one function.

MODULE is imported as `import MODULE` would from the current directory; FUNCTION may be
dotted (`Client.fetch_all`). Nothing is run but the module's import: a loop the code alone
decides (a known blocking call such as `requests.get`) is reported as it will run, and any
other safe loop says what its first run will measure.
"""
from __future__ import annotations

import importlib
import sys

PROG = "python -m xcs explain"
USAGE = f"usage: {PROG} MODULE:FUNCTION   (e.g. {PROG} mypkg.jobs:fan_out)"
HELP = f"""{USAGE}

Import MODULE and print, for each `for` loop of FUNCTION, whether XCS runs it in parallel
or in order, and why (with a hint of what to change for a loop the analysis refuses).
Exit status: 0, 1 if importing MODULE fails, 2 if MODULE or FUNCTION cannot be found."""


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(HELP)
        return 0
    if len(argv) != 1 or ":" not in argv[0]:
        print(USAGE, file=sys.stderr)
        return 2
    module_name, _, path = argv[0].partition(":")
    if not module_name or not path:
        print(USAGE, file=sys.stderr)
        return 2
    import xcs
    from xcs import config
    from xcs.cli.frames import print_user_traceback

    sys.path.insert(0, "")
    try:
        target = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name) and \
                (error.name == module_name or module_name[len(error.name)] == "."):
            print(f"{PROG}: no module named {error.name!r} (run from the directory that holds it, "
                  "or add that directory to PYTHONPATH)", file=sys.stderr)
            return 2
        print_user_traceback(error)   # the module itself imports something missing
        return 1
    except BaseException as error:  # noqa: BLE001 - the user's module failed while importing
        print(f"{PROG}: importing {module_name!r} failed:", file=sys.stderr)
        print_user_traceback(error)
        return 1
    for part in path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            print(f"{PROG}: {module_name!r} has no {path!r} ({part!r} not found)", file=sys.stderr)
            return 2
    if config.is_disabled():
        print(f"{argv[0]}: XCS is disabled (XCS_DISABLE is set): it runs as written")
        return 0
    try:
        reports = xcs.explain(target)
    except TypeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    if not reports:
        print(f"{argv[0]}: no `for` loops: XCS parallelizes only the iterations of `for` loops "
              "(and comprehensions)")
    for report in reports:
        print(report)
    return 0
