"""Static evidence on hand-written loop bodies: `body(item, *inputs)` functions."""
from __future__ import annotations

import functools
import socket
import sqlite3
import time

from xcs.evidence import registry
from xcs.api.words import decision_words
from xcs.evidence.decision import Grounds, from_static
from xcs.evidence.static import scan_body, scan_function


def names(findings):
    return [f.name for f in findings]


def sleepy(x):
    time.sleep(0.001)
    return x


def two_levels(x):
    return sleepy(x) + 1


def three_levels(x):
    return two_levels(x)


def pure(x):
    return sum(i * i for i in range(x))


class Client:
    """A stand-in for a client object held in a global: methods call the network."""

    def __init__(self):
        self.sock = None

    def fetch(self, x):
        return socket.getaddrinfo("localhost", x)


CLIENT = Client()
CONN = sqlite3.connect(":memory:", check_same_thread=True)


def test_global_function_reaching_sleep_through_python_calls():
    def body(item):
        return (None, three_levels(item))

    evidence = scan_body(body)
    assert names(evidence.blocking) == ["time.sleep"]
    assert evidence.blocking[0].via == f"{__name__}.three_levels"   # what the body called
    decision = from_static(evidence)
    assert decision.parallel and decision.grounds is Grounds.BLOCKING and "time.sleep" in decision_words(decision)


def test_module_attribute_chain():
    def body(item):
        time.sleep(item)
        return (None,)

    assert names(scan_body(body).blocking) == ["time.sleep"]


def test_method_of_a_global_object_is_followed_into_its_code():
    def body(item):
        return (None, CLIENT.fetch(item))

    assert "socket.getaddrinfo" in names(scan_body(body).blocking)


def test_closure_cells_and_inputs_are_resolved():
    nap = time.sleep

    def body(item, conn):
        nap(item)
        return (None, conn.execute("select 1"))

    evidence = scan_body(body, (CONN,))
    assert names(evidence.blocking) == ["time.sleep"]
    assert names(evidence.thread_affine) == ["sqlite3.Connection.execute"]
    decision = from_static(evidence)
    assert not decision.parallel and decision_words(decision).startswith("thread-affine: `sqlite3.Connection.execute`")


def test_self_attribute_chain_through_an_input():
    class Service:
        def __init__(self):
            self.db = CONN

    def body(item, self):
        return (None, self.db.execute("select ?", (item,)))

    assert names(scan_body(body, (Service(),)).thread_affine) == ["sqlite3.Connection.execute"]


def test_unresolvable_chain_is_named_after_the_last_class_reached():
    class OpenAILike:
        @property
        def chat(self):
            raise AssertionError("the scan must not run properties")

    OpenAILike.__module__ = "openai._client"
    OpenAILike.__qualname__ = "OpenAI"

    def body(item, client):
        return (None, client.chat.completions.create(messages=[item]))

    evidence = scan_body(body, (OpenAILike(),))
    assert names(evidence.blocking) == ["openai._client.OpenAI.chat.completions.create"]


def test_ordered_output_in_a_called_function():
    import warnings

    def shout(x):
        warnings.warn(str(x))

    def body(item):
        shout(item)
        return (None,)

    decision = from_static(scan_body(body))
    assert not decision.parallel and decision.grounds is Grounds.ORDERED and "warnings.warn" in decision_words(decision)


def test_captured_output_in_a_called_function_is_no_reason_to_stay_in_order():
    def shout(x):
        print(x)

    def body(item):
        shout(item)
        return (None,)

    evidence = scan_body(body)
    assert any(f.name == "builtins.print" for f in evidence.ordered)
    decision = from_static(evidence)
    assert decision is None or decision.parallel


def test_no_evidence_means_probe():
    def body(item):
        return (None, pure(item), item.predict())

    evidence = scan_body(body)
    assert evidence.blocking == evidence.thread_affine == evidence.ordered == ()
    assert from_static(evidence) is None


def test_depth_is_bounded():
    def four_levels(x):
        return three_levels(x)

    def five_levels(x):
        return four_levels(x)

    def body(item):
        return (None, five_levels(item))

    # body -> five -> four -> three -> two -> sleepy -> time.sleep is too deep to see.
    assert scan_body(body).blocking == ()


def test_registered_user_function_and_partial():
    def custom_wait(x):
        return x

    registry.register_blocking(custom_wait)
    wait = functools.partial(custom_wait, 1)

    def body(item):
        return (None, wait())

    assert names(scan_body(body).blocking) == [f"{__name__}.{custom_wait.__qualname__}"]


def test_scan_function_and_nested_code():
    def outer(xs):
        return [time.sleep(x) for x in xs]

    assert names(scan_function(outer).blocking) == ["time.sleep"]
