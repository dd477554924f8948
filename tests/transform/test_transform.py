"""The transform layer: variants keep the signature; bodies return the layout tuple."""
from __future__ import annotations

import time
import types

import pytest
from bytecode import Instr, Label, TryBegin, TryEnd

from xcs.analysis import Environment, analyze
from xcs.transform.catch import cover
from xcs.transform.jumps import fix_directions
from xcs.transform.layout import UNSET, Layout
from xcs.transform.variant import build_variant, chosen_loops


def fetch(x):
    time.sleep(0)
    return x


class Recorder:
    """A runner that runs the body inline and records what it was given."""

    def __init__(self):
        self.bodies = []

    def __call__(self, iterable, body, args, watched=()):
        self.bodies.append((body, args))
        return (body(item, *args) for item in iter(iterable))


def variant_of(fn):
    facts = analyze(fn.__code__, Environment(globals=fn.__globals__))
    runners = {lp.for_iter: Recorder() for lp in chosen_loops(facts)}
    code = build_variant(facts, runners)
    function = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    function.__kwdefaults__ = fn.__kwdefaults__
    return function, runners, facts


def signature_zoo(a, b=2, *rest, c, d=4, **extra):
    out = []
    for x in (a, b, c, d, *rest, *extra.values()):
        out.append(fetch(x))
    return out


def test_variant_keeps_signature_and_behaviour():
    variant, _, _ = variant_of(signature_zoo)
    old, new = signature_zoo.__code__, variant.__code__
    for attr in ("co_argcount", "co_kwonlyargcount", "co_posonlyargcount", "co_flags", "co_freevars", "co_cellvars"):
        assert getattr(old, attr) == getattr(new, attr), attr
    assert new.co_varnames[:6] == old.co_varnames[:6]
    assert variant(1, 5, 6, c=3, e=7) == signature_zoo(1, 5, 6, c=3, e=7)


def body_shape(xs, k):
    out = []
    for x in xs:
        y = fetch(x) + k
        if y < 0:
            continue
        out.append(y)
    return out


def test_body_returns_the_layout_tuple():
    variant, runners, facts = variant_of(body_shape)
    assert variant([1, 2], 10) == [11, 12]
    (runner,) = runners.values()
    body, args = runner.bodies[0]
    assert args == (10,)
    assert body.__code__.co_filename == body_shape.__code__.co_filename
    assert body.__code__.co_name == "body_shape"
    layout = Layout.of(chosen_loops(facts)[0])
    result = body(5, 10)
    assert len(result) == layout.size
    assert result[0] is None and result[Layout.STAGE] == Layout.NO_STAGE and result[Layout.ERROR] is None
    failed = body("text", 10)
    assert isinstance(failed[Layout.ERROR], TypeError)
    assert UNSET in failed  # variables the failing iteration never assigned


def test_jump_directions_follow_the_layout():
    first, second = Label(), Label()
    items = [first, Instr("NOP"), Instr("JUMP_BACKWARD", second), Instr("NOP"), second, Instr("JUMP_FORWARD", first)]
    fixed = fix_directions(items)
    assert fixed[2].name == "JUMP_FORWARD" and fixed[5].name == "JUMP_BACKWARD"


def test_cover_reopens_the_catch_all_after_inner_try():
    handler, inner_target = Label(), Label()
    inner = TryBegin(inner_target, push_lasti=False, stack_depth=0)
    items = [Instr("NOP"), inner, Instr("NOP"), TryEnd(inner), Instr("NOP")]
    covered = cover(items, handler)
    kinds = [type(x).__name__ if not isinstance(x, Instr) else "I" for x in covered]
    assert kinds == ["TryBegin", "I", "TryEnd", "TryBegin", "I", "TryEnd", "TryBegin", "I", "TryEnd"]
    outer_begins = [x for x in covered if isinstance(x, TryBegin) and x.target is handler]
    assert len(outer_begins) == 2


def test_nothing_to_transform_is_an_error():
    from xcs.transform.variant import TransformError

    def plain(xs):
        return sum(xs)

    facts = analyze(plain.__code__, Environment())
    with pytest.raises(TransformError):
        build_variant(facts, {})
