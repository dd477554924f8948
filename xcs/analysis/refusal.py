"""Why a loop (or a statement of it) cannot run in parallel, as data.

A `Refusal` names the kind of obstacle, the user's line and the variable or instruction.
`explain()`, logs and errors all render it through `Refusal.words()` (what is in the way) and
`Refusal.hint()` (what the user can change), so the wording lives in one place — like
TorchDynamo's graph-break registry, where every break reason carries hints for the user.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from xcs import pyversion
from xcs.analysis.names import public_name

# kind -> sentence template. {name} is the variable / instruction / callee as the refusal
# carries it; "commit:ordered-callee" also has {callee} (the function the loop calls, as the
# user spells it) and {detail} (what inside it must stay in order); "commit:instruction" has
# {what}, the operation in words.
TEMPLATES = {
    "break": "`break` leaves the loop early; later iterations must not start",
    "return": "`return` (or a `break` that ends the function) inside the loop body stops later iterations",
    "yield": "`yield`/`await` inside the loop body suspends the frame",
    "commit:exit": "`{name}` leaves the loop: it runs in order, and later iterations' work starts speculatively",
    "after-exit": "this work runs only when an earlier in-order statement does not `{name}`",
    "retry": "the loop may leave early (`{name}`), and its work does not read the loop's item: every iteration "
             "repeats the same calls (a retry or a poll), whose later attempts must wait for the earlier ones",
    "speculation": "the loop may leave early (`break`/`return`), and its work calls `{name}`, which is not known "
                   "to be free of effects outside the process: running it for iterations the plain loop "
                   "never reaches could be visible",
    "target": "the loop target `{name}` is not a plain local variable",
    "late-binding": "`{name}` is captured by a closure created in the loop; each closure must see its own iteration's value",
    "captured-outside": "`{name}` is captured by a closure made outside the loop, which the work could call before the loop assigns `{name}` in order",
    "carried": "`{name}` is carried from one iteration to the next (read before it is assigned in the same iteration)",
    "commit-read": "the work reads `{name}`, which the in-order part of the loop changes",
    "item-changed": "the work reads `{name}`, the loop's item, which the in-order part may change in place (a call it is passed to, or a store into it)",
    "changes-commit-read": "changes `{name}`, which an earlier in-order statement of the iteration reads",
    "unbound-input": "`{name}` may be unassigned when the loop starts",
    "frame-introspection": "`{name}()` inspects or changes the running frame",
    "iterable-used": "calls a method of `{name}`, the object the loop iterates over, whose state moves on as items are pulled",
    "iterable-mutated": "the loop changes `{name}`, the sequence it iterates over",
    "after-sync": "this work comes after `{name}()`, which other threads or the file system see, and may depend on it",
    "after-skip": "this work runs only when an earlier in-order statement does not `continue`",
    "no-parallel-work": "nothing in the loop body can run apart from the in-order part ({name})",
    "control-flow": "control flow not understood: {name}",
    "generator": "the function is a generator or an async generator; its loops are left alone",
    "async-for": "`async for` pulls each item with an await: its items are not pulled ahead",
    "async-exit": "`{name}` leaves a loop of a coroutine: its iterations are not run as tasks ahead of it",
    "too-large": "the function has {name}, more than XCS analyses; it runs as written",
    "commit:global": "assigns the global `{name}`",
    "commit:nonlocal": "assigns `{name}`, which closures or an enclosing function share",
    "commit:instruction": "{what} must run in order",
    "commit:append": "adds to {name} in order",
    "commit:store": "stores into `{name}`, which other iterations can see",
    "commit:ordered": "`{name}()` produces ordered output or depends on call order",
    "commit:ordered-callee": "`{callee}` runs something that must stay in order: {detail}",
    "commit:async-with": "`async with {name}`: a context manager XCS does not know, which may guard "
                         "something shared across its awaits (a lock, a semaphore, a transaction)",
    "commit:outer-call": "`{name}()` changes an object other iterations can see",
    "commit:unknown-call": "{name}",
    "commit:thread-bound": "reads `{name}`, a threading.local: each thread sees its own",
    "lifetime": "`{name}()` observes which objects are alive, and XCS releases an iteration's objects a little later than the plain loop",
    "paced": "`{name}()` between requests paces the loop (a rate limit): running iterations at once would defeat it",
    "commit:output-order": "its output would come before what the in-order statement at line {name} prints",
    "commit:hoist-in-try": "the work inside this `try` stays in order: more work of the iteration follows it",
    "internal": "XCS could not transform this loop ({name}); it runs as written",
    # Notices, not refusals: the loop runs in parallel on threads instead of the chosen executor.
    "remote:process-bound": "the work touches {name}: it belongs to this process, another process would use its own copy",
    "remote:unshippable": "{name}",
    "remote:executor": "{name}",
}

# kind -> what the user can change, in one sentence (same placeholders as TEMPLATES).
HINTS = {
    "break": "loop over every item and stop using the results after the loop (e.g. cut the list at the "
             "first match), or work in batches: a parallel loop per batch, the early exit between batches",
    "return": "collect the results in the loop and return after it; an early `return` forces every "
              "iteration to wait for the one before",
    "yield": "make the loop a plain function that returns a list, and yield from that list",
    "commit:exit": "nothing to change: the test runs with the work, in parallel; only the decision to "
                   "leave runs in order",
    "after-exit": "compute the work before the test that leaves the loop, or leave it where it is (it then "
                  "runs in order)",
    "retry": "nothing to change for a retry loop; to run work in parallel, loop over the items themselves "
             "(the URLs, the prompts) and retry inside a function each iteration calls",
    "speculation": "if calling `{name}` for items after the one the loop stops at is harmless (it only "
                   "reads, or its cost is acceptable), allow it with `@xcs.jit(speculate=True)`; or "
                   "mark a read-only function of yours with `xcs.register_read_only`",
    "target": "assign to a plain local name (`for item in ...:`) and store into `{name}` inside the body",
    "late-binding": "bind the value when the closure is made: `lambda {name}={name}: ...` or "
                    "`functools.partial(f, {name})`",
    "carried": "compute the new value from the iteration's own data, or return it from the loop's work "
               "and combine the results (sum, join, reduce) after the loop",
    "commit-read": "compute what the work needs from `{name}` before the loop, or change `{name}` after "
                   "the loop from the collected results",
    "changes-commit-read": "read `{name}` after changing it in the same iteration, or build a new object "
                           "instead of changing `{name}`",
    "unbound-input": "give `{name}` a value before the loop",
    "frame-introspection": "pass the values explicitly instead of calling `{name}()` in the loop",
    "iterable-used": "iterate over a list (`for x in list({name}):`) or pull the extra items with "
                     "`itertools` (`zip`, `pairwise`, `batched`) instead of calling methods of `{name}` in the body",
    "iterable-mutated": "iterate over a copy (`for x in list({name}):`) or collect the changes and apply "
                        "them after the loop",
    "after-sync": "do the work before `{name}()`, or move `{name}()` to the end of the iteration or "
                  "after the loop",
    "after-skip": "compute the work first and decide with `continue` afterwards, or filter the items "
                  "before the loop (`for x in filter(...)`)",
    "no-parallel-work": "move the slow call (the I/O) into the loop body itself, on a line of its own "
                        "that only reads the iteration's data and assigns a local",
    "control-flow": "split the loop body into a function and call it from a simple `for` loop",
    "generator": "move the loop into a plain function returning a list, and yield from its result",
    "async-exit": "collect the work first (`results = [await fetch(x) for x in items]` runs in parallel), "
                  "then find the item to stop at in a plain loop over the results",
    "async-for": "collect the items first (`items = [x async for x in source]`), then loop over the list "
                 "with a plain `for`",
    "too-large": "split the loop body into a function (or the function into smaller ones) to have it analysed",
    "commit:global": "return the value from the loop's work and assign `{name}` once after the loop",
    "commit:nonlocal": "keep `{name}` local to the loop body, or assign it once after the loop",
    "commit:instruction": "move {what} out of the loop (before it, or into a helper function the loop calls)",
    "commit:append": "nothing to change: the results are added in order while the work runs in parallel",
    "commit:store": "nothing to change if the work is elsewhere; otherwise store into `{name}` after the "
                    "slow call, from its result",
    "commit:ordered": "`{name}()` itself may stay in the loop, in order: put the slow call on a line of its "
                      "own that assigns a local (`r = fetch(x)`), apart from `{name}()`; or move `{name}()` "
                      "after the loop",
    "commit:ordered-callee": "if `{callee}` is safe to call from several threads at once, mark it with "
                             "`@xcs.io` (or `xcs.register_blocking`); or move what must stay in order (the "
                             "print, the write, the shared change) out of it into the loop body",
    "commit:outer-call": "return the value from the loop's work and change the shared object after the "
                         "loop (or in the loop body, next to the result)",
    "commit:unknown-call": "if `{callee}` only reads its arguments, or does I/O that is safe to run "
                           "concurrently, tell XCS: `xcs.register_blocking({registered})` (or `@xcs.io` on a "
                           "function of yours)",
    "commit:thread-bound": "read `{name}` once before the loop and pass the value to the work",
    "commit:async-with": "if the block only concerns the iteration, move it into an `async def` the loop "
                         "awaits (`body = await read(u)`) and mark that function `@xcs.io`",
    "lifetime": "collect garbage after the loop, or move the loop's work into a function the loop calls",
    "paced": "if the sleep only waits and no server limits the rate, drop it; a loop that must keep "
             "a pace stays sequential",
    "commit:output-order": "print the line-{name} message after the work, or have the work return what "
                           "to print and print it in the loop body",
    "item-changed": "have the in-order call return a new value instead of changing the item, or copy the "
                    "item before the call",
    "captured-outside": "pass the value to the closure as an argument instead of capturing the variable",
    "commit:hoist-in-try": "move the work after the `try` out of it, or split the iteration into a "
                           "function that the `try` calls",
    "internal": "this is a bug in XCS: please report it with the function; `@xcs.jit(parallel=False)` "
                "or `XCS_DISABLE=1` silences it",
    "remote:process-bound": "pass the work plain values (not a lock, file, socket or client holding one), keep "
                            "counters and shared changes in the loop body, or keep executor='threads'",
    "remote:unshippable": "use module-level functions and plain data (cloudpickle must serialise them), create the "
                          "object inside the work, or keep executor='threads'",
    "remote:executor": "fix what is named, or keep executor='threads'",
}

# Which refusal's hint a report shows: the first of the lowest rank. Causes that keep work in
# order (a `break`, a carried variable, work after a sync point) come first; then statements that
# must themselves stay in order and hold work (a global assignment, an unknown call); then "nothing
# can run apart", what they add up to; last the in-order statements that are fine beside parallel
# work (appends, stores, a shared object's method).
IN_ORDER = frozenset({"commit:global", "commit:nonlocal", "commit:instruction", "commit:ordered",
                      "commit:ordered-callee", "commit:unknown-call", "commit:thread-bound", "commit:hoist-in-try",
                      "commit:output-order", "commit:async-with"})
SUMMARY = frozenset({"no-parallel-work"})
NOTES = frozenset({"commit-read", "item-changed", "commit:append", "commit:store", "commit:outer-call",
                   "commit:exit"})
RANKS = ((IN_ORDER, 1), (SUMMARY, 2), (NOTES, 3))

# "commit:unknown-call" carries the analysis's sentence; what to change depends on what it found.
UNKNOWN_CALL_HINTS = (
    ("random stream", "give each item its own generator (`random.Random(seed)`) or draw the numbers "
                      "before the loop"),
    ("changes an object handed to it", "pass each call its own object (a copy), or combine the results "
                                       "after the loop"),
    ("is cached", "call it once per key before the loop, or drop the cache"),
    ("is a mock", "a mock records the order of its calls: test the loop with `@xcs.jit(parallel=False)`, "
                  "or with a plain function in place of the mock"),
    ("answers for the thread", "call it once before the loop and pass the value to the work"),
)

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
    for pattern, words in INTERNALS:
        text = pattern.sub(words, text)
    return text


def instruction_words(opname: str) -> str:
    """A CPython instruction name as what the user wrote."""
    if opname in INSTRUCTION_WORDS:
        return INSTRUCTION_WORDS[opname]
    for prefixes, words in INSTRUCTION_FAMILIES:
        if opname.startswith(prefixes):
            return words
    return f"an operation ({opname})"


@dataclass(frozen=True)
class Refusal:
    """One reason a loop, or one statement of it, stays sequential."""

    kind: str
    line: int | None
    name: str = ""
    qualname: str = ""   # the callee's dotted name as registries know it, when it differs from `name`

    def fields(self) -> dict:
        """The placeholders of the kind's template and hint."""
        name = without_internals(str(self.name))
        out = {"name": name, "callee": name, "detail": "", "what": name,
               "registered": f'"{self.qualname}"' if self.qualname else "the function"}
        if self.kind == "commit:ordered-callee":
            # The analysis names "callee: what inside it" (or "with manager(): ...").
            callee, _, detail = name.partition(": ")
            out["callee"] = callee if callee.startswith("with ") or callee.endswith(")") else callee + "()"
            out["detail"] = detail or "it writes output or changes shared state"
        elif self.kind == "commit:unknown-call":
            out["callee"] = _first_quoted(name).removesuffix("()") or "the function"
        elif self.kind == "commit:instruction":
            out["what"] = instruction_words(name)
        return out

    def words(self) -> str:
        """The reason in a sentence, with the user's line."""
        text = TEMPLATES.get(self.kind, self.kind + ": {name}").format(**self.fields())
        return f"line {self.line}: {text}" if self.line else text

    def hint(self) -> str:
        """What the user can change so this refusal goes away, in one sentence."""
        fields = self.fields()
        template = HINTS.get(self.kind, "split the loop body into a function, or keep the loop as it is")
        if self.kind == "commit:ordered-callee":
            fields["callee"] = fields["callee"].removeprefix("with ").removesuffix("()")
        if self.kind == "commit:unknown-call":
            template = next((h for phrase, h in UNKNOWN_CALL_HINTS if phrase in fields["name"]), template)
        return template.format(**fields)


def primary(refusals) -> Refusal | None:
    """The refusal whose hint helps most (see RANKS), or None."""
    refusals = [r for r in refusals if isinstance(r, Refusal)]
    return min(refusals, key=lambda r: next((rank for kinds, rank in RANKS if r.kind in kinds), 0), default=None)


def unknown_call(line, found: str, qualified: str, spelled: str) -> Refusal:
    """A "commit:unknown-call" refusal naming the callee as the user wrote it
    (`client.chat.completions.create`, `seen.add`) where the analysis's sentence `found` names it
    as CPython does (`qualified`); the dotted name stays for the hint, as registries take it."""
    if not qualified or not spelled or spelled.startswith("<"):
        return Refusal("commit:unknown-call", line, found, public_name(qualified))
    for quoted in (f"`{qualified}()`", f"`{qualified}`"):
        if quoted in found:
            found = found.replace(quoted, f"`{spelled}()`" if quoted.endswith("()`") else f"`{spelled}`", 1)
            break
    return Refusal("commit:unknown-call", line, found, public_name(qualified))


def _first_quoted(text: str) -> str:
    start = text.find("`")
    stop = text.find("`", start + 1) if start >= 0 else -1
    return text[start + 1:stop] if stop > start else ""
