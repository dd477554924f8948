"""Run one real-world loop and record everything a caller can observe.

`observe(loop, env, fn, workdir)` makes `workdir` empty, makes it the current directory, builds
the loop's arguments there, calls `fn(*args)` and returns what came out: the return value (or
the exception's type and message), stdout, stderr and the files left in `workdir`, plus the
server's overlap gauge for the call.

Two things vary between two plain runs of the same program and are normalized in both runs
alike: tqdm's refresh lines (how many depends on the clock; only the last one of each bar is
kept, without its elapsed/rate field) and object addresses in reprs (`at 0x7f...`).
"""
from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
from pathlib import Path

from tests.realworld import servers

_TQDM = re.compile(r"^\s*(\d+%\|.*\||\d+it) .*\[[^\]]*\]\s*$|^\s*\d+%\|.*\|\s*\d+/\d+ \[[^\]]*\]\s*$")
_TIMING = re.compile(r" ?\[[^\]]*(<|it/s|s/it)[^\]]*\]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def normalize(text: str) -> str:
    """Keep the last refresh of each run of tqdm lines, without its timing; hide addresses."""
    out, bar = [], None
    for piece in re.split(r"(\r|\n)", text):
        if piece in ("\r", "\n"):
            if bar is None and piece == "\n":
                out.append(piece)
            continue
        if _TQDM.match(piece):
            bar = _TIMING.sub("", piece)
            continue
        if bar is not None:
            out.append(bar + "\n")
            bar = None
        out.append(piece)
    if bar is not None:
        out.append(bar + "\n")
    return _ADDRESS.sub(" at 0x?", "".join(out))


def _files(root: Path) -> dict:
    found = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or not path.is_file():
            continue
        found[str(path.relative_to(root))] = path.read_bytes()
    return found


def observe(loop, env, fn, workdir: Path) -> dict:
    """Call `fn` with `loop`'s arguments in an empty `workdir`; returns what it did."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    before = os.getcwd()
    os.chdir(workdir)
    try:
        args = loop.args(env)
        servers.stats(env.base)                       # reset the gauge
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                outcome = ("returned", fn(*args))
            except BaseException as error:  # noqa: BLE001 - the outcome is what we compare (SystemExit too)
                outcome = ("raised", type(error).__name__, str(error))
            del args
            gc.collect()                              # a tqdm left open by an exception closes now
        gauge = servers.stats(env.base)
        return {"outcome": outcome, "stdout": normalize(out.getvalue()), "stderr": normalize(err.getvalue()),
                "files": _files(workdir), "peak": gauge["peak"], "requests": gauge["requests"]}
    finally:
        os.chdir(before)


def visible(result: dict) -> dict:
    """The parts of an observation that must be identical between plain and XCS runs."""
    return {key: result[key] for key in ("outcome", "stdout", "stderr", "files")}
