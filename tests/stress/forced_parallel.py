"""Stress the analysis with CPython's own tests: every loop it accepts runs in parallel.

For each module of the interpreter's `test` package named on the command line, runs its
tests twice in fresh processes: as shipped, and with every function and method defined in
the module wrapped in `@xcs.jit(parallel=True)` — so each loop the analysis proves safe runs
on the thread pool, whether or not it blocks. Any difference in the outcome (tests run,
failures, errors, skips) is a place where XCS changed a program's behaviour, or a test that
depends on the identity of its own functions (pickling them by name, checking a dataclass's
generated `__repr__`): each difference printed needs a look. Exits 1 if any module differs.

    python -m tests.stress.forced_parallel test.test_textwrap test.test_csv ...
    python -m tests.stress.forced_parallel --default      # the modules below
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import subprocess
import sys
import types
import unittest

DEFAULT = [
    "test.test_json", "test.test_textwrap", "test.test_csv", "test.test_difflib", "test.test_string",
    "test.test_calendar", "test.test_statistics", "test.test_fractions", "test.test_configparser",
    "test.test_shlex", "test.test_base64", "test.test_binascii", "test.test_collections", "test.test_enum",
    "test.test_dataclasses", "test.test_typing", "test.test_ast", "test.test_tokenize", "test.test_htmlparser",
    "test.test_urlparse", "test.test_ipaddress", "test.test_heapq", "test.test_bisect", "test.test_operator",
    "test.test_contextlib", "test.test_listcomps", "test.test_setcomps", "test.test_dictcomps",
    "test.test_genexps", "test.test_scope", "test.test_grammar", "test.test_exceptions", "test.test_with",
    "test.test_list", "test.test_dict", "test.test_set", "test.test_sort", "test.test_zipfile",
    "test.test_tarfile", "test.test_shutil", "test.test_glob", "test.test_fnmatch", "test.test_mailbox",
    "test.test_threading", "test.test_queue", "test.test_copy", "test.test_weakref", "test.test_gc",
]


def wrap_module(module) -> int:
    """Wrap the plain functions and methods defined in `module` with `xcs.jit(parallel=True)`."""
    import xcs

    seen: set = set()
    count = 0

    def wrap(owner):
        nonlocal count
        for name, value in list(vars(owner).items()):
            kind = type(value) if isinstance(value, (staticmethod, classmethod)) else None
            fn = value.__func__ if kind else value
            if isinstance(fn, type) and fn.__module__ == module.__name__ and id(fn) not in seen:
                seen.add(id(fn))
                wrap(fn)
                continue
            if not isinstance(fn, types.FunctionType) or fn.__module__ != module.__name__ or fn.__code__.co_flags & 0x3A0:
                continue
            jitted = xcs.jit(fn, parallel=True)
            setattr(owner, name, kind(jitted) if kind else jitted)
            count += 1

    wrap(module)
    return count


def run_one(name: str, forced: bool) -> dict:
    """Run one test module in this process; the outcome counts and the failing test ids."""
    module = importlib.import_module(name)
    wrapped = wrap_module(module) if forced else 0
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(
        unittest.defaultTestLoader.loadTestsFromModule(module))
    failing = sorted(str(test) for test, _ in result.failures + result.errors)
    from xcs.api.compiler import all_reports

    parallel = sum(1 for reports in all_reports().values() for report in reports if report.parallel)
    return {"run": result.testsRun, "failures": len(result.failures), "errors": len(result.errors),
            "skipped": len(result.skipped), "failing": failing, "wrapped": wrapped, "parallel": parallel}


def in_subprocess(name: str, forced: bool) -> dict:
    command = [sys.executable, "-m", "tests.stress.forced_parallel", "--one", name] + (["--forced"] if forced else [])
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"crashed": out.returncode, "stderr": out.stderr[-2000:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--default", action="store_true", help="run the default module list")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--forced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.forced)))
        return 0
    modules = args.modules + (DEFAULT if args.default else [])
    differing = 0
    for name in modules:
        plain, forced = in_subprocess(name, False), in_subprocess(name, True)
        keys = ("run", "failures", "errors", "skipped", "failing", "crashed")
        same = all(plain.get(k) == forced.get(k) for k in keys)
        differing += not same
        print(f"{'same' if same else 'DIFFERS'}  {name}: plain {_counts(plain)}; forced {_counts(forced)}"
              f" ({forced.get('wrapped', 0)} functions wrapped, {forced.get('parallel', 0)} loops ran in parallel)",
              flush=True)
        if not same:
            for test in sorted(set(forced.get("failing", [])) - set(plain.get("failing", []))):
                print(f"    newly failing: {test}")
            if "crashed" in forced:
                print("    " + forced["stderr"].replace("\n", "\n    "))
    print(f"{len(modules) - differing} of {len(modules)} modules behave the same")
    return 1 if differing else 0


def _counts(outcome: dict) -> str:
    if "crashed" in outcome:
        return f"crashed (exit {outcome['crashed']})"
    return f"{outcome['run']} run, {outcome['failures']} failures, {outcome['errors']} errors, {outcome['skipped']} skipped"


if __name__ == "__main__":
    raise SystemExit(main())
