"""Unnamed callees: a function the loop calls that the analysis cannot name — taken from a
dict or a list (`HANDLERS[kind](x)`, `HANDLERS.get(kind)`), returned by a call
(`pick(x)(x)`), bound to a local in the body — may do anything, so "unknown means ordered".

Found by the lead's review after the restructure: these calls were taken for work that
changes nothing, and `noisy`'s appends to the list it is handed came out in completion order under
`@xcs.jit` (eight of the first nine rows fail on 76ac047; the partial was already
refused as a constructor XCS cannot read). Each row compares with the plain function
(`same`), the list `log` included (it is an argument). The last rows prove that
callees the analysis *can* name — the loop's own item (checked per item at run time), a
parameter, a global — keep the loop parallel.
"""
from __future__ import annotations

import functools

from tests.hazards.harness import io, peak_of, same, slow


def noisy(k, log):
    slow(k)
    log.append(k)          # an effect in completion order if the call ran on a worker
    return k * 2


HANDLERS = {"a": noisy}
FUNCTIONS = [noisy, noisy]


def pick(k):
    return noisy


def from_a_dict_by_constant_key(n, log):
    out = []
    for k in range(n):
        out.append(HANDLERS["a"](k, log))
    return out


def from_a_dict_by_computed_key(n, log):
    out = []
    for k in range(n):
        kind = "a" if k >= 0 else "b"
        out.append(HANDLERS[kind](k, log))
    return out


def from_dict_get_into_a_local(n, log):
    out = []
    for k in range(n):
        handler = HANDLERS.get("a")
        out.append(handler(k, log))
    return out


def from_a_list_by_index(n, log):
    out = []
    for k in range(n):
        out.append(FUNCTIONS[k % 2](k, log))
    return out


def returned_by_a_call(n, log):
    out = []
    for k in range(n):
        out.append(pick(k)(k, log))
    return out


def a_partial_called_at_once(n, log):
    out = []
    for k in range(n):
        out.append(functools.partial(noisy, k)(log))
    return out


def local_handlers_made_before_the_loop(n, log):
    table = {"a": noisy}
    out = []
    for k in range(n):
        out.append(table["a"](k, log))
    return out


def an_alias_of_a_global_bound_in_the_body(n, log):
    out = []
    for k in range(n):
        f = noisy
        out.append(f(k, log))
    return out


def bound_on_two_paths(n, log):
    out = []
    for k in range(n):
        if k % 2:
            f = noisy
        else:
            f = HANDLERS["a"]
        out.append(f(k, log))
    return out


def _args():
    return (8, [])


def test_a_function_taken_from_a_dict_by_constant_key_runs_in_order():
    same(from_a_dict_by_constant_key, _args)


def test_a_function_taken_from_a_dict_by_computed_key_runs_in_order():
    same(from_a_dict_by_computed_key, _args)


def test_a_function_from_dict_get_bound_to_a_local_runs_in_order():
    same(from_dict_get_into_a_local, _args)


def test_a_function_taken_from_a_list_runs_in_order():
    same(from_a_list_by_index, _args)


def test_a_function_returned_by_a_call_runs_in_order():
    same(returned_by_a_call, _args)


def test_a_partial_called_where_it_is_made_runs_in_order():
    same(a_partial_called_at_once, _args)


def test_a_local_table_built_before_the_loop_runs_in_order():
    same(local_handlers_made_before_the_loop, _args)


def test_an_alias_of_a_global_bound_in_the_body_is_judged_as_the_global():
    same(an_alias_of_a_global_bound_in_the_body, _args)


def test_a_local_bound_on_two_paths_runs_in_order():
    same(bound_on_two_paths, _args)


# -------------------------------------------------------------------- still parallel

def fetch(k):
    io(k)
    return k * 2


def over_functions(fns, n):
    out = []
    for fn in fns:             # the loop's item: checked per item at run time
        out.append(fn(n))
    return out


def through_a_parameter(get, n):
    out = []
    for k in range(n):
        out.append(get(k))
    return out


def through_a_body_alias(n):
    out = []
    for k in range(n):
        get = fetch
        out.append(get(k))
    return out


def test_a_body_alias_of_a_blocking_function_keeps_the_loop_parallel():
    fast = same(through_a_body_alias, lambda: (8,))
    result, peak = peak_of(fast, 8, overlap=4)
    assert result == [k * 2 for k in range(8)] and peak >= 4


def test_a_function_that_is_the_loops_item_keeps_the_loop_parallel():
    fns = [fetch] * 8
    fast = same(over_functions, lambda: (fns, 3))
    result, peak = peak_of(fast, fns, 3, overlap=4)
    assert result == [6] * 8 and peak >= 4


def test_a_function_passed_as_a_parameter_keeps_the_loop_parallel():
    fast = same(through_a_parameter, lambda: (fetch, 8))
    result, peak = peak_of(fast, fetch, 8, overlap=4)
    assert result == [k * 2 for k in range(8)] and peak >= 4
