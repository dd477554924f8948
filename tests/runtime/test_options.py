"""One frozen `Options`, validated once: at decoration, in `configure`, from the environment."""
from __future__ import annotations

import dataclasses
import warnings

import pytest

import xcs
from xcs import config


@pytest.mark.parametrize("kwargs, error, words", [
    ({"max_workers": True}, TypeError, "not bool"),
    ({"max_workers": 2.0}, TypeError, "not float"),
    ({"max_workers": "8"}, TypeError, "not str"),
    ({"max_workers": 0}, ValueError, "from 1 to"),
    ({"max_workers": 10 ** 9}, ValueError, "from 1 to"),
    ({"parallel": 1}, TypeError, "parallel=True"),
    ({"parallel": 0}, TypeError, "parallel=False"),
    ({"parallel": "yes"}, ValueError, "'auto', True or False"),
    ({"parallel": None}, ValueError, "'auto', True or False"),
    ({"speculate": 1}, TypeError, "speculate must be True or False"),
    ({"speculate": "yes"}, TypeError, "speculate must be True or False"),
])
def test_jit_rejects_bad_options_at_decoration(kwargs, error, words):
    with pytest.raises(error, match=words):
        xcs.jit(**kwargs)

    def f(xs):
        return [x for x in xs]

    with pytest.raises(error, match=words):
        xcs.jit(f, **kwargs)


def test_jit_accepts_the_good_options_and_the_loop_runs():
    for parallel in ("auto", True, False):
        for workers in (None, 1, 4, config.MAX_WORKERS_LIMIT):
            @xcs.jit(parallel=parallel, max_workers=workers)
            def double(xs):
                out = []
                for x in xs:
                    out.append(x * 2)
                return out

            assert double(range(5)) == [0, 2, 4, 6, 8]


def test_configure_validates_and_leaves_settings_unchanged_on_error():
    before = xcs.settings()
    for bad in (True, 0, 10 ** 9, "3"):
        with pytest.raises((TypeError, ValueError)):
            xcs.configure(max_workers=bad)
        assert xcs.settings() == before
    with pytest.raises(TypeError):
        xcs.configure(per_host={"example.com": True})
    with pytest.raises(TypeError):
        xcs.configure(per_host=["example.com"])
    assert xcs.settings() == before


def test_configure_changes_and_restores():
    old = xcs.settings().max_workers
    try:
        assert xcs.configure(max_workers=7).max_workers == 7
        assert xcs.configure(per_host={"API.example.com": 2}).per_host == {"api.example.com": 2}
        assert xcs.settings().max_workers == 7            # per_host left max_workers alone
    finally:
        xcs.configure(max_workers=old, per_host={})
    assert dict(xcs.settings().per_host) == {}


def test_options_are_frozen_and_hashable():
    options = config.Options(max_workers=3, per_host={"a": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_workers = 5
    with pytest.raises(TypeError):
        options.per_host["b"] = 2
    assert hash(options) == hash(config.Options(max_workers=3, per_host={"a": 1}))


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "99999", "1.5"])
def test_invalid_environment_value_warns_and_uses_the_default(raw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = config._from_environment({"XCS_MAX_WORKERS": raw})
    assert settings.max_workers == config.DEFAULT_MAX_WORKERS
    assert len(caught) == 1 and "XCS_MAX_WORKERS" in str(caught[0].message)


def test_valid_environment_value_is_used_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config._from_environment({"XCS_MAX_WORKERS": " 12 "}).max_workers == 12
        assert config._from_environment({}).max_workers == config.DEFAULT_MAX_WORKERS
