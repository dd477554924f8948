"""Changed receivers: an object the loop body changes through a method, and what reads it.

Two wrong results found by trying the contract (issue 10, items 2, 3 and 5):

1. In a coroutine, an awaited method call kept for its effect (`await source.ack(y)`) was not
   counted as changing its receiver, as the same call is in a plain loop (`source.ack(y)`):
   the call ran in the task, and work reading the receiver (`len(source.acked)`) was hoisted
   ahead of it. An awaited call whose result is dropped is now read as the plain one is.
2. A `for` loop over a generator method of an object the body changes (`for x in
   src.lines(): ...; src.ack()`): pulling items ahead ran `lines()` before earlier
   iterations' `src.ack()`. The body's uses of the receiver are now uses of the iterable
   (`iterable_uses`), so such a loop is not pulled ahead (the loop-start pull check).

3. The same for a method call whose result is kept (`ok = source.ack(y)`, awaited or not):
   the call ran in order, but `len(source.acked)` of the next statement was hoisted ahead of
   it. A kept-result method call that must run in order now counts as changing its receiver.

Each row compares with the plain function; the last rows of each part prove that loops
without the hazard (a second object, not the changed or iterated one) keep their overlap.
"""
from __future__ import annotations

import asyncio
import re

import xcs
from tests.aio.gauge import measuring as aio_measuring
from tests.aio.gauge import wait
from tests.hazards.harness import io, peak_of, same, slow


# ------------------------------------------------------------ 1. awaited calls in order
class Source:
    """Acknowledges items; `acked` is what a later iteration reads."""

    def __init__(self):
        self.acked = []
        self.n = 0

    async def ack(self, y):
        await asyncio.sleep(0.001 * (4 - y % 4))
        self.acked.append(y)
        return True

    def ack_now(self, y):
        self.acked.append(y)
        return True

    async def count(self):
        await asyncio.sleep(0)
        self.n += 1


async def note(source, y):
    await asyncio.sleep(0.001 * (4 - y % 4))
    source.acked.append(y)


async def awaited_ack_then_read(source, ys):
    out = []
    for y in ys:
        await source.ack(y)                      # changes source
        out.append((y, len(source.acked)))
    return out


async def work_then_awaited_ack_then_read(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        await source.ack(z)
        out.append((z, len(source.acked)))
    return out


async def awaited_method_without_arguments(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        await source.count()
        out.append((z, source.n))
    return out


async def sync_ack_in_a_coroutine(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        source.ack_now(z)
        out.append((z, len(source.acked)))
    return out


async def attribute_store_in_a_coroutine(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        source.n += 1
        out.append((z, source.n))
    return out


async def passed_to_an_awaited_function(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        await note(source, z)
        out.append((z, len(source.acked)))
    return out


async def awaited_ack_read_by_the_next_awaited_call(source, ys):
    out = []
    for y in ys:
        await source.ack(y)
        z = await wait(len(source.acked), delay=0.001 * (8 - y % 8))
        out.append(z)
    return out


async def awaited_ack_with_its_result_kept(source, ys):
    out = []
    for y in ys:
        z = await wait(y, delay=0.001 * (8 - y % 8))
        ok = await source.ack(z)
        out.append((z, ok, len(source.acked)))
    return out


def ack_with_its_result_kept(source, ys):
    out = []
    for y in ys:
        z = slow(y)
        ok = source.ack_now(z)
        out.append((z, ok, len(source.acked)))
    return out


async def another_object_is_read(source, other, ys):
    out = []
    for y in ys:
        z = await wait(y)
        await source.ack(z)                      # changes source, not other
        out.append((z, len(other.acked)))
    return out


def same_async(fn, make_args, runs=2):
    """`same` for a coroutine function: the jitted coroutine's result and final arguments are
    the plain ones (twice: the first call decides, the second runs the decided code)."""
    args = make_args()
    expected = (asyncio.run(fn(*args)), [vars(a) if hasattr(a, "__dict__") else a for a in args])
    jitted = xcs.jit(fn)
    for n in range(runs):
        args = make_args()
        got = (asyncio.run(jitted(*args)), [vars(a) if hasattr(a, "__dict__") else a for a in args])
        assert got == expected, (f"run {n + 1}\nplain: {expected!r}\njit:   {got!r}\n"
                                 + "\n".join(map(str, xcs.explain(jitted))))
    return jitted


def test_an_awaited_method_call_changes_its_receiver_before_a_later_read():
    same_async(awaited_ack_then_read, lambda: (Source(), range(8)))


def test_an_awaited_method_call_after_parallel_work_changes_its_receiver():
    same_async(work_then_awaited_ack_then_read, lambda: (Source(), range(8)))


def test_an_awaited_method_call_without_arguments_changes_its_receiver():
    same_async(awaited_method_without_arguments, lambda: (Source(), range(8)))


def test_a_plain_method_call_in_a_coroutine_changes_its_receiver():
    same_async(sync_ack_in_a_coroutine, lambda: (Source(), range(8)))


def test_an_attribute_store_in_a_coroutine_is_read_after_it():
    same_async(attribute_store_in_a_coroutine, lambda: (Source(), range(8)))


def test_an_object_passed_to_an_awaited_function_is_read_after_it():
    same_async(passed_to_an_awaited_function, lambda: (Source(), range(8)))


def test_an_awaited_call_reading_the_changed_receiver_runs_after_the_change():
    same_async(awaited_ack_read_by_the_next_awaited_call, lambda: (Source(), range(8)))


def test_an_awaited_method_call_whose_result_is_kept_changes_its_receiver():
    same_async(awaited_ack_with_its_result_kept, lambda: (Source(), range(8)))


def test_a_method_call_whose_result_is_kept_changes_its_receiver():
    """The same in a plain loop: `ok = source.ack_now(z)` runs in order (its method changes
    `self`); `len(source.acked)` of the next statement must not be hoisted ahead of it."""
    same(ack_with_its_result_kept, lambda: (Source(), range(8)))


def test_a_second_object_the_in_order_part_does_not_change_keeps_the_tasks_overlapping():
    other = Source()
    other.acked.extend("abc")
    jitted = same_async(another_object_is_read, lambda: (Source(), other, range(12)))
    with aio_measuring() as gauge:
        got = asyncio.run(jitted(Source(), other, range(12)))
    assert got == asyncio.run(another_object_is_read(Source(), other, range(12)))
    assert gauge["peak"] >= 2, "the iterations never overlapped"


# ------------------------------------------------- 2. generator methods of a changed object
class Lines:
    """A source whose generator method reads its own state as it yields (a cursor that
    moves on acknowledgements, a queue whose items depend on what was done)."""

    def __init__(self, n=8):
        self.size = n
        self.acked = []
        self.n = 0

    def lines(self):
        for k in range(self.size):
            yield k, len(self.acked), self.n

    def ack(self):
        self.acked.append(1)

    def __iter__(self):
        return self.lines()


class Holder:
    def __init__(self, n=8):
        self.src = Lines(n)


def bump(src):
    src.n += 1


def ack_through_a_method(src):
    out = []
    for k, acked, _ in src.lines():
        r = slow(k)
        src.ack()
        out.append((r, acked))
    return out


def attribute_store(src):
    out = []
    for k, _, n in src.lines():
        r = slow(k)
        src.n += 1
        out.append((r, n))
    return out


def passed_to_a_function(src):
    out = []
    for k, _, n in src.lines():
        r = slow(k)
        bump(src)
        out.append((r, n))
    return out


def nested_receiver(holder):
    out = []
    for k, acked, _ in holder.src.lines():
        r = slow(k)
        holder.src.ack()
        out.append((r, acked))
    return out


def receiver_of_the_class_iterator(src):
    out = []
    for k, acked, _ in src:
        r = slow(k)
        src.ack()
        out.append((r, acked))
    return out


def generator_method_of_self(src):
    return Worker(src).run()


class Worker:
    def __init__(self, src):
        self.src = src
        self.done = 0

    def items(self):
        for k in range(self.src.size):
            yield k, self.done

    def run(self):
        out = []
        for k, done in self.items():
            r = slow(k)
            self.done += 1
            out.append((r, done))
        return out


def another_object_is_changed(src, other):
    out = []
    for k, acked, _ in src.lines():
        r = io(k)
        other.ack()                              # changes other, not the iterated src
        out.append((r, acked))
    return out


def test_a_generator_method_of_an_object_the_body_calls_is_not_pulled_ahead():
    jitted = same(ack_through_a_method, lambda: (Lines(),))
    text = "\n".join(map(str, xcs.explain(jitted)))
    assert "uses `src.ack`, which the iterable reads from" in text and "hint:" in text, text


def test_a_generator_method_of_an_object_the_body_stores_into_is_not_pulled_ahead():
    same(attribute_store, lambda: (Lines(),))


def test_a_generator_method_of_an_object_passed_to_a_function_is_not_pulled_ahead():
    same(passed_to_a_function, lambda: (Lines(),))


def test_a_generator_method_of_a_nested_receiver_is_not_pulled_ahead():
    same(nested_receiver, lambda: (Holder(),))


def test_a_class_iterator_whose_object_the_body_calls_is_not_pulled_ahead():
    same(receiver_of_the_class_iterator, lambda: (Lines(),))


def test_a_generator_method_of_self_whose_attribute_the_body_stores_is_not_pulled_ahead():
    same(generator_method_of_self, lambda: (Lines(),))


def test_a_generator_method_of_an_object_the_body_does_not_touch_stays_parallel():
    jitted = same(another_object_is_changed, lambda: (Lines(12), Lines()))
    result, peak = peak_of(jitted, Lines(12), Lines(), overlap=4)
    assert result == another_object_is_changed(Lines(12), Lines())
    assert peak >= 4


def matches_of_a_module_function(text):
    out = []
    for m in re.finditer(r"\d", text):           # a module's function: `re` is no receiver
        r = io(m.group())
        out.append(re.sub("0", "o", r))
    return out


def test_a_module_function_in_the_iterable_is_no_receiver_and_stays_parallel():
    jitted = same(matches_of_a_module_function, lambda: ("a1b2c3d4e5f6g7h8",))
    result, peak = peak_of(jitted, "a1b2c3d4e5f6g7h8", overlap=4)
    assert result == matches_of_a_module_function("a1b2c3d4e5f6g7h8")
    assert peak >= 4
