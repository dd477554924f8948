"""The registry: built-in classes by name, user registrations, and names of C callables."""
from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

import xcs
from xcs.evidence import registry
from xcs.evidence.names import public_name, qualified_name


@pytest.fixture
def sockets():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def conn():
    c = sqlite3.connect(":memory:")
    yield c
    c.close()


def test_blocking_builtins(sockets):
    a, _ = sockets
    for fn in (time.sleep, a.recv, a.recv_into, a.sendall, socket.socket.connect, os.read, subprocess.run,
               socket.getaddrinfo):
        assert registry.classify(fn) == registry.BLOCKING, qualified_name(fn)


def test_client_libraries_by_module_prefix():
    assert registry.classify_name("requests.api.get") == registry.BLOCKING
    assert registry.classify_name("openai._client.OpenAI.chat.completions.create") == registry.BLOCKING
    assert registry.classify_name("anthropic.resources.messages.Messages.create") == registry.BLOCKING
    assert registry.classify_name("http.client.HTTPConnection.getresponse") == registry.BLOCKING
    assert registry.classify_name("requestsx.get") is None   # a prefix is a whole dotted component


def test_thread_affine(conn):
    assert registry.classify(conn.execute) == registry.THREAD_AFFINE
    assert registry.classify(conn) == registry.THREAD_AFFINE
    assert registry.classify(conn.cursor()) == registry.THREAD_AFFINE
    assert registry.classify(sqlite3.Connection.execute) == registry.THREAD_AFFINE


def test_ordered_output():
    assert registry.is_ordered(print)
    assert registry.is_ordered(sys.__stdout__.write)
    assert registry.is_ordered(logging.getLogger("xcs.tests").info)
    assert not registry.is_ordered(len)
    assert registry.classify(len) is None


def test_c_module_names_map_to_public_modules(sockets):
    assert qualified_name(sockets[0].recv_into) == "_socket.socket.recv_into"
    assert public_name("_socket.socket.recv_into") == "socket.socket.recv_into"
    assert public_name(qualified_name(os.read)) == "os.read"


def test_io_decorator_returns_the_function_and_registers_it():
    def fetch(url):
        return url

    assert xcs.io(fetch) is fetch
    assert registry.is_blocking(fetch)
    assert registry.classify_code(fetch.__code__) == registry.BLOCKING


def test_register_blocking_by_name_and_method():
    class Remote:
        def call(self):
            return 1

    xcs.register_blocking(Remote.call)
    assert registry.is_blocking(Remote().call)
    name = f"{__name__}.some_module_function_{id(Remote)}"
    assert registry.classify_name(name) is None
    assert xcs.register_blocking(name) == name
    assert registry.classify_name(name) == registry.BLOCKING


def test_register_thread_affine_class_covers_instances_and_methods():
    class Widget:
        def draw(self):
            return None

    before = registry.version()
    xcs.register_thread_affine(Widget)
    assert registry.version() != before
    assert registry.is_thread_affine(Widget())
    assert registry.is_thread_affine(Widget().draw)


def test_register_ordered():
    def emit(x):
        return x

    registry.register_ordered(emit)
    assert registry.is_ordered(emit)


def test_register_rejects_nonsense():
    with pytest.raises(TypeError):
        xcs.register_blocking(42)
    with pytest.raises(ValueError):
        xcs.register_blocking("module.")


def test_exports():
    for name in ("io", "register_blocking", "register_thread_affine"):
        assert callable(getattr(xcs, name))


def test_subclass_of_a_thread_affine_class_is_thread_affine():
    class AuditedConnection(sqlite3.Connection):
        pass

    c = sqlite3.connect(":memory:", factory=AuditedConnection)
    try:
        assert registry.is_thread_affine(c)
        assert registry.is_thread_affine(c.execute)
        assert registry.classify_type(AuditedConnection) == registry.THREAD_AFFINE
    finally:
        c.close()
