"""Fixtures of the runtime tests."""
from __future__ import annotations

import signal

import pytest


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler for the test, as an interactive `python` has.

    `_thread.interrupt_main()` (how these tests press Ctrl-C) does nothing when SIGINT is
    ignored, which a shell gives a process started in the background (`cmd &`, nohup): then
    no KeyboardInterrupt would reach the calling thread, the test would fail, and the
    iterations it left waiting would hold pool threads for the tests after it."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
