"""Run one real-world loop and record everything a caller can observe.

`observe(loop, env, fn, workdir)` makes `workdir` empty, makes it the current directory, builds
the loop's arguments there, calls `fn(*args)` and returns what came out: the return value (or
the exception's type and message), stdout, stderr and the files left in `workdir`, plus the
server's overlap gauge for the call.

Two things vary between two plain runs of the same program and are normalized in both runs
alike: tqdm's renders (how many a bar prints, and where they fall between other output,
depends on the clock: only the last render is kept, without its elapsed/rate field) and
object addresses in reprs (`at 0x7f...`). `seconds` is the duration of the call alone.
"""
from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
import time
from pathlib import Path

from tests.realworld import servers

# One tqdm render: " 38%|###8      | 3/8 [00:00<00:00, 19.9it/s]" (or "3it [00:00, 19.9it/s]").
_TQDM = re.compile(r"[ \t]*\d+%\|[^|\r\n]*\|\s*\d+/\d+(?: \[[^\]\r\n]*\])?|[ \t]*\d+it \[[^\]\r\n]*\]")
_TIMING = re.compile(r" ?\[[^\]]*\]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def normalize(text: str) -> str:
    """Take tqdm's renders out of `text` and keep only the last one, without its timing, on a
    line of its own at the end: how many intermediate renders a bar prints, and where they
    fall between other output, depends on the clock. Hide object addresses."""
    renders = [match.group(0) for match in _TQDM.finditer(text)]
    text = _TQDM.sub("", text).replace("\r", "")
    text = re.sub(r"\n{2,}", "\n", text) if renders else text
    if renders:
        text = text.lstrip("\n") + "[tqdm, last render]" + _TIMING.sub("", renders[-1]).rstrip() + "\n"
    return _ADDRESS.sub(" at 0x?", text)


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
            start = time.perf_counter()
            try:
                outcome = ("returned", fn(*args))
            except BaseException as error:  # noqa: BLE001 - the outcome is what we compare (SystemExit too)
                outcome = ("raised", type(error).__name__, str(error))
            seconds = time.perf_counter() - start
            del args
            gc.collect()                              # a tqdm left open by an exception closes now
        gauge = servers.stats(env.base)
        return {"outcome": outcome, "stdout": normalize(out.getvalue()), "stderr": normalize(err.getvalue()),
                "files": _files(workdir), "peak": gauge["peak"], "requests": gauge["requests"], "seconds": seconds}
    finally:
        os.chdir(before)


def visible(result: dict) -> dict:
    """The parts of an observation that must be identical between plain and XCS runs."""
    return {key: result[key] for key in ("outcome", "stdout", "stderr", "files")}
