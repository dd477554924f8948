"""Views: a call result that shares state with a named object (an iterator over a file, a
response body's chunks, a reader's lines). Consuming the view in an in-order statement moves
the named object on, so work hoisted from a later statement that reads the same object must
not run before it (a worker would read what the in-order part was about to consume).

Found by the runtime work on streamed responses: `first = next(resp.iter_content(8));
pages.append(first + b"".join(resp.iter_content(8)))` raised StopIteration under `@xcs.jit`
(the join ran on the worker, before the in-order `next`, and emptied the body). Each row
compares with the plain function (`same`); the last rows prove loops without the hazard keep
their overlap.
"""
from __future__ import annotations

import io as text_io

from tests.hazards.harness import io, peak_of, same, slow


class Body:
    """A streamed response: chunks of its body, consumed once (as requests' `iter_content`)."""

    def __init__(self, k):
        self._data = f"item {k};" * 3
        self._at = 0

    def iter_content(self, n):
        while self._at < len(self._data):
            chunk = self._data[self._at:self._at + n]
            self._at += n
            yield chunk

    def read(self):
        rest, self._at = self._data[self._at:], len(self._data)
        return rest


def get(k):
    slow(k)
    return Body(k)


def next_then_join_nested(n):
    pages = []
    for k in range(n):
        resp = get(k)
        first = next(resp.iter_content(4))
        pages.append(first + "".join(resp.iter_content(4)))
    return pages


def next_through_a_local_view(n):
    pages = []
    for k in range(n):
        resp = get(k)
        chunks = resp.iter_content(4)
        first = next(chunks)
        pages.append((first, resp.read()))
    return pages


def next_of_iter_over_a_file(n):
    out = []
    for k in range(n):
        f = text_io.StringIO(f"head {k}\nbody {k}\n")
        slow(k)
        head = next(iter(f))
        out.append((head, f.read()))
    return out


def test_next_on_a_method_result_then_a_hoisted_join_of_the_same_receiver():
    same(next_then_join_nested, lambda: (8,))


def test_next_on_a_local_bound_to_a_view_then_a_read_of_the_receiver():
    same(next_through_a_local_view, lambda: (8,))


def test_next_of_iter_over_a_file_then_the_rest_of_the_file():
    same(next_of_iter_over_a_file, lambda: (8,))


# -------------------------------------------------------------------- still parallel

def get_gauged(k):
    io(k)
    return Body(k)


def whole_body_in_the_work(n):
    pages = []
    for k in range(n):
        resp = get_gauged(k)
        pages.append("".join(resp.iter_content(4)))
    return pages


def test_a_view_consumed_only_by_the_work_keeps_the_loop_parallel():
    fast = same(whole_body_in_the_work, lambda: (8,))
    result, peak = peak_of(fast, 8, overlap=4)
    assert result == whole_body_in_the_work(8) and peak >= 4
