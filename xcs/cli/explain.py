"""`python -m xcs explain MODULE:FUNCTION`: print the loop reports of one function."""
from __future__ import annotations

import importlib
import sys

import xcs


def main(argv: list[str]) -> int:
    if len(argv) != 1 or ":" not in argv[0]:
        print("usage: python -m xcs explain MODULE:FUNCTION (e.g. mypkg.jobs:fan_out)", file=sys.stderr)
        return 2
    module_name, _, path = argv[0].partition(":")
    sys.path.insert(0, "")
    target = importlib.import_module(module_name)
    for part in path.split("."):
        target = getattr(target, part)
    reports = xcs.explain(target)
    if not reports:
        print(f"{argv[0]}: no for loops")
    for report in reports:
        print(report)
    return 0
