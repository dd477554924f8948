"""Property: for any loop body built from these statement shapes, `xcs.jit` gives exactly
the sequential results — return values, final variables, printed output, exceptions.

The statements mix map work (blocking calls into locals), commits (appends, stores, prints,
augmented assignments), carried variables, `continue`, try/except and conditional
assignments; hypothesis picks sequences of them and the items to loop over.
"""
from __future__ import annotations

import contextlib
import io as text_io
import textwrap

from hypothesis import given, settings, strategies as st

import xcs
from tests.corpus.probe import fail_on, io

# (source, names it needs defined earlier in the body, names it defines unconditionally)
STATEMENTS = [
    ("a = io(x + 1, 0)", set(), {"a"}),
    ("b = io(a * 2, 0)", {"a"}, {"b"}),
    ("out.append(io(x, 0))", set(), set()),
    ("out.append(a)", {"a"}, set()),
    ("out.append((a, b))", {"a", "b"}, set()),
    ("total += io(x, 0)", set(), set()),
    ("d[x] = io(x * 3, 0)", set(), set()),
    ("if x % 3 == 0:\n    continue", set(), set()),
    ("if io(x, 0) % 4 == 1:\n    continue", set(), set()),
    ("print('item', x)", set(), set()),
    ("print(io(x, 0))", set(), set()),
    ("s = s + str(x)", set(), set()),
    ("if x % 2:\n    last = io(x, 0)", set(), set()),
    ("try:\n    t = fail_on(x, 5)\nexcept ValueError:\n    t = -1", set(), {"t"}),
    ("n = len(out)", set(), {"n"}),
    ("out.append(io(total, 0))", set(), set()),
    ("c = io(x, 0) if x > 2 else -x", set(), {"c"}),
    ("log.append(fail_on(x, 6))", set(), set()),
    ("g['k'].append(io(x, 0))", set(), set()),
    ("r = g['k']", set(), {"r"}),
    ("m = io(len(r), 0)", {"r"}, {"m"}),
    ("g['n'] = io(x, 0) + g['n']", set(), set()),
    ("q = io(g['n'], 0)", set(), {"q"}),
    ("g[x % 3] = io(x, 0)", set(), set()),
    ("w = io(g.get(x % 3, 0), 0)", set(), {"w"}),
    ("v = [io(x, 0), 2, 1]", set(), {"v"}),
    ("print(v)", {"v"}, set()),
    ("v.sort()", {"v"}, set()),
    ("fill(v)", {"v"}, set()),
    ("out.append(len(v))", {"v"}, set()),
    ("try:\n    u = fail_on(x, 4)\nexcept ValueError as err:\n    print('failed', err)\n    continue", set(), {"u"}),
    ("try:\n    out.append(fail_on(x, 7))\nexcept ValueError:\n    print('bad', x)\n    total += 1", set(), set()),
]

def fill(buffer):
    """Like `config.write(fp)`: changes the object it is given."""
    buffer.append("filled")


TEMPLATE = """
def loop(items):
    out, d, total, s, last, log, g = [], {{}}, 0, "", None, [], {{"k": [], "n": 0}}
    for x in items:
{body}
    return out, d, total, s, last, log, g, x
"""


@st.composite
def loops(draw):
    count = draw(st.integers(1, 5))
    defined: set = set()
    body = []
    for _ in range(count):
        options = [stmt for stmt in STATEMENTS if stmt[1] <= defined]
        source, _, defines = draw(st.sampled_from(options))
        body.append(source)
        defined |= defines
    items = draw(st.lists(st.integers(0, 9), max_size=8))
    return "\n".join(body), items


def observe(fn, items):
    out = text_io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            outcome = ("returned", fn(list(items)))
        except Exception as error:  # noqa: BLE001
            outcome = ("raised", type(error).__name__, str(error))
    return outcome, out.getvalue()


@settings(max_examples=150, deadline=None)
@given(loops(), st.sampled_from(["auto", True]))
def test_jit_equals_sequential(loop, policy):
    body, items = loop
    source = TEMPLATE.format(body=textwrap.indent(body, " " * 8))
    namespace = {"io": io, "fail_on": fail_on, "fill": fill}
    exec(compile(source, "<generated loop>", "exec"), namespace)
    plain = namespace["loop"]
    assert observe(xcs.jit(plain, parallel=policy), items) == observe(plain, items), source
