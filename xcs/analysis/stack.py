"""Symbolic stack simulation: which expression produced each value an instruction consumes.

Each stack slot holds a `Value`: where its expression starts (item index), what it is rooted
at (a local, a global, a free variable, a fresh object, ...) and the attribute chain read
from that root. The analysis uses it to name the receiver of a mutation and the callee of a
call, and to find argument expressions that can be hoisted.
"""
from __future__ import annotations

from dataclasses import dataclass

from bytecode import Instr, Label, TryBegin

from xcs import pyversion

CALL_OPS = set(pyversion.CALLS)
FRESH_OPS = {"BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_TUPLE", "BUILD_STRING", "BUILD_SLICE",
             "BUILD_CONST_KEY_MAP", "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE",
             "MAKE_FUNCTION", *pyversion.FORMATS}
OWN_KINDS = {"const", "fresh", "call"}   # values that are no object other iterations see


@dataclass(frozen=True)
class Value:
    """One simulated stack slot.

    kind: "local" | "global" | "deref" | "const" | "fresh" | "null" | "self" | "call" | "value".
    "call" is also the result of a binary operator on such values (a call of its dunder).
    """

    kind: str
    start: int
    name: str = ""
    chain: tuple = ()
    calls: bool = False
    method: bool = False
    # A call result: the named objects it may be a view of ((kind, name, chain) each) — the
    # receiver of a method call (`resp.iter_content(8)` over `resp`), the named arguments of
    # a function call (`iter(f)`): consuming the result may move their state on.
    over: tuple = ()

    def describe(self) -> str:
        """The expression as the user wrote it, as far as it is known (`self.session.get`,
        `d['k'].append`)."""
        base = self.name or {"fresh": "<new object>", "call": "<call result>"}.get(self.kind, "<value>")
        return render(base, self.chain)


def render(name: str, chain: tuple) -> str:
    """`name` followed by its attribute/subscript chain as Python spells it."""
    return name + "".join(e if e.startswith("[") else "." + e for e in chain)


ANY_KEY = "[?]"   # a subscript whose key is not a constant: it may be any element


def subscript_element(items: list, key: "Value") -> str:
    """The chain element for `container[key]`: `['k']` for a constant str/int key, else ANY_KEY."""
    if key.kind == "const":
        instr = items[key.start]
        if isinstance(instr, Instr) and instr.name == "LOAD_CONST" and type(instr.arg) in (str, int):
            return f"[{instr.arg!r}]"
    return ANY_KEY


def up_to_any_key(chain: tuple) -> tuple:
    """The part of an element chain that is known for certain: up to the first ANY_KEY."""
    return chain[:chain.index(ANY_KEY)] if ANY_KEY in chain else chain


@dataclass(frozen=True)
class Event:
    """Something an instruction does that matters for the split.

    op: "store-local" (value in `target`, the local's name in `args`), "store-cell" (the same
        for a cell or free variable),
        "call" (callee in `target`, args in `args`, `discarded` when the result is popped),
        "store-attr" / "store-subscr" / "delete-attr" / "delete-subscr" (receiver in `target`),
        "inplace" (left operand in `target`, right in `args`), "append" (LIST_APPEND and
        friends: the comprehension's container in `target`, the added values in `args`),
        "enter" (a `with` block's manager in `target`; the callee that made it in `args`).
    """

    op: str
    index: int
    target: Value | None = None
    args: tuple = ()
    discarded: bool = False


NAMED_KINDS = ("local", "global", "deref")


def _over(callee: Value, args) -> tuple:
    """`Value.over` of the result of calling `callee` with `args`."""
    if callee.kind in NAMED_KINDS and callee.chain:
        return ((callee.kind, callee.name, callee.chain[:-1]),) + callee.over
    found = callee.over
    for a in args:
        if a.kind in NAMED_KINDS:
            found += ((a.kind, a.name, a.chain),)
        elif a.over:
            found += a.over
    return found[:8]


def _combine(values, index, calls=False) -> Value:
    start = min((v.start for v in values), default=index)
    return Value("value", start, calls=calls or any(v.calls for v in values))


def simulate(items: list, start: int, stop: int, entry_depth: int, handler_depths: dict) -> list[Event]:
    """Walk items[start:stop] and return the events, in order.

    `entry_depth` slots are on the stack at `start` (unknown values); `handler_depths` maps an
    exception handler's label to its entry depth. Branches restore the stack saved at the jump.
    """
    stack = [Value("value", -1)] * entry_depth
    saved: dict = {}
    events: list[Event] = []
    live = True
    for i in range(start, stop):
        item = items[i]
        if isinstance(item, Label):
            if item in saved:
                if not live or len(saved[item]) != len(stack):
                    stack = list(saved[item])
                live = True
            elif item in handler_depths:
                stack = [Value("value", -1)] * handler_depths[item]
                live = True
            continue
        if not isinstance(item, Instr):
            continue
        if not live:
            stack = [Value("value", -1)] * max(len(stack), 0)
            live = True
        _step(item, i, stack, events, items)
        if isinstance(item.arg, Label):
            # The stack at the target: what this instruction leaves when it jumps.
            effect = item.stack_effect(jump=True) - item.stack_effect(jump=False)
            target_stack = list(stack) + [Value("value", i)] * max(effect, 0)
            if effect < 0:
                target_stack = target_stack[:effect]
            saved.setdefault(item.arg, target_stack)
        if item.name in pyversion.UNCONDITIONAL_JUMPS or item.name in pyversion.TERMINATORS:
            live = False
    return events


def _step(instr: Instr, i: int, stack: list, events: list, items: list) -> None:
    name = instr.name
    if name == "SWAP":
        n = instr.arg
        stack[-1], stack[-n] = stack[-n], stack[-1]
        return
    if name == "COPY":
        stack.append(stack[-instr.arg])
        return
    if name in ("LIST_APPEND", "SET_ADD", "MAP_ADD"):
        n = 2 if name == "MAP_ADD" else 1
        args = tuple(stack[-n:])
        del stack[-n:]
        events.append(Event("append", i, target=stack[-instr.arg], args=args))
        return
    if name in pyversion.LOCAL_LOADS:
        is_cell = not isinstance(instr.arg, str)  # 3.13 loads closure cells with LOAD_FAST
        stack.append(Value("deref" if is_cell else "local", i, pyversion.deref_name(instr.arg)))
        return
    if name == "STORE_FAST" and stack:
        events.append(Event("store-local", i, target=stack.pop(), args=(instr.arg,)))
        return
    if name == "LOAD_GLOBAL":
        value = Value("global", i, pyversion.global_name(instr))
        if isinstance(instr.arg, tuple) and instr.arg[0]:
            pair = [Value("null", i), value] if pyversion.PY < (3, 13) else [value, Value("null", i)]
            stack.extend(pair)
        else:
            stack.append(value)
        return
    if name == "STORE_DEREF" and stack:
        events.append(Event("store-cell", i, target=stack.pop(), args=(pyversion.deref_name(instr.arg),)))
        return
    if name in pyversion.DEREF_LOADS:
        stack.append(Value("deref", i, pyversion.deref_name(instr.arg)))
        return
    if name == "LOAD_CONST":
        stack.append(Value("const", i))
        return
    if name == "PUSH_NULL":
        stack.append(Value("null", i))
        return
    if name in pyversion.ATTR_LOADS:
        base = stack.pop()
        attr = Value(base.kind, base.start, base.name, base.chain + (pyversion.attr_name(instr),),
                     base.calls, method=pyversion.is_method_load(instr))
        if attr.method:
            stack.extend([attr, Value("self", base.start)])
        else:
            stack.append(attr)
        return
    if name in pyversion.CALL_PREFIXES:  # 3.11/3.12: no stack change the simulation cares about
        return
    if name in CALL_OPS:
        if name == "CALL_FUNCTION_EX":
            pops = 3 + (instr.arg & 1)
        else:
            pops = instr.arg + (3 if name in pyversion.KEYWORD_CALLS else 2)
        popped = stack[len(stack) - pops:]
        del stack[len(stack) - pops:]
        pair, args = popped[:2], popped[2:]
        if name in pyversion.KEYWORD_CALLS:
            args = args[:-1]
        callee = next((v for v in pair if v.kind not in ("null", "self")), pair[0])
        discarded = _next_is_pop(items, i)
        events.append(Event("call", i, target=callee, args=tuple(args), discarded=discarded))
        stack.append(Value("call", min(v.start for v in popped), calls=True, over=_over(callee, args)))
        return
    if name in ("STORE_ATTR", "DELETE_ATTR"):
        target = stack.pop()
        args = (stack.pop(),) if name == "STORE_ATTR" else ()
        events.append(Event(name.lower().replace("_", "-"), i, target=target, args=args))
        return
    if name == "BINARY_SUBSCR":
        # `d['k']` keeps its root: a change to it is a change to (an element of) `d`.
        key, container = stack.pop(), stack.pop()
        element = subscript_element(items, key)
        if container.kind in ("local", "global", "deref"):
            stack.append(Value(container.kind, container.start, container.name, container.chain + (element,),
                               container.calls or key.calls))
        else:
            stack.append(_combine([container, key], i))
        return
    if name in ("BEFORE_WITH", "BEFORE_ASYNC_WITH"):
        # `with m as v`: __enter__ usually returns m itself (files, responses, sessions), so
        # v is as shared as m is; the result counts as a call's.
        manager = stack.pop()
        made_by = events[-1].target if events and events[-1].op == "call" and events[-1].index == i - 1 else None
        events.append(Event("enter", i, target=manager, args=(made_by,) if made_by is not None else ()))
        entered = Value(manager.kind, manager.start, manager.name, manager.chain, calls=True)
        stack.extend([manager, entered])
        return
    if name in ("STORE_SUBSCR", "DELETE_SUBSCR"):
        key, container = stack.pop(), stack.pop()
        args = (stack.pop(), key) if name == "STORE_SUBSCR" else (key,)
        events.append(Event(name.lower().replace("_", "-"), i, target=container, args=args))
        return
    if name == "BINARY_OP" and pyversion.inplace_binary(instr):
        right, left = stack.pop(), stack.pop()
        events.append(Event("inplace", i, target=left, args=(right,)))
        stack.append(_combine([left, right], i))
        return
    if name == "BINARY_OP" and all(v.kind in OWN_KINDS for v in stack[-2:]):
        # `'"' + fetch(x) + '"'`: an operator on constants, new objects and call results gives
        # the iteration's own value, like a call does; an operand that may be shared may come
        # back (a user `__add__` returning self), so those results stay unknown values.
        right, left = stack.pop(), stack.pop()
        stack.append(Value("call", min(left.start, right.start), calls=left.calls or right.calls))
        return
    pre, post = instr.pre_and_post_stack_effect(jump=False)
    pops, pushes = (-pre, post) if pre < 0 else (0, pre + post)
    popped = stack[len(stack) - pops:] if pops else []
    if pops:
        del stack[len(stack) - pops:]
    if name in FRESH_OPS:
        result = Value("fresh", min((v.start for v in popped), default=i),
                       calls=any(v.calls for v in popped))
        stack.extend([result] * pushes)
    elif pushes:
        stack.extend([_combine(popped, i)] * pushes)


def _next_is_pop(items: list, i: int) -> bool:
    user = result_user(items, i)
    return user is not None and user.name == "POP_TOP"


# What an `await` of a value on the stack runs (3.11-3.13): GET_AWAITABLE, then the SEND loop
# (its labels and, 3.12+, the try markers around YIELD_VALUE), then END_SEND (3.12+).
AWAIT_SEQUENCE = pyversion.AWAIT_STEPS | {"LOAD_CONST", "RESUME", "JUMP_BACKWARD_NO_INTERRUPT"}


def result_user(items: list, i: int):
    """The instruction that takes the value items[i] leaves on the stack, looking through an
    `await` of it (`await source.ack(y)` drops the awaited result as `source.ack(y)` drops
    the call's), or None when a label or a try marker comes first."""
    awaited = False
    for j in range(i + 1, len(items)):   # not items[i + 1:]: a copy per call is quadratic
        item = items[j]
        if isinstance(item, Instr):
            if not awaited and item.name == "GET_AWAITABLE":
                awaited = True
                continue
            if awaited and item.name in AWAIT_SEQUENCE and \
                    (item.name != "LOAD_CONST" or item.arg is None):
                continue
            return item
        if not awaited:
            return None
    return None
