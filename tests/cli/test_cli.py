"""`python -m xcs`: every command line a newcomer may type gets a clear answer.

Each case runs the CLI in a child process, as a user would, and checks its exit status and
what it prints: one line for a mistake, no XCS or import-machinery frames in a traceback of
the user's code, and tracebacks identical to plain `python script.py`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XCS_DIR = os.path.join(REPO, "xcs")


def python(*args, cwd, env=None):
    environment = dict(os.environ, PYTHONPATH=REPO)
    environment.pop("XCS_DISABLE", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=120)


def xcs(*args, cwd, env=None):
    return python("-m", "xcs", *args, cwd=cwd, env=env)


def write(directory, name, text):
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def no_internal_frames(stderr):
    assert XCS_DIR not in stderr and "runpy" not in stderr and "importlib" not in stderr, stderr


# --- the command and its help -------------------------------------------------------------

def test_help_describes_every_command(tmp_path):
    done = xcs("--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    for command in ("demo [--models N] [--latency S]", "run [--explain] SCRIPT [ARGS...]", "explain MODULE:FUNCTION"):
        assert command in done.stdout
    assert "XCS_DISABLE=1" in done.stdout


@pytest.mark.parametrize("command", ["demo", "run", "explain"])
def test_each_command_has_help(tmp_path, command):
    done = xcs(command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"python -m xcs {command}" in done.stdout


@pytest.mark.parametrize("argv", [[], ["nosuch"]])
def test_no_or_an_unknown_command_prints_usage_and_exits_2(tmp_path, argv):
    done = xcs(*argv, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "usage: python -m xcs {demo,run,explain}" in done.stderr and "Traceback" not in done.stderr


# --- run --------------------------------------------------------------------------------

def test_run_a_missing_script_is_one_line_and_exit_2_like_python(tmp_path):
    done = xcs("run", "nosuch.py", cwd=tmp_path)
    plain = python("nosuch.py", cwd=tmp_path)
    assert done.returncode == plain.returncode == 2
    assert done.stderr.splitlines() == [
        f"python -m xcs run: can't open file '{tmp_path / 'nosuch.py'}': [Errno 2] No such file or directory"]
    assert plain.stderr.split(": ", 1)[1] == done.stderr.split(": ", 1)[1]


def test_run_without_a_script_says_so(tmp_path):
    done = xcs("run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["usage: python -m xcs run [--explain] SCRIPT [ARGS...]",
                                        "python -m xcs run: no SCRIPT given"]


def test_run_an_unknown_option_is_a_usage_error(tmp_path):
    done = xcs("run", "--fast", "x.py", cwd=tmp_path)
    assert done.returncode == 2 and "unknown option '--fast'" in done.stderr and "Traceback" not in done.stderr


def test_run_a_syntax_error_shows_what_python_shows(tmp_path):
    write(tmp_path, "bad.py", "x = 1\ndef f(:\n    pass\n")
    done, plain = xcs("run", "bad.py", cwd=tmp_path), python("bad.py", cwd=tmp_path)
    assert done.returncode == plain.returncode == 1
    assert done.stderr == plain.stderr
    assert "SyntaxError" in done.stderr
    no_internal_frames(done.stderr)


def test_run_a_failing_script_shows_the_traceback_plain_python_shows(tmp_path):
    write(tmp_path, "boom.py", """\
        import sys
        def divide(x):
            return 1 / x
        def main(args):
            print(divide(int(args[0])))
            print(divide(int(args[1])))
        main(sys.argv[1:])
        """)
    done, plain = xcs("run", "boom.py", "2", "0", cwd=tmp_path), python("boom.py", "2", "0", cwd=tmp_path)
    assert done.returncode == plain.returncode == 1
    assert done.stdout == plain.stdout == "0.5\n"
    assert done.stderr == plain.stderr
    assert f'File "{tmp_path / "boom.py"}", line 7, in <module>' in done.stderr
    no_internal_frames(done.stderr)


def test_run_a_failure_in_a_parallel_loop_shows_only_the_scripts_frames(tmp_path):
    write(tmp_path, "fan.py", """\
        import time
        def fetch(x):
            time.sleep(0.01)
            if x == 3:
                raise ValueError(x)
            return x
        def fan_out(xs):
            out = []
            for x in xs:
                out.append(fetch(x))
            return out
        print(fan_out(range(3)))
        fan_out(range(6))
        """)
    done = xcs("run", "--explain", "fan.py", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == "[0, 1, 2]\n"
    assert "fan_out" in done.stderr and ": parallel" in done.stderr   # it did run in parallel
    traceback = done.stderr.split("xcs: ")[0]
    assert traceback.startswith("Traceback (most recent call last):\n") and traceback.endswith("ValueError: 3\n")
    assert f'File "{tmp_path / "fan.py"}", line 5, in fetch' in traceback
    no_internal_frames(done.stderr)


@pytest.mark.parametrize("exit_, status, stderr", [("", 0, ""), ("sys.exit(3)", 3, ""), ("sys.exit('bye')", 1, "bye\n")])
def test_run_exits_with_the_scripts_status(tmp_path, exit_, status, stderr):
    write(tmp_path, "ex.py", f"import sys\nprint(sys.argv)\n{exit_}\n")
    done, plain = xcs("run", "ex.py", "a", cwd=tmp_path), python("ex.py", "a", cwd=tmp_path)
    assert done.returncode == plain.returncode == status
    assert done.stderr == plain.stderr == stderr
    assert done.stdout == plain.stdout == "['ex.py', 'a']\n"


def test_run_explain_lists_only_the_scripts_loops(tmp_path):
    write(tmp_path, "uses_xcs.py", """\
        import xcs
        from xcs.cli import demo
        def double(xs):
            out = []
            for x in xs:
                out.append(x * 2)
            return out
        models = [demo.SimulatedModel("m", 0.001)]
        print(xcs.jit(demo.ensemble)(models, "ab"), double([1]))
        """)
    done = xcs("run", "--explain", "uses_xcs.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['m: ba'] [2]\n"
    assert "xcs: 1 loops seen" in done.stderr and "double (" in done.stderr
    assert "ensemble" not in done.stderr and XCS_DIR not in done.stderr


def test_run_explain_under_xcs_disable_says_xcs_is_disabled(tmp_path):
    write(tmp_path, "s.py", "def f(xs):\n    for x in xs:\n        print(x)\nf([1])\n")
    done = xcs("run", "--explain", "s.py", cwd=tmp_path, env={"XCS_DISABLE": "1"})
    assert done.returncode == 0 and done.stdout == "1\n"
    assert done.stderr.splitlines() == [
        "xcs: XCS is disabled (XCS_DISABLE is set): the script ran as written, no loop was analysed"]


# --- explain ----------------------------------------------------------------------------

JOBS = """\
    import sqlite3
    import requests

    DB = sqlite3.connect(":memory:")

    def fetch_all(urls):
        codes = []
        for u in urls:
            codes.append(requests.get(u).status_code)
        return codes

    def helper(x):
        return x * 2

    def unknown(xs):
        out = []
        for x in xs:
            out.append(helper(x))
        return out

    def no_loop(x):
        return x + 1

    class Client:
        def fetch_all(self, urls):
            return [requests.get(u) for u in urls]
    """


def test_explain_predicts_from_the_code_when_it_can(tmp_path):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", "jobs:fetch_all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"fetch_all ({tmp_path / 'jobs.py'}:8): parallel [blocking: `requests.api.get`")
    assert "known from the code" in done.stdout


def test_explain_says_what_the_first_run_decides_otherwise(tmp_path):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", "jobs:unknown", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ": undecided [the first run decides: its first iteration runs alone and is measured" in done.stdout


def test_explain_a_dotted_function(tmp_path):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", "jobs:Client.fetch_all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Client.fetch_all" in done.stdout and ": parallel [blocking" in done.stdout


def test_explain_a_function_without_loops_says_so(tmp_path):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", "jobs:no_loop", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("jobs:no_loop: no `for` loops")


@pytest.mark.parametrize("target, message", [
    ("nosuchmod:f", "python -m xcs explain: no module named 'nosuchmod' (run from the directory that holds it"),
    ("jobs:nosuch", "python -m xcs explain: 'jobs' has no 'nosuch' ('nosuch' not found)"),
    ("jobs:Client.nosuch", "python -m xcs explain: 'jobs' has no 'Client.nosuch' ('nosuch' not found)"),
    ("jobs:DB", "python -m xcs explain: xcs.explain expects a Python function, got Connection"),
    ("jobs", "usage: python -m xcs explain MODULE:FUNCTION"),
    ("jobs:", "usage: python -m xcs explain MODULE:FUNCTION"),
])
def test_explain_a_wrong_target_is_one_line_and_exit_2(tmp_path, target, message):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", target, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr


def test_explain_a_module_that_fails_to_import_shows_its_own_frames(tmp_path):
    write(tmp_path, "broken.py", "import json\nVALUE = json.loads('{')\ndef f(): pass\n")
    done = xcs("explain", "broken:f", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("python -m xcs explain: importing 'broken' failed:\nTraceback")
    assert f'File "{tmp_path / "broken.py"}", line 2, in <module>' in done.stderr
    assert "JSONDecodeError" in done.stderr.splitlines()[-1]
    assert XCS_DIR not in done.stderr and "importlib" not in done.stderr


def test_explain_under_xcs_disable_says_xcs_is_disabled(tmp_path):
    write(tmp_path, "jobs.py", JOBS)
    done = xcs("explain", "jobs:fetch_all", cwd=tmp_path, env={"XCS_DISABLE": "1"})
    assert done.returncode == 0
    assert done.stdout == "jobs:fetch_all: XCS is disabled (XCS_DISABLE is set): it runs as written\n"


# --- demo -------------------------------------------------------------------------------

def test_demo_shows_the_loop_with_its_lines_marked(tmp_path):
    done = xcs("demo", "--models", "4", "--latency", "0.02", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    loop = next(line for line in lines if "for model in models:" in line)
    body = next(line for line in lines if "results.append(model.predict(prompt))" in line)
    assert "<- parallel loop" in loop and "<- in order" in body
    assert "same results               : True" in done.stdout and "XCS is disabled" not in done.stdout


def test_demo_under_xcs_disable_says_xcs_is_disabled(tmp_path):
    done = xcs("demo", "--models", "2", "--latency", "0.01", cwd=tmp_path, env={"XCS_DISABLE": "1"})
    assert done.returncode == 0, done.stderr
    assert "XCS is disabled (XCS_DISABLE is set)" in done.stdout
    assert "measure" not in done.stdout and "<- " not in done.stdout
