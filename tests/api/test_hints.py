"""Every refusal says what to change: a hint per refusal kind, shown in `xcs.explain` text
without XCS internals, and `print(xcs.explain(f))` prints one readable report a line."""
import re
import warnings
import threading

import pytest

import xcs
from tests.corpus.probe import io
from xcs.analysis import budget
from xcs.analysis.refusal import Kind, Refusal
from xcs.api.words import HINTS, TEMPLATES, hint, words

INTERNALS = re.compile(r"__xcs|<xcs|xcs/|xcs\.(analysis|runtime|transform|evidence)")
G = 0
EVENT = threading.Event()


def test_every_kind_has_a_template_and_a_hint():
    assert set(HINTS) == set(TEMPLATES) == set(Kind)
    for kind in TEMPLATES:
        text = hint(Refusal(kind, 3, "thing"))
        assert text and not INTERNALS.search(text), (kind, text)


def test_every_kind_raised_by_the_analysis_has_a_template():
    import pathlib
    import xcs.analysis
    root = pathlib.Path(xcs.analysis.__file__).parent.parent
    sources = [f.read_text() for f in root.glob("**/*.py")]
    raised = {m for text in sources for m in re.findall(r'Refusal\("([^"]+)"', text)}
    assert raised and raised <= set(TEMPLATES), raised - set(TEMPLATES)
    named = {m for text in sources for m in re.findall(r'\bKind\.([A-Z_]+)\b', text)}
    assert named and named <= set(Kind.__members__), named - set(Kind.__members__)


def carried(xs):
    total = 0
    out = []
    for x in xs:
        total = io(total + x)
        out.append(total)
    return out


def breaks(xs):
    out = []
    for x in xs:
        r = io(x)
        if r > 3:
            break
        out.append(r)
    print(len(out))   # code after the loop: 3.12+ would turn a `break` before a bare `return` into one
    return out


def _noisy(x):
    # Not a print: prints are captured on the worker and replayed in order.
    warnings.warn(str(x))
    return io(x)


def prints_in_callee(xs):
    out = []
    for x in xs:
        out.append(_noisy(x))
    return out


def unknown_c_call(xs):
    import sys
    out = []
    for x in xs:
        r = sys.getrefcount(xs)
        out.append(io(x + r))
    return out


def assigns_global(xs):
    global G
    out = []
    for x in xs:
        G = io(x)
        out.append(G)
    return out


def late_binding(xs):
    fs = []
    for y in xs:
        io(y)
        fs.append(lambda: y)
    return [f() for f in fs]


class _Stream:
    def __init__(self, items):
        self.items, self.k = list(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.k >= len(self.items):
            raise StopIteration
        self.k += 1
        return self.items[self.k - 1]

    def current(self):
        return self.k


def uses_iterable(stream):
    out = []
    for x in stream:
        out.append((io(x), stream.current()))
    return out


def after_sync(xs):
    out = []
    for x in xs:
        EVENT.set()
        v = io(x)
        out.append(v)
    return out


def no_parallel_work(xs):
    out = []
    for x in xs:
        out.append(x * 2)
    return out


def too_large():
    lines = ["def over_budget(out, items):", "    for x in items:",
             *(f"        out.append({i})" for i in range(budget.MAX_INSTRUCTIONS // 3)), "    return out"]
    namespace = {}
    exec(compile("\n".join(lines), "<generated>", "exec"), namespace)
    return namespace["over_budget"]


ROWS = [   # function, the reason's words, the words of its hint
    (carried, "`total` is carried from one iteration", "combine the results (sum, join, reduce) after the loop"),
    (breaks, "its work calls `io`, which is not known to be free of effects outside the process",
     "allow it with `@xcs.jit(speculate=True)`"),
    (prints_in_callee, "`_noisy()` runs something that must stay in order", "mark it with `@xcs.io`"),
    (unknown_c_call, "`sys.getrefcount()` is not known to XCS", 'xcs.register_blocking("sys.getrefcount")'),
    (assigns_global, "assigns the global `G`", "assign `G` once after the loop"),
    (late_binding, "`y` is captured by a closure", "`lambda y=y: ...`"),
    (uses_iterable, "calls a method of `stream`", "for x in list(stream):"),
    (after_sync, "this work comes after `EVENT.set()`", "do the work before `EVENT.set()`"),
    (no_parallel_work, "nothing in the loop body can run apart", "move the slow call (the I/O) into the loop body"),
    (too_large, "more than XCS analyses", "split the loop body into a function"),
]


@pytest.mark.parametrize("fn, reason, hint_words", ROWS, ids=[r[0].__name__ for r in ROWS])
def test_explain_says_why_and_what_to_change(fn, reason, hint_words):
    if fn is too_large:
        fn = too_large()
    reports = xcs.explain(fn)
    text = str(reports)
    assert reason in text and hint_words in text, text
    (main,) = [r for r in reports if r.status == "sequential" and r.refusals]
    line = str(main)
    assert reason in line and f" — hint: {main.hint()}" in line and hint_words in main.hint(), line
    assert main.hints()[0] == main.hint() and len(main.hints()) == len({r.kind for r in main.refusals})
    # This file's own path is the user's (a clone may well sit in a folder named `xcs`).
    assert not INTERNALS.search(text.replace(__file__, "test_hints.py")), text


def test_explain_is_a_list_printing_one_report_a_line(capsys):
    reports = xcs.explain(late_binding)
    assert isinstance(reports, list) and len(reports) == 2   # the loop and the comprehension
    print(reports)
    out = capsys.readouterr().out
    assert out.splitlines() == [str(r) for r in reports]
    assert repr(reports) == str(reports) and "LoopReport(" not in out
    assert str(xcs.explain(lambda: 1)) == "no `for` loops"


def test_a_loop_without_refusals_shows_no_hint():
    def fetch_all(xs):
        return [io(x) for x in xs]

    (report,) = xcs.explain(fetch_all)
    assert report.status != "sequential" and report.hint() is None and report.hints() == []
    assert "hint:" not in str(report)

    jitted = xcs.jit(carried, parallel=False)
    (report,) = xcs.explain(jitted)
    assert "parallel=False was requested" in str(report) and "hint:" not in str(report)


def test_instructions_are_named_as_the_user_wrote_them():
    assert words(Refusal("commit:instruction", 4, "MAKE_FUNCTION")) == \
        "line 4: creating a function (`lambda` or a nested `def`) must run in order"
    assert "IMPORT_NAME" not in words(Refusal("commit:instruction", 4, "IMPORT_NAME"))
    assert "(FOO_BAR)" in words(Refusal("commit:instruction", 4, "FOO_BAR"))


def test_a_callee_is_named_as_the_user_spells_it():
    def dedupe(xs):
        seen = set()
        out = []
        for x in xs:
            seen.add(x)
            r = refcount(xs)
            out.append(io(x + r))
        return out

    import sys
    refcount = sys.getrefcount  # noqa: F841 - read by the closure
    text = str(xcs.explain(dedupe))
    assert "`refcount()` is not known to XCS" in text and "builtins" not in text.split("hint:")[0], text


def test_xcs_internals_never_reach_the_words():
    leaked = Refusal("internal", 7, "KeyError: '__xcs_s0_x' in /venv/lib/xcs/runtime/ordered.py:12 (<xcs deleted>)")
    text = words(leaked) + " " + hint(leaked)
    assert "could not transform" in text and "KeyError" in text
    assert "__xcs" not in text and "xcs/" not in text and "<xcs" not in text, text
