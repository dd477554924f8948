"""Why a loop (or a statement of it) cannot run in parallel, as data.

A `Refusal` names the kind of obstacle (`Kind`), the user's line and structured details: the
variable or instruction (`name`), the callee as the user spells it (`callee`), what was found
inside it (`detail`), why an unknown call must stay in order (`cause`). The analysis and the
evidence layer only build these objects; `xcs.api.words` turns them into sentences and hints,
in one place — like TorchDynamo's graph-break registry, where every break reason is an entry
and one place renders it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from xcs.analysis.names import public_name


class Kind(enum.StrEnum):
    """The kinds of refusal. A kind is its string (`Kind.BREAK == "break"`): reports, tests and
    corpus rows name kinds by these values."""

    BREAK = "break"
    RETURN = "return"
    YIELD = "yield"
    EXIT = "commit:exit"
    AFTER_EXIT = "after-exit"
    RETRY = "retry"
    SPECULATION = "speculation"
    TARGET = "target"
    LATE_BINDING = "late-binding"
    CAPTURED_OUTSIDE = "captured-outside"
    CARRIED = "carried"
    COMMIT_READ = "commit-read"
    ITEM_CHANGED = "item-changed"
    CHANGES_COMMIT_READ = "changes-commit-read"
    UNBOUND_INPUT = "unbound-input"
    FRAME_INTROSPECTION = "frame-introspection"
    ITERABLE_USED = "iterable-used"
    ITERABLE_MUTATED = "iterable-mutated"
    AFTER_SYNC = "after-sync"
    AFTER_SKIP = "after-skip"
    NO_PARALLEL_WORK = "no-parallel-work"
    CONTROL_FLOW = "control-flow"
    GENERATOR = "generator"
    ASYNC_FOR = "async-for"
    ASYNC_EXIT = "async-exit"
    TOO_LARGE = "too-large"
    GLOBAL = "commit:global"
    NONLOCAL = "commit:nonlocal"
    INSTRUCTION = "commit:instruction"
    APPEND = "commit:append"
    STORE = "commit:store"
    ORDERED = "commit:ordered"
    ORDERED_CALLEE = "commit:ordered-callee"
    OUTER_CALL = "commit:outer-call"
    UNKNOWN_CALL = "commit:unknown-call"
    THREAD_BOUND = "commit:thread-bound"
    ASYNC_WITH = "commit:async-with"
    WITH_BLOCK = "commit:with-block"
    LIFETIME = "lifetime"
    PACED = "paced"
    OUTPUT_ORDER = "commit:output-order"
    HOIST_IN_TRY = "commit:hoist-in-try"
    INTERNAL = "internal"
    # Notices, not refusals: the loop runs in parallel on threads instead of the chosen executor.
    REMOTE_PROCESS_BOUND = "remote:process-bound"
    REMOTE_UNSHIPPABLE = "remote:unshippable"
    REMOTE_EXECUTOR = "remote:executor"


class Cause(enum.StrEnum):
    """Why a call the analysis cannot read to the bottom ("commit:unknown-call") stays in order;
    why a call of speculative work is not known to only read ("speculation"); and what keeps a
    loop's map part in this process ("remote:*" notices)."""

    THREAD_BOUND = "thread-bound"          # answers for the calling thread (`threading.get_ident`)
    RANDOM_STREAM = "random-stream"        # draws from the random stream every iteration shares
    CHANGES_ARGUMENT = "changes-argument"  # changes an object handed to it (`setattr`, `json.dump`)
    CACHED = "cached"                      # an `lru_cache`: its cache is shared by every iteration
    MOCK = "mock"                          # a `unittest.mock` object records the order of its calls
    C_CODE = "c-code"                      # a C function or method not in the known tables
    CALLABLE_OBJECT = "callable-object"    # a callable object whose `__call__` is not Python code
    CONSTRUCTION = "construction"          # building the object runs `__init__`/`__new__` with an effect (`detail`)
    UNREADABLE_INIT = "unreadable-init"    # building the object runs a C `__init__`/`__new__` (`detail` names it)
    UNNAMED = "unnamed"                    # the callee is a value XCS cannot name: from a container, a call, a local
    TOO_DEEP = "too-deep"                  # Python code deeper than XCS follows
    UNREADABLE = "unreadable"              # a function whose code XCS could not read
    # "remote:process-bound": what belongs to this process (`callee`: the function, "" for the work)
    RESOURCE = "resource"                  # `name` is (or, `held`, holds) a lock, file, socket... of type `detail`
    # (THREAD_BOUND: `name` is, or holds, a thread-affine object of type `detail`)
    ASSIGNS_GLOBAL = "assigns-global"      # the work assigns the module global `name`
    CHANGES_GLOBAL = "changes-global"      # the work changes the module global `name` in place
    WRITES_FILE = "writes-file"            # the work calls `open()` for writing
    PROCESS_CHANGE = "process-change"      # the work calls `name` (`os.remove`): a change the caller must order
    # "remote:executor" / "remote:unshippable": why the chosen executor did not take the loop
    UNAVAILABLE = "unavailable"            # what the executor needs is missing (`detail`, the runtime's words)
    SETUP = "setup"                        # the executor `name` refused its setup (`detail`, its words)
    UNANSWERED = "unanswered"              # the executor `name` could not be asked (`detail`: the error)
    UNSHIPPABLE = "unshippable"            # the work or its inputs could not be serialised (`detail`)
    FROM_ITEM = "from-item"                # the executor gave up part-way (`detail`: the runtime's words)
    OTHER = "other"                        # an older producer's sentence, kept whole in `detail`


# The causes each kind of refusal uses (`xcs.api.words` has words for each).
REMOTE_CAUSES = frozenset({Cause.RESOURCE, Cause.THREAD_BOUND, Cause.ASSIGNS_GLOBAL, Cause.CHANGES_GLOBAL,
                           Cause.WRITES_FILE, Cause.PROCESS_CHANGE, Cause.UNAVAILABLE, Cause.SETUP, Cause.UNANSWERED,
                           Cause.UNSHIPPABLE, Cause.FROM_ITEM})
SPECULATION_CAUSES = frozenset({Cause.TOO_DEEP, Cause.UNREADABLE})
UNKNOWN_CALL_CAUSES = frozenset(Cause) - (REMOTE_CAUSES - {Cause.THREAD_BOUND})

# Which refusal's hint a report shows: the first of the lowest rank. Causes that keep work in
# order (a `break`, a carried variable, work after a sync point) come first; then statements that
# must themselves stay in order and hold work (a global assignment, an unknown call); then "nothing
# can run apart", what they add up to; last the in-order statements that are fine beside parallel
# work (appends, stores, a shared object's method).
IN_ORDER = frozenset({Kind.GLOBAL, Kind.NONLOCAL, Kind.INSTRUCTION, Kind.ORDERED, Kind.ORDERED_CALLEE,
                      Kind.UNKNOWN_CALL, Kind.THREAD_BOUND, Kind.HOIST_IN_TRY, Kind.OUTPUT_ORDER,
                      Kind.ASYNC_WITH, Kind.WITH_BLOCK})
SUMMARY = frozenset({Kind.NO_PARALLEL_WORK})
NOTES = frozenset({Kind.COMMIT_READ, Kind.ITEM_CHANGED, Kind.APPEND, Kind.STORE, Kind.OUTER_CALL, Kind.EXIT})
RANKS = ((IN_ORDER, 1), (SUMMARY, 2), (NOTES, 3))


@dataclass(frozen=True)
class Refusal:
    """One reason a loop, or one statement of it, stays sequential.

    `kind` is a `Kind` (a string naming one is converted; an unknown one raises ValueError).
    `name` is the variable, instruction name or callee the refusal is about; `qualname` the
    callee's dotted name as registries know it, when it differs. "commit:ordered-callee" has
    `callee` (as the user spells it, without `()`), `detail` (what inside it must stay in
    order) and `manager` (the callee is a context manager the statement enters: `with
    callee():`). "commit:unknown-call" has `callee`, `cause` (a `Cause`), for the causes that
    carry one `detail`, and `within`: the cause of the unknown call found at the bottom of
    `detail` (a constructor's `__init__` that draws random numbers), which the hint addresses.
    "speculation" has `callee` (the call the work makes), `detail` (the function the call is
    in, when it is in a callee of the work) and `cause` (`TOO_DEEP`, `UNREADABLE`, or None for
    a call XCS names but does not know to only read). "remote:*" notices have a `cause` (see
    `Cause`) with `name`, `detail` and `callee` as it says; "remote:process-bound" also `held`
    (the value named holds the resource one level down: an element, an attribute) and
    `is_global` (`name` is a module global)."""

    kind: Kind
    line: int | None
    name: str = ""
    qualname: str = ""
    callee: str = ""
    detail: str = ""
    cause: Cause | None = None
    within: Cause | None = None
    manager: bool = False
    held: bool = False
    is_global: bool = False

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        for field in ("cause", "within"):
            if getattr(self, field) is not None:
                object.__setattr__(self, field, Cause(getattr(self, field)))
        if self.kind is Kind.ORDERED_CALLEE and self.name and not self.callee:
            # The older packed form "callee: what inside it" (or "with manager(): ...").
            callee, _, detail = str(self.name).partition(": ")
            manager = callee.startswith("with ")
            if manager:
                callee = callee.removeprefix("with ").removesuffix("()")
            for field, value in (("name", callee), ("callee", callee), ("detail", detail), ("manager", manager)):
                object.__setattr__(self, field, value)
        elif self.kind is Kind.UNKNOWN_CALL and self.cause is None:
            # An older producer's whole sentence: kept for the words, named by its first quote.
            sentence = str(self.name)
            callee = self.callee or _first_quoted(sentence).removesuffix("()")
            for field, value in (("name", callee), ("callee", callee), ("detail", sentence), ("cause", Cause.OTHER)):
                object.__setattr__(self, field, value)

    @classmethod
    def ordered_callee(cls, line, callee: str, detail: str = "", manager: bool = False) -> Refusal:
        """A "commit:ordered-callee" refusal: calling `callee` (or entering it, `manager=True`)
        runs `detail`, which must stay in order."""
        return cls(Kind.ORDERED_CALLEE, line, callee, callee=callee, detail=str(detail), manager=manager)


def primary(refusals) -> Refusal | None:
    """The refusal whose hint helps most (see RANKS), or None."""
    refusals = [r for r in refusals if isinstance(r, Refusal)]
    return min(refusals, key=lambda r: next((rank for kinds, rank in RANKS if r.kind in kinds), 0), default=None)


def unknown_call(line, found, qualified: str, spelled: str) -> Refusal:
    """A "commit:unknown-call" refusal for a call whose effect the analysis found as `found`
    (what `effects.opaque_call` returns: its `cause`, the `callee` it names as CPython does and a
    `detail`). The callee is named as the user wrote it (`client.chat.completions.create`,
    `seen.add`) where `found` names it by its qualified name `qualified`; the dotted name stays in
    `qualname` for the hint, as registries take it. A plain string `found` is an older
    producer's sentence (cause `Cause.OTHER`)."""
    qualname = public_name(qualified)
    cause = getattr(found, "cause", None)
    if cause is None:
        return _legacy_unknown_call(line, str(found), qualified, spelled, qualname)
    callee = str(getattr(found, "callee", ""))
    if qualified and spelled and not spelled.startswith("<") and callee == qualified:
        callee = spelled
    return Refusal(Kind.UNKNOWN_CALL, line, callee, qualname, callee=callee,
                   detail=str(getattr(found, "detail", "")), cause=cause, within=getattr(found, "within", None))


def _legacy_unknown_call(line, found: str, qualified: str, spelled: str, qualname: str) -> Refusal:
    if qualified and spelled and not spelled.startswith("<"):
        for quoted in (f"`{qualified}()`", f"`{qualified}`"):
            if quoted in found:
                found = found.replace(quoted, f"`{spelled}()`" if quoted.endswith("()`") else f"`{spelled}`", 1)
                break
    return Refusal(Kind.UNKNOWN_CALL, line, found, qualname)


def _first_quoted(text: str) -> str:
    start = text.find("`")
    stop = text.find("`", start + 1) if start >= 0 else -1
    return text[start + 1:stop] if stop > start else ""
