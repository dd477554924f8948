"""Shared report helper: each benchmark owns one section of `benchmarks/RESULTS.md`.

A section sits between `<!-- BEGIN name -->` and `<!-- END name -->`; `write_section`
replaces only that section (appending it if new), so benchmark scripts written by
different people never overwrite each other's figures.
"""
from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# XCS benchmark results\n\nEach section below is written by the benchmark named in it, from a real run, with the command that reproduces it.\n"


def machine_line() -> str:
    """One line naming the machine and interpreter the figures come from."""
    import os

    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"CPython {platform.python_version()}")


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section `name` of the results file with `markdown`."""
    text = path.read_text() if path.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def command_line() -> str:
    """The command that reproduces the current run, for the report."""
    return " ".join(["python"] + [sys.argv[0].replace(str(Path.cwd()) + "/", "")] + sys.argv[1:])
