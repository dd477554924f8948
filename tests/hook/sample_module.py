"""Undecorated user code for the auto-mode tests (imported before `xcs.enable()`)."""
import asyncio
import functools

from tests.corpus.probe import io


def fan_out(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


def keywords(a, b=2, *rest, c, d=4, **more):
    out = []
    for x in (a, b, c, d, *rest, *more.values()):
        out.append(io(x))
    return out


def make_closure(scale):
    def scaled(xs):
        out = []
        for x in xs:
            out.append(io(x) * scale)
        return out
    return scaled


class Client:
    def __init__(self, base):
        self.base = base

    def get_all(self, xs):
        out = []
        for x in xs:
            out.append(io(x) + self.base)
        return out


lambda_fan = lambda xs: [io(x) for x in xs]  # noqa: E731


def recursive(n):
    return n if n < 2 else recursive(n - 1) + recursive(n - 2)


def generator(xs):
    for x in xs:
        yield io(x)


async def coroutine(xs):
    await asyncio.sleep(0)
    return [io(x) for x in xs]


def failing(xs):
    out = []
    for x in xs:
        if x == 3:
            raise ValueError(f"bad {x}")
        out.append(io(x))
    return out


partial_fan = functools.partial(keywords, 1, c=3)


def nested_fan(depth, xs):
    """A function with a parallel loop that also recurses: its variant replaces a frame at
    every level, so replaced frames cross the interpreter's data-stack chunks."""
    if depth == 0:
        return fan_out(xs)
    out = []
    for x in xs:
        out.append(io(x))
    return nested_fan(depth - 1, xs) + out
