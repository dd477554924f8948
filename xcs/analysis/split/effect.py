"""Why one statement, or one event of it, must run in order: the effect rules.

`commit_reason` and `event_reason` judge a statement or event of a `LoopDescription` on its
own, with a pass's `Resolver`. Two facts come out besides the reason, collected in the
calling pass's own `Marks`: calls whose only effect is output the runtime captures on a
worker and replays in order (`output`), and calls that change the file system or
synchronise, which work after them must wait for (`changing`).
"""
from __future__ import annotations

import dataclasses
import inspect
import types
from dataclasses import dataclass, field

from bytecode import Instr, Label

from xcs import pyversion
from xcs.analysis import aio_blocks, effects, handoffs, knowledge, receiver
from xcs.analysis import refusal
from xcs.analysis.refusal import Refusal
from xcs.analysis.memo import per_function
from xcs.analysis.stack import Event, render
from xcs.analysis.statements import RawStatement


@dataclass
class Marks:
    """Event indices a pass found: `output` (captured on a worker, replayed in order) and
    `changing` (the work after it must wait for it). Owned by the pass that fills it."""

    output: set = field(default_factory=set)
    changing: set = field(default_factory=set)
    # Call event index -> `callee_turns.CalleeTurns`: a call that runs on a worker through a
    # variant of its callee taking the turn before its ordered effects. None: not allowed
    # (the split fell back after the obligation failed, a coroutine's loop, or a hoisted
    # argument: only whole map statements call variants).
    turns: dict | None = None

    def frozen(self) -> tuple[frozenset, frozenset]:
        return frozenset(self.output), frozenset(self.changing)


def commit_reason(desc, res, s: RawStatement, events, marks: Marks) -> Refusal | None:
    """Why statement s must run in order, or None when it may run on a worker."""
    for _, ins in desc.instrs(s):
        line = ins.lineno
        if ins.name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            return Refusal("commit:global", line, ins.arg)
        if ins.name in ("STORE_DEREF", "DELETE_DEREF"):
            return Refusal("commit:nonlocal", line, pyversion.deref_name(ins.arg))
        if ins.name in ("IMPORT_NAME", "IMPORT_FROM", "SETUP_ANNOTATIONS", "STORE_NAME", "LOAD_NAME",
                        "DELETE_NAME", *pyversion.NAMESPACE_LOADS):
            return Refusal("commit:instruction", line, ins.name)
        if ins.name in ("STORE_FAST", "DELETE_FAST") and ins.arg in desc.cellvars:
            return Refusal("commit:nonlocal", line, ins.arg)
    reason = thread_local_load(desc, (i for i, _ in desc.instrs(s)))   # a `threading.local` read
    if reason is not None:
        return reason
    for e in events:
        reason = event_reason(desc, res, e, marks)
        if reason is not None:
            return reason
    return None


def event_reason(desc, res, e: Event, marks: Marks) -> Refusal | None:
    """Why event e must run in order, or None."""
    line = desc.items[e.index].lineno
    if e.op == "append":
        if e.target is not None and e.target.kind == "fresh" and e.target.start >= 0:
            return None  # an inline comprehension building its own new list in this statement
        return Refusal("commit:append", line, "the comprehension's result")
    if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr", "inplace"):
        root = e.target
        if e.op == "inplace" and root.kind == "local" and not root.chain:
            return None  # rebinding a local: the dataflow rules decide
        if desc.is_outer(root) or desc.is_target(root) or root.kind not in ("local", "fresh", "const"):
            return Refusal("commit:store", line, root.describe())
        return None
    if e.op == "enter":
        return aio_blocks.enter_reason(desc, res, e, line) or enter_reason(desc, res, e, line)
    if e.op != "call":
        return None
    if (handed := handoffs.call_reason(desc, res, e)) is not None:   # a function run on a thread
        return handed
    return _call_reason(desc, res, e, line, marks)


def _call_reason(desc, res, e: Event, line, marks: Marks) -> Refusal | None:
    e = through_alias(desc, e)
    callee = e.target
    found = made_function_effects(desc, res, e)
    if found:
        return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
    obj = res.resolve(callee)
    root = res.resolve_root(callee) if callee.kind in ("global", "deref") else None
    if isinstance(root, types.ModuleType) and callee.chain:
        dotted = ".".join((root.__name__,) + callee.chain)
        if dotted in effects.ORDERED_QUALNAMES:
            return Refusal("commit:ordered", line, callee.describe())
    if obj is not None:
        return _resolved_call_reason(desc, res, e, line, marks, obj)
    return _unresolved_call_reason(desc, res, e, line)


def _resolved_call_reason(desc, res, e: Event, line, marks: Marks, obj) -> Refusal | None:
    callee = e.target
    if reports_its_failure(desc, e, callee):
        marks.output.add(e.index)   # captured on a worker, replayed in order
        return None
    if obj in effects.ORDERED_OBJECTS or effects.is_ordered_callable(obj, desc.env):
        return Refusal("commit:ordered", line, callee.describe())
    if opens_for_writing(desc, e, obj):
        return Refusal("commit:ordered", line, callee.describe())
    if effects.qualified_name_or_empty(obj) in effects.ARGUMENT_CHANGING and \
            any(desc.may_be_shared(a) for a in e.args):
        return Refusal("commit:outer-call", line, callee.describe())
    if obj is getattr and len(e.args) >= 2 and desc.may_be_shared(e.args[0]):
        found = effects.getattr_effects(res.held(e.args[0]), effects.constant_name(desc.items, e.args[1]),
                                        res.env_for)
        if found:
            return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
    bound = res.is_bound_method(callee)
    if obj in (setattr, delattr) and e.args:
        args_shared = desc.may_be_shared(e.args[0])
    else:
        args_shared = (bound and desc.may_be_shared(callee)) or any(desc.may_be_shared(a) for a in e.args)
    found = None if effects.reads_own_exception(obj, e.index, desc.body_handlers) else \
        effects.opaque_call(obj, desc.env, args_shared)
    if found:
        return refusal.unknown_call(line, found, effects.qualified_name_or_empty(obj) or type(obj).__name__,
                                    callee.describe())
    found = function_arguments_effects(desc, res, e)
    if found:
        return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
    if not isinstance(obj, (types.FunctionType, type)) and callable(obj):
        call = inspect.getattr_static(type(obj), "__call__", None)
        if isinstance(call, types.FunctionType):
            found = effects.ordered_effects_in(call, res.env_for)
            if found:
                return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
            return None
    if isinstance(obj, types.FunctionType):
        # Once per callee and binding: a body calling `fetch` on every line scanned it per call.
        key = ("effects", obj, callee.kind, callee.name, callee.chain,
               tuple((a.kind, a.name, a.chain, desc.may_be_shared(a)) for a in e.args),
               effects.call_keywords(desc.items, e.index))
        found, outputs, changes = per_function(desc.shared, key, lambda: callee_effects(desc, res, e, obj))
        if not found and outputs and desc.coroutine:
            # Output is captured per worker thread; an iteration's task shares the
            # calling thread, so its output would interleave: run the call in order.
            found = outputs[0] if isinstance(outputs, (list, tuple)) else "output"
        elif not found and outputs:
            marks.output.add(e.index)   # captured on a worker, replayed in order
        if changes:
            marks.changing.add(e.index)   # the work after it must wait for it
        if found and _turned(desc, res, e, obj, key, marks):
            if outputs:
                marks.output.add(e.index)   # what it prints before its turn is captured, replayed in order
            return None
        if found:
            return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
        return None   # read: it changes nothing other iterations see
    if callee.chain and isinstance(res.resolve_root(callee), types.ModuleType):
        return None
    return _unresolved_call_reason(desc, res, e, line)


def _turned(desc, res, e: Event, func, key, marks: Marks) -> bool:
    """True (and recorded in `marks.turns`) when the call of `func` at `e` may run on a worker
    through a variant of `func` that takes the turn before its ordered effects: a plain
    function named by a global or closure variable (what the loop-start guards re-check), in
    a loop that is not a coroutine's."""
    callee = e.target
    if marks.turns is None or desc.coroutine or callee.kind not in ("global", "deref") or callee.chain:
        return False
    from xcs.analysis.callee_turns import callee_turns

    turns = per_function(desc.shared, ("turns",) + key[1:],
                         lambda: callee_turns(func, *_callee_binding(desc, res, e, func)))
    if turns is None:
        return False
    marks.turns[e.index] = turns
    return True


def _callee_binding(desc, res, e: Event, func) -> tuple:
    """(env_for, shared parameters) of `func` called at `e`, as `callee_effects` binds them."""
    env = desc.env

    def resolve(value):
        obj = effects.UNKNOWN
        if value.kind in ("global", "deref") or (value.kind == "local" and value.name in env.arguments
                                                 and not desc.is_body_local(value.name)):
            try:
                obj = env.lookup(value.kind, value.name, value.chain)
            except Exception:  # noqa: BLE001
                obj = effects.UNKNOWN
        return desc.may_be_shared(value), obj

    arguments, shared = effects.bind_call(func, e.args, effects.call_keywords(desc.items, e.index), resolve, None)
    return effects.binding(res.env_for, func, arguments), shared


def _unresolved_call_reason(desc, res, e: Event, line) -> Refusal | None:
    """The method-name rules, for a callee the analysis could not resolve (or resolved to
    something neither a function nor a module's)."""
    callee = e.target
    unnamed = None if _exits_a_with(desc, e) else unnamed_callee(desc, callee)
    if unnamed is not None:
        return Refusal(refusal.Kind.UNKNOWN_CALL, line, callee.describe(), callee=callee.describe(),
                       detail=unnamed, cause=refusal.Cause.UNNAMED)
    method = callee.chain[-1] if callee.chain else None
    if method in effects.ORDERED_METHODS or method in effects.PATH_CHANGING_METHODS:
        return Refusal("commit:ordered", line, callee.describe())
    if callee.kind in ("global", "deref") and callee.chain:
        root = res.resolve_root(callee)
        if not isinstance(root, types.ModuleType) and (method in effects.MUTATORS or e.discarded):
            return Refusal("commit:outer-call", line, callee.describe())
        return None
    if callee.kind in ("call", "value") and method in effects.MUTATORS:
        return Refusal("commit:outer-call", line, callee.describe())  # the result may be a shared object
    if callee.kind == "local" and callee.chain:
        if desc.is_outer(callee) and (method in effects.MUTATORS or e.discarded):
            # `parser.feed(s)`: called for its effect, most likely on `parser`.
            return Refusal("commit:outer-call", line, callee.describe())
        if desc.is_target(callee) and method in effects.MUTATORS:
            return Refusal("commit:outer-call", line, callee.describe())
    return None


def through_alias(desc, e: Event) -> Event:
    """Call event `e` with a callee named through a body alias (`f = fetch; f(x)`, `get =
    self.session.get`) read as the object the alias names, when the body binds the alias once:
    the call is that object's, and is judged (and guarded) as such."""
    callee = e.target
    if callee is None or callee.kind != "local" or callee.name not in desc.aliases:
        return e
    stores = sum(1 for events in desc.events for x in events if x.op == "store-local" and x.args[0] == callee.name)
    if stores != 1:
        return e
    kind, name, chain = desc.aliases[callee.name]
    return dataclasses.replace(e, target=dataclasses.replace(callee, kind=kind, name=name, chain=chain + callee.chain))


def _exits_a_with(desc, e: Event) -> bool:
    """Whether call event `e` is the implicit `__exit__` call of a `with` of its statement (its
    callee is the manager the `enter` event pushed): the `enter` rules judge the manager."""
    for events in desc.events:
        if any(x is e for x in events):
            return any(x.op == "enter" and x.target is e.target for x in events)
    return False


def unnamed_callee(desc, callee) -> str | None:
    """Where a callee the analysis could not resolve comes from, when it is a *function* XCS
    cannot name — an element of a container (`handlers[kind](x)`), a call's result
    (`pick(x)(x)`), a local bound in the body or before the loop to something the analysis
    cannot follow (`handler = handlers.get(kind)`) — else None. Unknown means ordered: such
    a function may print or change shared state. Methods of objects (`resp.json()`, `d['k'].append`) are not this rule's (the
    method-name rules and the iteration's own objects decide them), nor calls through the
    loop's item (`fn(x)` for `fn` in the iterable: checked per item at run time), the
    loop's inputs (checked at each loop start), names of the module and builtins, or a
    function made in the statement (`made_function_effects`)."""
    chain = callee.chain
    if chain and not (chain[-1].startswith("[")):
        return None   # a method or an attribute
    if callee.kind in ("local", "deref") and callee.name in desc.target_paths:
        return None   # the loop's item, or part of it: the runner checks each item
    if callee.kind == "call":
        return "it is returned by a call"
    if callee.kind == "value":
        return "it is computed in the loop"
    if chain:
        return f"it is taken from `{render(callee.name, chain[:-1])}`"
    if callee.kind == "local":
        if not desc.is_body_local(callee.name):
            return None   # an input: the runner checks the functions among them at each loop start
        return f"`{callee.name}` is bound in the loop to a value XCS cannot follow"
    return None


def made_function_effects(desc, res, e: Event) -> str | None:
    """What a function made in the statement does when it is called or handed to a call
    (3.11's comprehension functions, `map(lambda y: append(y), ys)`, a generator
    expression given to `sum`): its code is scanned like a callee's, its free variables
    unknown (they are this function's cells, filled at run time), so calls through them
    count as unresolved."""
    if e.target is None:
        return None
    ends = [a.start for a in e.args if a.start >= 0] + [e.index]
    values = [(e.target, min(ends))] + [(a, e.index) for a in e.args]
    for value, stop in values:
        if value.kind != "fresh" or value.start < 0:
            continue
        for i in range(value.start, stop):
            ins = desc.items[i]
            if not (isinstance(ins, Instr) and ins.name == "LOAD_CONST" and isinstance(ins.arg, types.CodeType)):
                continue
            code = ins.arg
            found = per_function(desc.shared, ("made", code), lambda code=code: _scan_made(desc, res, code))
            if found:
                return found
    return None


def _scan_made(desc, res, code) -> str | None:
    cells = tuple(types.CellType() for _ in code.co_freevars)
    try:
        func = types.FunctionType(code, desc.env.globals, code.co_name, None, cells)
    except Exception:  # noqa: BLE001 - not a function we can rebuild: unknown
        return f"{code.co_name} could not be read"
    return effects.ordered_effects_in(func, res.env_for)


def reports_its_failure(desc, e: Event, callee) -> bool:
    """True for output written (`print`, `sys.stderr.write`, logging) inside an `except`
    block the loop body opens — the cold error path of a retry (`except: print("API
    error", sys.exc_info()[0]); time.sleep(1)`) — or inside a loop nested in the body. The
    runtime captures it on the worker and replays it in order, so the statement it belongs
    to may run in parallel; output written elsewhere in the body is a statement in order."""
    if e.index not in desc.body_handlers and not _in_inner_loop(desc, e.index):
        return False
    return effects.captured_output(callee, e, desc.items, desc.env)


def _in_inner_loop(desc, index: int) -> bool:
    """True when items[index] lies in a loop nested in the body (`for line in
    run(cmd): print(line, end='')`): the output streams with the work, on the worker."""
    k = desc.statement_of.get(index)
    if k is None:
        return False
    s = desc.raw[k]
    for i in range(s.start, s.stop):
        item = desc.items[i]
        if isinstance(item, Instr) and item.name == "FOR_ITER" and isinstance(item.arg, Label):
            end = desc.flow.label_index.get(item.arg, -1)
            if i < index < end:
                return True
    return False


def function_arguments_effects(desc, res, e: Event) -> str | None:
    """What a Python function handed to a call (`sorted(xs, key=noisy)`, `map(log, xs)`,
    `fetch(u, on_done=record)`) does that other iterations would see, or None. Handed
    functions the analysis cannot resolve are left to the callee's own scan."""
    env = desc.env
    for value in e.args:
        if value.kind not in ("global", "deref", "local") or value.calls:
            continue
        if value.kind == "local" and (value.name not in env.arguments or desc.is_body_local(value.name)):
            continue
        try:
            func = env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(func, types.MethodType):
            func = func.__func__
        if isinstance(func, types.FunctionType) and not env.is_trusted(func):
            found = effects.ordered_effects_in(func, res.env_for)
            if found:
                return found
        elif callable(func) and not isinstance(func, type):
            found = effects.opaque_call(func, env, True)
            if found:
                return found
    return None


def thread_local_load(desc, indices) -> Refusal | None:
    """A refusal for the first load among items[indices] of a `threading.local` (a global,
    a closure variable, or an argument the function was called with): on a worker it would
    see the worker's attributes."""
    env = desc.env
    for i in indices:
        ins = desc.items[i]
        if not isinstance(ins, Instr):
            continue
        if ins.name == "LOAD_GLOBAL":
            kind, name = "global", pyversion.global_name(ins)
        elif pyversion.is_closure_load(ins) or ins.name == "LOAD_DEREF":
            kind, name = "deref", pyversion.deref_name(ins.arg)
        elif ins.name in pyversion.LOCAL_READS and ins.arg in env.arguments and not desc.is_body_local(ins.arg):
            kind, name = "local", ins.arg
        else:
            continue
        try:
            value = env.lookup(kind, name)
        except Exception:  # noqa: BLE001
            continue
        if knowledge.is_thread_local(value):
            return Refusal("commit:thread-bound", ins.lineno, name)
    return None


def enter_reason(desc, res, e: Event, line) -> Refusal | None:
    """A `with` block whose manager changes what other iterations see when entered or
    left (`redirect_stdout(buf)`, `mock.patch(...)`) keeps its statement in order."""
    made_by = e.args[0] if e.args else None
    made_by_obj = res.resolve(made_by) if made_by is not None else None
    manager_obj = res.resolve(e.target) if made_by is None else None
    if made_by is not None and made_by.kind in ("global", "deref") and not made_by.chain:
        made_by_obj = res.resolve_root(made_by)
    if made_by_obj is None and manager_obj is None:
        return None
    try:
        found = effects.context_manager_effects(manager_obj, made_by_obj, res.env_for)
    except Exception:  # noqa: BLE001
        found = "could not be checked"
    if found:
        described = (made_by or e.target).describe()
        return Refusal("commit:ordered-callee", line, f"with {described}(): {found}")
    return None


def callee_effects(desc, res, e: Event, func) -> tuple:
    """(`effects.ordered_effects_in`, outputs, changes) for the Python function `func` called
    by event `e`, with its parameters bound to the arguments the analysis can name and
    marked shared where they receive objects other iterations see."""
    callee, env = e.target, desc.env
    bound = receiver.for_binding(res.receiver(callee))

    def resolve(value):
        obj = effects.UNKNOWN
        if value.kind in ("global", "deref") or (value.kind == "local" and value.name in env.arguments
                                                 and not desc.is_body_local(value.name)):
            try:
                obj = env.lookup(value.kind, value.name, value.chain)
            except Exception:  # noqa: BLE001
                obj = effects.UNKNOWN
        elif value.kind == "local" and not value.chain and not desc.is_body_local(value.name) and \
                value.name in res.constructed():
            # `rng = random.Random(0)` before the loop: its methods are its class's.
            obj = res.constructed()[value.name]
        return desc.may_be_shared(value), obj

    arguments, shared = effects.bind_call(func, e.args, effects.call_keywords(desc.items, e.index), resolve, bound)
    if bound is not None and not desc.may_be_shared(effects.receiver_of(callee)):
        shared = shared - {func.__code__.co_varnames[0]} if func.__code__.co_argcount else shared
    outputs: list = []
    changes: list = []
    found = effects.ordered_effects_in(func, effects.binding(res.env_for, func, arguments), shared_params=shared,
                                       outputs=outputs, changes=changes)
    return found, tuple(outputs), tuple(changes)


def opens_for_writing(desc, e: Event, obj) -> bool:
    """`open(path, "w")` and friends: creating or truncating a file changes the file system."""
    if obj is None or effects.qualified_name_or_empty(obj) not in ("builtins.open", "_io.open", "io.open"):
        return False
    for value in e.args:
        item = desc.items[value.start] if value.kind == "const" else None
        mode = item.arg if isinstance(item, Instr) and item.name == "LOAD_CONST" else None
        if isinstance(mode, str) and len(mode) <= 4 and set(mode) <= set("rwxabt+") and set(mode) & set("wax+"):
            return True
    return False
