"""Refusals are data; `xcs.api.words` is the one place they become sentences.

Every kind renders (template and hint) from sample details without an unfilled placeholder or
an XCS internal; a kind that does not exist is refused when the refusal is made; the causes of
an unknown call pick their sentence and hint from the structure the analysis records, not from
phrases in a sentence; the older packed forms still built by `split.py` keep their words."""
from __future__ import annotations

import functools
import operator
import random
import re
import sys
import threading
from unittest import mock

import pytest

from xcs.analysis import effects, refusal
from xcs.analysis.refusal import Cause, Kind, Refusal
from xcs.api.words import (CAUSE_HINTS, CAUSE_WORDS, HINTS, REMOTE_WORDS, SPECULATION_WORDS, TEMPLATES, hint,
                           words)

INTERNALS = re.compile(r"__xcs|<xcs|xcs/|xcs\.(analysis|runtime|transform|evidence)")
UNFILLED = re.compile(r"\{[a-z_]*\}")


def samples(kind: Kind):
    """Refusals of `kind` with every detail its words may use, one per cause for unknown calls."""
    leaky = "KeyError: '__xcs_s0_x' in /venv/lib/xcs/runtime/ordered.py:12"
    if kind is Kind.UNKNOWN_CALL:
        return [Refusal(kind, 3, "fetch", "pkg.fetch", callee="fetch", detail="`Base.__init__`", cause=cause)
                for cause in refusal.UNKNOWN_CALL_CAUSES]
    if kind in (Kind.REMOTE_PROCESS_BOUND, Kind.REMOTE_EXECUTOR, Kind.REMOTE_UNSHIPPABLE):
        return [Refusal(kind, 3, "lock", callee=callee, detail="_thread.lock", cause=cause, held=held,
                        is_global=held) for cause in refusal.REMOTE_CAUSES for callee in ("", "pkg.helper")
                for held in (False, True)] + [Refusal(kind, None, "", detail=leaky, cause=Cause.UNSHIPPABLE)]
    if kind is Kind.SPECULATION:
        return [Refusal(kind, 3, "requests.post", callee="requests.post", detail=within, cause=cause)
                for cause in (None, *refusal.SPECULATION_CAUSES) for within in ("", "helper")]
    if kind is Kind.ORDERED_CALLEE:
        return [Refusal.ordered_callee(3, "log", "log (line 2) calls `print()`"),
                Refusal.ordered_callee(3, "redirect_stdout", "it swaps `sys.stdout`", manager=True)]
    if kind is Kind.INSTRUCTION:
        return [Refusal(kind, 3, "IMPORT_NAME"), Refusal(kind, 3, "NO_SUCH_OPCODE")]
    return [Refusal(kind, 3, "thing"), Refusal(kind, None, leaky)]


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_every_kind_renders_without_placeholders_or_internals(kind):
    assert kind in TEMPLATES and kind in HINTS
    for r in samples(kind):
        for text in (words(r), hint(r)):
            assert text and not UNFILLED.search(text) and "{" not in text, (r, text)
            assert not INTERNALS.search(text), (r, text)
        assert words(r).startswith("line 3: ") == (r.line == 3)


def test_every_cause_has_words():
    assert set(CAUSE_WORDS) == refusal.UNKNOWN_CALL_CAUSES
    assert refusal.UNKNOWN_CALL_CAUSES | refusal.REMOTE_CAUSES | refusal.SPECULATION_CAUSES == set(Cause)
    assert set(REMOTE_WORDS) == refusal.REMOTE_CAUSES and set(SPECULATION_WORDS) == refusal.SPECULATION_CAUSES
    assert set(CAUSE_HINTS) <= set(Cause)


def test_an_unknown_kind_is_refused_and_a_string_becomes_its_kind():
    with pytest.raises(ValueError):
        Refusal("brake", 3, "x")
    with pytest.raises(ValueError):
        Refusal(Kind.UNKNOWN_CALL, 3, "f", cause="no-such-cause")
    r = Refusal("break", 3)
    assert r.kind is Kind.BREAK and r.kind == "break" and r == Refusal(Kind.BREAK, 3)
    assert Refusal("commit:unknown-call", 3, "f", cause="mock").cause is Cause.MOCK
    with pytest.raises(AttributeError):
        r.kind = Kind.RETURN   # frozen: a refusal is a value


def test_the_ranks_name_kinds():
    for kinds, _ in refusal.RANKS:
        assert all(isinstance(k, Kind) for k in kinds)
    found = refusal.primary([Refusal("commit:append", 4, "out"), Refusal("carried", 5, "total"),
                             Refusal("commit:global", 6, "G")])
    assert found.kind is Kind.CARRIED


class _Callable:
    __call__ = staticmethod(len)   # a `__call__` that is not Python code


def _cached():
    @functools.lru_cache(maxsize=None)
    def lookup(key):
        return key
    return lookup


class _ThreadOnInit:
    def __init__(self):
        self.owner = threading.get_ident()


def _opaque_calls():
    """(callee object, the cause `effects.opaque_call` must record for it)."""
    return [
        (threading.get_ident, Cause.THREAD_BOUND),
        (random.Random(1).shuffle, Cause.RANDOM_STREAM),
        (operator.setitem, Cause.CHANGES_ARGUMENT),
        (_cached(), Cause.CACHED),
        (mock.Mock(), Cause.MOCK),
        (sys.getrefcount, Cause.C_CODE),
        (_Callable(), Cause.CALLABLE_OBJECT),
        (_ThreadOnInit, Cause.CONSTRUCTION),
    ]


@pytest.mark.parametrize("obj, cause", _opaque_calls(), ids=lambda v: str(v) if isinstance(v, Cause) else "")
def test_unknown_call_causes_are_recorded_and_rendered_from_the_structure(obj, cause):
    env = effects.Environment(globals={}, closure={})
    found = effects.opaque_call(obj, env, True)
    assert found is not None and found.cause is cause, found
    qualified = effects.qualified_name_or_empty(obj) or type(obj).__name__
    r = refusal.unknown_call(7, found, qualified, "spelled.name")
    assert r.kind is Kind.UNKNOWN_CALL and r.cause is cause
    # The sentence the analysis nests in longer descriptions and the words agree.
    same = refusal.unknown_call(7, found, qualified, qualified)
    assert words(same) == f"line 7: {found}", (words(same), str(found))
    expected_hint = CAUSE_HINTS.get(r.within) or CAUSE_HINTS.get(cause)
    if expected_hint is not None:
        assert hint(r) == expected_hint
    else:
        assert "xcs.register_blocking(" in hint(r)


def test_a_constructor_is_hinted_by_what_its_init_does():
    found = effects.opaque_call(_ThreadOnInit, effects.Environment(globals={}, closure={}), True)
    r = refusal.unknown_call(3, found, effects.qualified_name(_ThreadOnInit), "ThreadOnInit")
    assert r.cause is Cause.CONSTRUCTION and r.within is Cause.THREAD_BOUND
    assert hint(r) == CAUSE_HINTS[Cause.THREAD_BOUND]
    assert words(r).startswith("line 3: `_ThreadOnInit()`: __init__ (line ")
    assert words(r).endswith(": `threading.get_ident()` answers for the thread that calls it")


def test_the_hint_follows_the_cause_not_the_phrases_of_a_sentence():
    # A callee whose name contains another cause's phrase: only `cause` decides.
    r = Refusal(Kind.UNKNOWN_CALL, 3, "is_cached", callee="is a mock", cause=Cause.C_CODE)
    assert "xcs.register_blocking(" in hint(r)
    r = Refusal(Kind.UNKNOWN_CALL, 3, "draw", callee="draw", cause=Cause.RANDOM_STREAM)
    assert hint(r) == CAUSE_HINTS[Cause.RANDOM_STREAM]
    assert words(r) == "line 3: `draw()` draws from a random stream shared by every iteration"


def test_the_callee_is_named_as_spelled_only_when_the_finding_names_it():
    found = effects.opaque_call(sys.getrefcount, effects.Environment(globals={}, closure={}), True)
    r = refusal.unknown_call(3, found, "sys.getrefcount", "refcount")
    assert r.callee == "refcount" and r.qualname == "sys.getrefcount"
    assert words(r) == "line 3: `refcount()` is not known to XCS (it cannot read C code)"
    assert 'xcs.register_blocking("sys.getrefcount")' in hint(r)
    # A synthetic name (`<call result>`) is not the user's spelling.
    assert refusal.unknown_call(3, found, "sys.getrefcount", "<call result>").callee == "sys.getrefcount"


def test_the_packed_forms_split_builds_keep_their_words():
    packed = Refusal("commit:ordered-callee", 5, "log: log (line 2) calls `print()`")
    structured = Refusal.ordered_callee(5, "log", "log (line 2) calls `print()`")
    assert packed == structured
    assert words(packed) == "line 5: `log()` runs something that must stay in order: log (line 2) calls `print()`"
    assert "if `log` is safe to call" in hint(packed)
    entered = Refusal("commit:ordered-callee", 5, "with redirect_stdout(): it swaps `sys.stdout`")
    assert entered == Refusal.ordered_callee(5, "redirect_stdout", "it swaps `sys.stdout`", manager=True)
    assert words(entered).startswith("line 5: `with redirect_stdout()` runs something")
    assert "if `redirect_stdout` is safe to call" in hint(entered)
    bare = Refusal("commit:ordered-callee", 5, "log")
    assert words(bare).endswith("it writes output or changes shared state")
    # An older producer's whole sentence for an unknown call: kept, named by its first quote.
    old = refusal.unknown_call(5, "`pkg.fetch()` does something", "pkg.fetch", "fetch")
    assert old.cause is Cause.OTHER and words(old) == "line 5: `fetch()` does something"
    assert 'xcs.register_blocking("pkg.fetch")' in hint(old)


def test_every_decision_grounds_has_words_and_the_details_fill_them():
    """A `Decision` is data (grounds and details); `decision_words` is where it becomes the
    sentence `explain` shows."""
    from xcs.api.words import DECISION_WORDS, decision_words
    from xcs.evidence.decision import Decision, Grounds

    assert set(DECISION_WORDS) == set(Grounds)
    calls = (("requests.get", None), ("time.sleep", "pkg.wait"), ("a", None), ("b", None))
    for grounds in Grounds:
        text = decision_words(Decision(False, grounds, "static", calls, "conn", "sqlite3.Connection", 0.97, 0.102,
                                       "KeyError('x')"))
        assert text and not UNFILLED.search(text) and "{" not in text, (grounds, text)
    assert decision_words(Decision(True, Grounds.BLOCKING, "static", calls)) == \
        "blocking: `requests.get`, `time.sleep` (via `pkg.wait`), `a` and 1 more"
    assert decision_words(Decision(False, Grounds.AFFINE_INPUT, "argument", subject="conn",
                                   type_name="sqlite3.Connection")) == "thread-affine: `conn` is a `sqlite3.Connection`"
    assert decision_words(Decision(True, Grounds.BLOCKED, "probe", subject="time.sleep", blocked=0.5, wall=0.0042)) == \
        "blocked 50% of 4.2 ms in `time.sleep`"
