"""The compile cache keys code objects by identity: two functions whose code compares equal
(the same text at the same line of two files — code equality ignores the file) each get
their own analysis, variant and reports."""
import time

import xcs

SOURCE = '''
def loop(xs):
    out = []
    for x in xs:
        out.append(fetch(x))
    return out
'''


def _pure_fetch(x):
    time.sleep(0.002 * (5 - x))
    return x


def test_equal_code_in_two_files_is_compiled_once_each():
    log = []

    def effect_fetch(x):
        time.sleep(0.002 * (5 - x))
        log.append(x)
        return x

    first, second = {"fetch": _pure_fetch}, {"fetch": effect_fetch}
    exec(compile(SOURCE, "first_module.py", "exec"), first)
    exec(compile(SOURCE, "second_module.py", "exec"), second)
    assert first["loop"].__code__ == second["loop"].__code__   # the premise: equal, not identical
    f1, f2 = xcs.jit(first["loop"]), xcs.jit(second["loop"])
    assert f1(range(5)) == list(range(5))
    assert f2(range(5)) == list(range(5)) and log == list(range(5))
    (r1,), (r2,) = xcs.explain(f1), xcs.explain(f2)
    assert r1.filename == "first_module.py" and r1.parallel
    assert r2.filename == "second_module.py" and not r2.parallel
    assert "effect_fetch" in str(r2)
