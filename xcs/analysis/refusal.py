"""Why a loop (or a statement of it) cannot run in parallel, as data.

A `Refusal` names the kind of obstacle, the user's line and the variable or instruction.
`explain()`, logs and errors all render it through `Refusal.words()`, so the wording lives
in one place.
"""
from __future__ import annotations

from dataclasses import dataclass

# kind -> sentence template; {name} is the variable / instruction / callee.
TEMPLATES = {
    "break": "`break` leaves the loop early; later iterations must not start",
    "return": "`return` (or a `break` that ends the function) inside the loop body stops later iterations",
    "yield": "`yield`/`await` inside the loop body suspends the frame",
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
    "generator": "the function is a generator or coroutine; its loops are left alone",
    "too-large": "the function has {name}, more than XCS analyses; it runs as written: split the loop "
                 "body into a function (or the function into smaller ones) to have it analysed",
    "commit:global": "assigns the global `{name}`",
    "commit:nonlocal": "assigns `{name}`, which closures or an enclosing function share",
    "commit:instruction": "`{name}` must run in order",
    "commit:append": "adds to {name} in order",
    "commit:store": "stores into `{name}`, which other iterations can see",
    "commit:ordered": "`{name}()` produces ordered output or depends on call order",
    "commit:ordered-callee": "`{name}`",
    "commit:outer-call": "`{name}()` changes an object other iterations can see",
    "commit:unknown-call": "{name}",
    "commit:thread-bound": "reads `{name}`, a threading.local: each thread sees its own",
    "commit:output-order": "its output would come before what the in-order statement at line {name} prints",
    "commit:hoist-in-try": "the work inside this `try` stays in order: more work of the iteration follows it",
    "internal": "XCS could not transform this loop ({name}); it runs as written",
}


@dataclass(frozen=True)
class Refusal:
    """One reason a loop, or one statement of it, stays sequential."""

    kind: str
    line: int | None
    name: str = ""

    def words(self) -> str:
        """The reason in a sentence, with the user's line."""
        text = TEMPLATES.get(self.kind, self.kind + ": {name}").format(name=self.name)
        return f"line {self.line}: {text}" if self.line else text
