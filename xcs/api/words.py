"""Refusals and decisions in words: the one place a `Refusal` or a `Decision` becomes the
sentences users read.

`words(refusal)` says what is in the way, with the user's line; `hint(refusal)` says what the
user can change. `xcs.explain`, `str(report)` and the CLI render through these two, from the
structured details the analysis and the evidence layer record (see `xcs/analysis/refusal.py`):
each kind's template and hint, each unknown call's cause in words with its hint, CPython
instruction families as what the user wrote. Like TorchDynamo's graph-break registry: the
code records the entry, one place renders it.
"""
from __future__ import annotations

import re

from xcs import pyversion
from xcs.analysis.refusal import Cause, Kind, Refusal
from xcs.evidence.decision import Grounds

# kind -> sentence template. {name} is the variable / instruction / callee as the refusal
# carries it; "commit:ordered-callee" has {callee} (the function the loop calls, as the user
# spells it) and {detail} (what inside it must stay in order); "commit:unknown-call" has
# {found}, its cause in words (CAUSE_WORDS); "commit:instruction" has {what}, the operation in
# words.
TEMPLATES = {
    Kind.BREAK: "`break` leaves the loop early; later iterations must not start",
    Kind.RETURN: "`return` (or a `break` that ends the function) inside the loop body stops later iterations",
    Kind.YIELD: "`yield`/`await` inside the loop body suspends the frame",
    Kind.EXIT: "`{name}` leaves the loop: it runs in order, and later iterations' work starts speculatively",
    Kind.AFTER_EXIT: "this work runs only when an earlier in-order statement does not `{name}`",
    Kind.RETRY: "the loop may leave early (`{name}`), and its work does not read the loop's item: every iteration "
                "repeats the same calls (a retry or a poll), whose later attempts must wait for the earlier ones",
    Kind.SPECULATION: "the loop may leave early (`break`/`return`), and its work calls `{name}`{listed}, which is not known "
                      "to be free of effects outside the process: running it for iterations the plain loop "
                      "never reaches could be visible",
    Kind.TARGET: "the loop target `{name}` is not a plain local variable",
    Kind.LATE_BINDING: "`{name}` is captured by a closure created in the loop; each closure must see its own iteration's value",
    Kind.CAPTURED_OUTSIDE: "`{name}` is captured by a closure made outside the loop, which the work could call before the loop assigns `{name}` in order",
    Kind.CARRIED: "`{name}` is carried from one iteration to the next (read before it is assigned in the same iteration)",
    Kind.COMMIT_READ: "the work reads `{name}`, which the in-order part of the loop changes",
    Kind.ITEM_CHANGED: "the work reads `{name}`, the loop's item, which the in-order part may change in place (a call it is passed to, or a store into it)",
    Kind.CHANGES_COMMIT_READ: "changes `{name}`, which an earlier in-order statement of the iteration reads",
    Kind.UNBOUND_INPUT: "`{name}` may be unassigned when the loop starts",
    Kind.FRAME_INTROSPECTION: "`{name}()` inspects or changes the running frame",
    Kind.ITERABLE_USED: "calls a method of `{name}`, the object the loop iterates over, whose state moves on as items are pulled",
    Kind.ITERABLE_MUTATED: "the loop changes `{name}`, the sequence it iterates over",
    Kind.AFTER_SYNC: "this work comes after `{name}()`, which other threads or the file system see, and may depend on it",
    Kind.AFTER_SKIP: "this work runs only when an earlier in-order statement does not `continue`",
    Kind.NO_PARALLEL_WORK: "nothing in the loop body can run apart from the in-order part ({name})",
    Kind.CONTROL_FLOW: "control flow not understood: {name}",
    Kind.GENERATOR: "the function is a generator or an async generator; its loops are left alone",
    Kind.ASYNC_FOR: "{name} pulls each item with an await, in order: its iterations are not run as tasks",
    Kind.ASYNC_EXIT: "`{name}` leaves a loop of a coroutine: its iterations are not run as tasks ahead of it",
    Kind.TOO_LARGE: "the function has {name}, more than XCS analyses; it runs as written",
    Kind.GLOBAL: "assigns the global `{name}`",
    Kind.NONLOCAL: "assigns `{name}`, which closures or an enclosing function share",
    Kind.INSTRUCTION: "{what} must run in order",
    Kind.APPEND: "adds to {name} in order",
    Kind.STORE: "stores into `{name}`, which other iterations can see",
    Kind.ORDERED: "`{name}()` produces ordered output or depends on call order",
    Kind.ORDERED_CALLEE: "`{callee}` runs something that must stay in order: {detail}",
    Kind.OUTER_CALL: "`{name}()` changes an object other iterations can see",
    Kind.UNKNOWN_CALL: "{found}",
    Kind.THREAD_BOUND: "reads `{name}`, a threading.local: each thread sees its own",
    Kind.ASYNC_WITH: "`async with {name}`: a context manager XCS does not know, which may guard "
                     "something shared across its awaits (a lock, a semaphore, a transaction)",
    Kind.WITH_BLOCK: "`with {name}`: a context manager XCS does not know, whose exit may depend on the "
                     "in-order statement in its block; the block stays in order",
    Kind.LIFETIME: "`{name}()` observes which objects are alive, and XCS releases an iteration's objects a little later than the plain loop",
    Kind.PACED: "`{name}()` between requests paces the loop (a rate limit): running iterations at once would defeat it",
    Kind.OUTPUT_ORDER: "its output would come before what the in-order statement at line {name} prints",
    Kind.HOIST_IN_TRY: "the work inside this `try` stays in order: more work of the iteration follows it",
    Kind.INTERNAL: "XCS could not transform this loop ({name}); it runs as written",
    # Notices, not refusals: the loop runs in parallel on threads instead of the chosen executor.
    Kind.REMOTE_PROCESS_BOUND: "the work touches {found}: it belongs to this process, another process would use its own copy",
    Kind.REMOTE_UNSHIPPABLE: "{found}",
    Kind.REMOTE_EXECUTOR: "{found}",
}

HINTS = {
    Kind.BREAK: "loop over every item and stop using the results after the loop (e.g. cut the list at the "
                "first match), or work in batches: a parallel loop per batch, the early exit between batches",
    Kind.RETURN: "collect the results in the loop and return after it; an early `return` forces every "
                 "iteration to wait for the one before",
    Kind.YIELD: "make the loop a plain function that returns a list, and yield from that list",
    Kind.EXIT: "nothing to change: the test runs with the work, in parallel; only the decision to "
               "leave runs in order",
    Kind.AFTER_EXIT: "compute the work before the test that leaves the loop, or leave it where it is (it then "
                     "runs in order)",
    Kind.RETRY: "nothing to change for a retry loop; to run work in parallel, loop over the items themselves "
                "(the URLs, the prompts) and retry inside a function each iteration calls",
    Kind.SPECULATION: "if calling `{name}` for items after the one the loop stops at is harmless (it only "
                      "reads, or its cost is acceptable), allow it with `@xcs.jit(speculate=True)`; or "
                      "mark a read-only function of yours with `xcs.register_read_only`",
    Kind.TARGET: "assign to a plain local name (`for item in ...:`) and store into `{name}` inside the body",
    Kind.LATE_BINDING: "bind the value when the closure is made: `lambda {name}={name}: ...` or "
                       "`functools.partial(f, {name})`",
    Kind.CARRIED: "compute the new value from the iteration's own data, or return it from the loop's work "
                  "and combine the results (sum, join, reduce) after the loop",
    Kind.COMMIT_READ: "compute what the work needs from `{name}` before the loop, or change `{name}` after "
                      "the loop from the collected results",
    Kind.CHANGES_COMMIT_READ: "read `{name}` after changing it in the same iteration, or build a new object "
                              "instead of changing `{name}`",
    Kind.UNBOUND_INPUT: "give `{name}` a value before the loop",
    Kind.FRAME_INTROSPECTION: "pass the values explicitly instead of calling `{name}()` in the loop",
    Kind.ITERABLE_USED: "iterate over a list (`for x in list({name}):`) or pull the extra items with "
                        "`itertools` (`zip`, `pairwise`, `batched`) instead of calling methods of `{name}` in the body",
    Kind.ITERABLE_MUTATED: "iterate over a copy (`for x in list({name}):`) or collect the changes and apply "
                           "them after the loop",
    Kind.AFTER_SYNC: "do the work before `{name}()`, or move `{name}()` to the end of the iteration or "
                     "after the loop",
    Kind.AFTER_SKIP: "compute the work first and decide with `continue` afterwards, or filter the items "
                     "before the loop (`for x in filter(...)`)",
    Kind.NO_PARALLEL_WORK: "move the slow call (the I/O) into the loop body itself, on a line of its own "
                           "that only reads the iteration's data and assigns a local",
    Kind.CONTROL_FLOW: "split the loop body into a function and call it from a simple `for` loop",
    Kind.GENERATOR: "move the loop into a plain function returning a list, and yield from its result",
    Kind.ASYNC_EXIT: "collect the work first (`results = [await fetch(x) for x in items]` runs in parallel), "
                     "then find the item to stop at in a plain loop over the results",
    Kind.ASYNC_FOR: "move the inner loop into an `async def` the loop awaits, or collect the items first "
                    "(`items = [x async for x in source]`) and loop over the list with a plain `for`",
    Kind.TOO_LARGE: "split the loop body into a function (or the function into smaller ones) to have it analysed",
    Kind.GLOBAL: "return the value from the loop's work and assign `{name}` once after the loop",
    Kind.NONLOCAL: "keep `{name}` local to the loop body, or assign it once after the loop",
    Kind.INSTRUCTION: "move {what} out of the loop (before it, or into a helper function the loop calls)",
    Kind.APPEND: "nothing to change: the results are added in order while the work runs in parallel",
    Kind.STORE: "nothing to change if the work is elsewhere; otherwise store into `{name}` after the "
                "slow call, from its result",
    Kind.ORDERED: "`{name}()` itself may stay in the loop, in order: put the slow call on a line of its "
                  "own that assigns a local (`r = fetch(x)`), apart from `{name}()`; or move `{name}()` "
                  "after the loop",
    Kind.ORDERED_CALLEE: "if `{callee}` is safe to call from several threads at once, mark it with "
                         "`@xcs.io` (or `xcs.register_blocking`); or move what must stay in order (the "
                         "print, the write, the shared change) out of it into the loop body",
    Kind.OUTER_CALL: "return the value from the loop's work and change the shared object after the "
                     "loop (or in the loop body, next to the result)",
    Kind.UNKNOWN_CALL: "if `{callee}` only reads its arguments, or does I/O that is safe to run "
                       "concurrently, tell XCS: `xcs.register_blocking({registered})` (or `@xcs.io` on a "
                       "function of yours)",
    Kind.THREAD_BOUND: "read `{name}` once before the loop and pass the value to the work",
    Kind.ASYNC_WITH: "if the block only concerns the iteration, move it into an `async def` the loop "
                     "awaits (`body = await read(u)`) and mark that function `@xcs.io`",
    Kind.WITH_BLOCK: "assign the value inside the block (`body = r.read()`) and use it after the `with` "
                     "(`pages.append(body)`): the block then runs in parallel",
    Kind.LIFETIME: "collect garbage after the loop, or move the loop's work into a function the loop calls",
    Kind.PACED: "if the sleep only waits and no server limits the rate, drop it; a loop that must keep "
                "a pace stays sequential",
    Kind.OUTPUT_ORDER: "print the line-{name} message after the work, or have the work return what "
                       "to print and print it in the loop body",
    Kind.ITEM_CHANGED: "have the in-order call return a new value instead of changing the item, or copy the "
                       "item before the call",
    Kind.CAPTURED_OUTSIDE: "pass the value to the closure as an argument instead of capturing the variable",
    Kind.HOIST_IN_TRY: "move the work after the `try` out of it, or split the iteration into a "
                       "function that the `try` calls",
    Kind.INTERNAL: "this is a bug in XCS: please report it with the function; `@xcs.jit(parallel=False)` "
                   "or `XCS_DISABLE=1` silences it",
    Kind.REMOTE_PROCESS_BOUND: "pass the work plain values (not a lock, file, socket or client holding one), keep "
                               "counters and shared changes in the loop body, or keep executor='threads'",
    Kind.REMOTE_UNSHIPPABLE: "use module-level functions and plain data (cloudpickle must serialise them), create the "
                             "object inside the work, or keep executor='threads'",
    Kind.REMOTE_EXECUTOR: "fix what is named, or keep executor='threads'",
}

# "commit:unknown-call": its cause in words ({callee} as the user spells it, {detail} as the
# refusal carries it) and what to change for it (HINTS' default for the causes not listed).
CAUSE_WORDS = {
    Cause.THREAD_BOUND: "`{callee}()` answers for the thread that calls it",
    Cause.RANDOM_STREAM: "`{callee}()` draws from a random stream shared by every iteration",
    Cause.CHANGES_ARGUMENT: "`{callee}()` changes an object handed to it",
    Cause.CACHED: "`{callee}()` is cached: its cache is shared by every iteration (plain code runs it once per key)",
    Cause.MOCK: "`{callee}` is a mock: it records the order of its calls",
    Cause.C_CODE: "`{callee}()` is not known to XCS (it cannot read C code)",
    Cause.CALLABLE_OBJECT: "`{callee}` is a callable object XCS cannot read",
    Cause.CONSTRUCTION: "`{callee}()`: {detail}",
    Cause.UNREADABLE_INIT: "`{callee}()` runs `{detail}`, which XCS cannot read",
    Cause.UNNAMED: "`{callee}()` calls a function XCS cannot name before the loop runs ({detail}): it may "
                   "print or change shared state",
    Cause.TOO_DEEP: "`{callee}()` calls deeper than XCS follows",
    Cause.UNREADABLE: "`{callee}` could not be read",
    Cause.OTHER: "{detail}",
}
# "remote:*" notices: what keeps the map part in this process, by cause ({scope} "the global "
# for a module global, {held} " it holds" for a resource held one level down, {where} the
# function that does it).
REMOTE_WORDS = {
    Cause.RESOURCE: "{scope}`{name}`, a `{detail}`{held}",
    Cause.THREAD_BOUND: "{scope}`{name}`, a thread-affine `{detail}`{held}",
    Cause.ASSIGNS_GLOBAL: "the global `{name}`, which {where} assigns",
    Cause.CHANGES_GLOBAL: "the global `{name}`, which {where} changes",
    Cause.WRITES_FILE: "`open()` for writing, which {where} calls: the calling process must write the file, in order",
    Cause.PROCESS_CHANGE: "`{name}()`, which {where} calls: the calling process must make that change, in order",
    Cause.UNAVAILABLE: "{detail}",
    Cause.SETUP: "{detail}",
    Cause.UNANSWERED: "{name} could not be asked about its setup ({detail})",
    Cause.UNSHIPPABLE: "{detail}",
    Cause.FROM_ITEM: "from one item on: {detail}",
}
_REMOTE = frozenset({Kind.REMOTE_PROCESS_BOUND, Kind.REMOTE_UNSHIPPABLE, Kind.REMOTE_EXECUTOR})

# "speculation": why a call is listed, after its name ({detail}: the function the call is in).
SPECULATION_WORDS = {
    Cause.TOO_DEEP: "it calls deeper than XCS follows",
    Cause.UNREADABLE: "its code could not be read",
}
CAUSE_HINTS = {
    Cause.RANDOM_STREAM: "give each item its own generator (`random.Random(seed)`) or draw the numbers "
                         "before the loop",
    Cause.CHANGES_ARGUMENT: "pass each call its own object (a copy), or combine the results after the loop",
    Cause.CACHED: "call it once per key before the loop, or drop the cache",
    Cause.MOCK: "a mock records the order of its calls: test the loop with `@xcs.jit(parallel=False)`, "
                "or with a plain function in place of the mock",
    Cause.THREAD_BOUND: "call it once before the loop and pass the value to the work",
    Cause.UNNAMED: "call the function by its name (`fetch(x)`, not `handlers[kind](x)`), pass it as an argument "
                   "of the function, or loop over the functions themselves (`for fn in fns:`): XCS reads "
                   "what it can name",
}

# CPython instruction families in words, for "commit:instruction" (the user never wrote an opcode).
INSTRUCTION_WORDS = {
    **dict.fromkeys(("IMPORT_NAME", "IMPORT_FROM", *pyversion.STAR_IMPORTS), "an `import`"),
    **dict.fromkeys(pyversion.FUNCTION_BUILDS, "creating a function (`lambda` or a nested `def`)"),
    "LOAD_BUILD_CLASS": "a class definition",
    "SETUP_ANNOTATIONS": "an annotated assignment at module or class level",
    **dict.fromkeys(pyversion.NAMESPACE_LOADS, "a name looked up in a class or module namespace"),
    "YIELD_VALUE": "`yield`/`await`", "GET_AWAITABLE": "`yield`/`await`", "SEND": "`yield`/`await`",
}
INSTRUCTION_FAMILIES = (   # prefix -> words
    (("STORE_NAME", "LOAD_NAME", "DELETE_NAME", "LOAD_FROM_DICT"), "a name looked up in a class or module namespace"),
    (("STORE_FAST", "DELETE_FAST", "STORE_DEREF", "COPY"), "an assignment inside an expression (`:=`)"),
    (("LIST_APPEND", "SET_ADD", "MAP_ADD", "GET_ITER", "FOR_ITER", *pyversion.LOOP_ENDS,
      *pyversion.COMPREHENSION_SAVES),
     "a comprehension inside the expression"),
    (("POP_JUMP", "JUMP"), "a condition inside the expression (`and`, `or`, `x if c else y`)"),
    (("STORE_ATTR", "DELETE_ATTR"), "an attribute assignment"),
    (("STORE_SUBSCR", "DELETE_SUBSCR", *pyversion.SLICE_STORES), "an item assignment"),
    (("UNPACK_",), "unpacking"),
    (("BUILD_", "LIST_", "DICT_"), "building a container"),
)

# What XCS's own machinery may leak into a name (an error message, a scanned variant's code):
# its temporaries, its placeholder for deleted variables, its files.
INTERNALS = ((re.compile(r"__xcs_\w+"), "a temporary of XCS"),
             (re.compile(r"<xcs deleted>"), "a deleted variable"),
             (re.compile(r"[^\s'\"`]*[/\\]xcs[/\\][^\s'\"`:]*"), "XCS"))


def without_internals(text: str) -> str:
    """`text` with XCS's temporaries and file paths replaced by words."""
    for pattern, replacement in INTERNALS:
        text = pattern.sub(replacement, text)
    return text


def instruction_words(opname: str) -> str:
    """A CPython instruction name as what the user wrote."""
    if opname in INSTRUCTION_WORDS:
        return INSTRUCTION_WORDS[opname]
    for prefixes, text in INSTRUCTION_FAMILIES:
        if opname.startswith(prefixes):
            return text
    return f"an operation ({opname})"


def fields(refusal: Refusal) -> dict:
    """The placeholders of the refusal's template and hint, from its details."""
    name = without_internals(str(refusal.name))
    callee = without_internals(str(refusal.callee))
    detail = without_internals(str(refusal.detail))
    out = {"name": name, "callee": callee or name, "detail": detail, "what": name, "found": "", "listed": "",
           "registered": f'"{refusal.qualname}"' if refusal.qualname else "the function"}
    if refusal.kind is Kind.ORDERED_CALLEE:
        out["callee"] = f"with {callee}()" if refusal.manager else callee if callee.endswith(")") else callee + "()"
        out["detail"] = detail or "it writes output or changes shared state"
    elif refusal.kind is Kind.UNKNOWN_CALL:
        out["found"] = CAUSE_WORDS[refusal.cause or Cause.OTHER].format(callee=callee, detail=detail)
        out["callee"] = callee.removesuffix("()") or "the function"
    elif refusal.kind is Kind.INSTRUCTION:
        out["what"] = instruction_words(name)
    elif refusal.kind in _REMOTE:
        where = f"`{callee}`" if callee else "the loop's work"
        out["found"] = REMOTE_WORDS.get(refusal.cause, "{name}").format(
            name=name, detail=detail, where=where, scope="the global " if refusal.is_global else "",
            held=" it holds" if refusal.held else "")
    elif refusal.kind is Kind.SPECULATION:
        notes = ([f"in `{detail}`"] if detail else []) + \
            ([SPECULATION_WORDS[refusal.cause]] if refusal.cause in SPECULATION_WORDS else [])
        out["listed"] = f" ({'; '.join(notes)})" if notes else ""
    return out


def words(refusal: Refusal) -> str:
    """The reason in a sentence, with the user's line."""
    text = TEMPLATES[refusal.kind].format(**fields(refusal))
    return f"line {refusal.line}: {text}" if refusal.line else text


def hint(refusal: Refusal) -> str:
    """What the user can change so this refusal goes away, in one sentence."""
    values = fields(refusal)
    template = HINTS[refusal.kind]
    if refusal.kind is Kind.ORDERED_CALLEE:
        values["callee"] = without_internals(str(refusal.callee)).removesuffix("()")
    elif refusal.kind is Kind.UNKNOWN_CALL:
        # What to change is what was found at the bottom: a constructor's random numbers, say.
        template = CAUSE_HINTS.get(refusal.within) or CAUSE_HINTS.get(refusal.cause) or template
    return template.format(**values)


def speculation_words(lp, speculate: bool) -> str | None:
    """How `xcs.explain` says that loop `lp` (its `LoopFacts`) runs speculatively, or None if it
    does not leave early."""
    if not lp.exits:
        return None
    where = ", ".join(f"`{kind}` at line {line}" for kind, line in dict.fromkeys(lp.exits))
    why = "speculate=True" if speculate else "its work only reads"
    return f"speculative past {where}: later iterations' work starts before it is known to be needed ({why})"


# ----------------------------------------------------------------- decisions
#
# The evidence layer's `Decision` in words: {calls} the calls found (three at most, "and N
# more"), {blocked} the probe's blocked share, {ms} its wall time, {where} where it blocked
# most, {subject}/{type} an input and its thread-affine type, {error} what failed.
DECISION_WORDS = {
    Grounds.REQUESTED: "parallel=False was requested",
    Grounds.ASSERTED: "parallel=True: the caller asserts it pays",
    Grounds.THREAD_AFFINE: "thread-affine: {calls}",
    Grounds.AFFINE_INPUT: "thread-affine: `{subject}` is a `{type}`",
    Grounds.AFFINE_ITEMS: "thread-affine: the loop's items are `{type}`",
    Grounds.ORDERED: "ordered output in the map part: {calls}",
    Grounds.BLOCKING: "blocking: {calls}",
    Grounds.BLOCKED: "blocked {blocked} of {ms} ms{where}",
    Grounds.CPU_BOUND: "CPU-bound: {blocked} blocked (of {ms} ms)",
    Grounds.TOO_SHORT: "too short to pay: {ms} ms per iteration ({blocked} blocked)",
    Grounds.INTERNAL: "XCS could not gather evidence ({error})",
}


def decision_words(decision) -> str:
    """What a `Decision` rests on, in a sentence (what `xcs.explain` shows in brackets)."""
    ms = decision.wall * 1e3
    return DECISION_WORDS[decision.grounds].format(
        calls=_listed(decision.calls), blocked=f"{decision.blocked:.0%}", ms=f"{ms:.0f}" if ms >= 10 else f"{ms:.2g}",
        where=f" in `{decision.subject}`" if decision.subject else "", subject=decision.subject,
        type=decision.type_name, error=decision.error)


def _listed(calls) -> str:
    shown = ", ".join(f"`{name}`" + (f" (via `{via}`)" if via else "") for name, via in calls[:3])
    return shown + (f" and {len(calls) - 3} more" if len(calls) > 3 else "")


def creation_words(created: dict) -> str | None:
    """How `xcs.explain` says that a parallel run sent some requests in iteration order because
    their endpoints were found to create resources (`xcs.runtime.creations`), or None."""
    if not created:
        return None
    found = ", ".join(f"`{where}` ({evidence})" for where, evidence in created.items())
    first = next(iter(created))
    return (f"in order: requests to {found} were found to create resources, so they ran in iteration "
            f"order, one after another — if they do not, send them at once with "
            f"xcs.configure(endpoints={{{first!r}: 'independent'}})")


def turn_words(call) -> str:
    """A call running through a callee variant (`LoopFacts.turned_calls`): where it takes its
    turn and why."""
    effects = call.turns.words
    more = f" (+{len(effects) - 1} more)" if len(effects) > 1 else ""
    return (f"`{call.name}()` (line {call.line}) from its turn on, inside the callee: "
            f"{effects[0] if effects else 'its effects'}{more}")
