"""Misuse gets a clear error or warning naming the fix, never a silent surprise."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import warnings

import pytest

import xcs
from xcs import config


def double_all(xs):
    out = []
    for x in xs:
        out.append(x * 2)
    return out


def test_jit_of_none_is_a_type_error_naming_the_fix():
    with pytest.raises(TypeError, match=r"xcs\.jit\(None\): expected a function to decorate; write `@xcs\.jit`"):
        xcs.jit(None)
    with pytest.raises(TypeError, match=r"xcs\.jit\(None\)"):
        xcs.jit(None, parallel=False)


def test_jit_with_options_and_no_function_still_decorates():
    assert xcs.jit()(double_all)([1, 2]) == [2, 4]
    assert xcs.jit(parallel=False)(double_all)([1, 2]) == [2, 4]
    assert xcs.jit(max_workers=2)(double_all).__wrapped__ is double_all


def test_jit_of_a_non_function_names_what_it_got():
    with pytest.raises(TypeError, match="xcs.jit expects a Python function, got int"):
        xcs.jit(3)


def test_enable_under_xcs_disable_warns_and_does_nothing(monkeypatch):
    monkeypatch.setattr(config, "_settings", dataclasses.replace(config.settings(), disabled=True))
    with pytest.warns(RuntimeWarning, match=r"xcs\.enable\(\) does nothing: XCS is disabled by the XCS_DISABLE"):
        xcs.enable()
    assert not xcs.api.auto.is_enabled()


def test_enable_under_xcs_disable_warns_at_the_callers_line():
    code = "import xcs\nxcs.enable()\n"
    env = dict(os.environ, XCS_DISABLE="1", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr.startswith("<string>:2: RuntimeWarning: xcs.enable() does nothing"), done.stderr


def test_enable_without_xcs_disable_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with xcs.enabled():
            pass
