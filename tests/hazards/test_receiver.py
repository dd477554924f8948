"""The one rule for what a call passes before its written arguments (`xcs.analysis.receiver`),
used by the split, the effect walker and the read-set walker alike."""
from __future__ import annotations

import json
import os

from xcs.analysis.receiver import NO_RECEIVER, UNKNOWN_RECEIVER, UNRESOLVED, call_receiver, for_binding
from xcs.analysis.stack import Value


class Client:
    def get(self, url):
        return url

    @classmethod
    def make(cls):
        return cls()

    @staticmethod
    def helper(x):
        return x


class Holder:
    def __init__(self):
        self.client = Client()


def callee(kind, name, *chain):
    return Value(kind, 0, name, tuple(chain))


def test_plain_name_has_no_receiver():
    assert call_receiver(callee("global", "fetch"), print) is NO_RECEIVER


def test_module_function_has_no_receiver():
    assert call_receiver(callee("global", "json", "loads"), json) is NO_RECEIVER
    assert call_receiver(callee("global", "os", "path", "join"), os) is NO_RECEIVER


def test_method_of_an_object_a_module_holds_is_bound_to_it():
    assert call_receiver(callee("global", "os", "environ", "get"), os) is os.environ


def test_method_of_a_known_object_is_bound_to_it():
    holder = Holder()
    assert call_receiver(callee("local", "self", "client", "get"), holder) is holder.client
    assert call_receiver(callee("local", "c", "get"), holder.client) is holder.client


def test_function_read_from_a_class_has_no_receiver_but_a_classmethod_has_its_class():
    assert call_receiver(callee("global", "Client", "get"), Client) is NO_RECEIVER
    assert call_receiver(callee("global", "Client", "make"), Client) is Client


def test_staticmethod_has_no_receiver_even_on_an_instance():
    assert call_receiver(callee("local", "c", "helper"), Client()) is NO_RECEIVER


def test_unresolved_root_or_a_call_result_is_an_unknown_receiver():
    assert call_receiver(callee("local", "page", "read")) is UNKNOWN_RECEIVER
    assert call_receiver(callee("local", "page", "read"), UNRESOLVED) is UNKNOWN_RECEIVER
    assert call_receiver(Value("call", 0, "", ("json",))) is UNKNOWN_RECEIVER
    assert call_receiver(callee("local", "self", "missing", "get"), Holder()) is UNKNOWN_RECEIVER


def test_for_binding_speaks_bind_calls_language():
    c = Client()
    assert for_binding(NO_RECEIVER) is None
    assert for_binding(UNKNOWN_RECEIVER) is ...
    assert for_binding(c) is c
