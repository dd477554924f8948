"""Which modules of CPython's own `test` package the regression runner runs, and why.

Chosen to cover what a PEP 523 hook can break: function entry (arguments, defaults,
closures, `*args`/`**kwargs`), frames that suspend (generators, coroutines, async
generators), exceptions and tracebacks, comprehensions (inlined on 3.12+), classes and
descriptors, tracing/profiling hooks, and threads. Every module here exists in the `test`
package of 3.11, 3.12 and 3.13.
"""
from __future__ import annotations

MODULES = (
    # grammar, scopes, closures, calls
    "test_grammar", "test_scope", "test_keywordonlyarg", "test_positional_only_arg", "test_extcall",
    "test_unpack", "test_unpack_ex", "test_augassign", "test_opcodes", "test_patma", "test_decorators",
    "test_funcattrs", "test_dynamic", "test_compare", "test_call",
    # generators, coroutines
    "test_generators", "test_genexps", "test_yield_from", "test_generator_stop", "test_coroutines",
    "test_asyncgen", "test_contextlib_async",
    # exceptions
    "test_exceptions", "test_raise", "test_exception_group", "test_except_star", "test_with",
    "test_contextlib", "test_traceback",
    # comprehensions
    "test_listcomps", "test_setcomps", "test_dictcomps",
    # classes, descriptors
    "test_class", "test_descr", "test_super", "test_property", "test_types", "test_abc", "test_dataclasses",
    "test_enum",
    # tracing, profiling, introspection
    "test_sys_settrace", "test_sys_setprofile", "test_frame", "test_dis",
    # threads
    "test_threading", "test_threading_local", "test_thread", "test_queue",
    # libraries full of loops and closures
    "test_functools", "test_itertools", "test_string", "test_operator", "test_heapq", "test_bisect",
    "test_collections", "test_list", "test_dict", "test_builtin", "test_set", "test_ordered_dict", "test_iter",
    "test_copy", "test_re", "test_json", "test_argparse", "test_textwrap", "test_int", "test_fstring",
    "test_global", "test_named_expressions", "test_genericalias", "test_typing", "test_inspect",
    # references and collection: co_extra state must not keep objects alive
    "test_weakref", "test_gc", "test_sys",
)

# Optional `test.support` resources granted to one module only (all others run without any,
# as `python -m test` does without `-u`), and why.
RESOURCES = {
    # test_jump_extended_args_for_iter traces a jump over a 100,000-statement loop body: it took
    # over 300 s under xcs.enable() before; now a few seconds with either mechanism (3.12/3.13).
    "test_sys_settrace": ("cpu",),
}

# Left out, and why (measured on this 2-core machine):
SLOW_OR_UNSUITABLE = {
    "test_asyncio": "2,464 tests taking 68 s plain on 3.12 here, more than the whole list; test_coroutines, "
                    "test_asyncgen and test_contextlib_async cover coroutine frames",
}

# Differences that XCS itself makes and that are accepted, per version, with the reason. The
# runner prints them apart; any other difference fails the run.
_PROBE_DEQUICKENS = ("XCS's first-iteration probe profiles with sys.setprofile; on 3.12 that instruments, and "
                     "so replaces the specialized superinstructions (LOAD_FAST__LOAD_FAST) of, code that runs "
                     "while it is on; dis.dis(adaptive=True) shows them missing (no result changes)")
KNOWN_DIFFERENCES = {
    "3.12": {
        "test.test_dis.DisTests.test_super_instructions": _PROBE_DEQUICKENS,
        "test.test_dis.DisWithFileTests.test_super_instructions": _PROBE_DEQUICKENS,
    },
}

# Differences one auto-mode mechanism makes, per version, with the reason (docs/auto-mode.md).
_VARIANT_VISIBLE = ("the monitoring mechanism swaps fn.__code__ to the variant while auto-mode is on: "
                    "dis.dis(loop_test, adaptive=True) shows the variant's bytecode (loop_test's loop is parallel)")
_CALL_EVENT_DELAYS = ("the monitoring mechanism's CALL event fires once per call site; answered with DISABLE, "
                      "the site restarts its adaptive counter, so `str(1)` is specialized a few runs later than "
                      "the test's warm-up (no result changes)")
KNOWN_BY_MECHANISM = {
    "monitoring": {
        "3.12": {
            "test.test_dis.DisTests.test_loop_quicken": _VARIANT_VISIBLE,
            "test.test_dis.DisWithFileTests.test_loop_quicken": _VARIANT_VISIBLE,
            "test.test_dis.DisTests.test_call_specialize": _CALL_EVENT_DELAYS,
            "test.test_dis.DisWithFileTests.test_call_specialize": _CALL_EVENT_DELAYS,
        },
        "3.13": {
            "test.test_sys_setprofile.TestEdgeCases.test_method_with_c_function": (
                "the call `sys.setprofile(f)` runs at a call site XCS's CALL event still instruments (its first "
                "execution); CPython 3.13 then reports that call's own c_return to the new profile function, "
                "which it does not when no sys.monitoring tool instruments the site (one extra event, first "
                "execution only)"),
        },
    },
}
