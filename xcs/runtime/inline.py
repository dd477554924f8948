"""`run_inline`: the sequential twin of `ordered_map`, with the identical protocol."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from xcs.runtime.tracebacks import hide, trimmed


def run_inline(body: Callable, iterable: Iterable, args: tuple = ()) -> Iterator[tuple]:
    """Run `body(item, *args)` for each item on the calling thread; yield its results in order.

    `iter(iterable)` is called at once (a non-iterable raises TypeError here, as a `for`
    statement would). Each `__next__` pulls one item and runs the body on it; nothing is
    pulled ahead. `body` runs in the caller's own context, exactly as the loop would.

    If `body` raises any exception `e` (`BaseException` included), the iterator yields the
    1-tuple `(e,)`, its traceback starting at `body`'s frame, and is then exhausted. If
    pulling from the iterable raises `e`, the same `(e,)` is yielded, then exhaustion;
    except `KeyboardInterrupt`, which propagates out of `__next__` at once.
    """
    return _inline(body, iter(iterable), args)


def _inline(body, it, args):
    """The generator behind `run_inline`, for an iterator already made."""
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - the iterable's failure is delivered as (e,)
            yield (trimmed(error),)
            return
        try:
            result = body(item, *args)
        except BaseException as error:  # noqa: BLE001 - the body's failure is delivered as (e,)
            yield (trimmed(error),)
            return
        yield result


hide(_inline)
