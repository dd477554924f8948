"""Turns: the OpenMP `ordered` rule for iterations of an `ordered_map` running on workers.

Iteration k of a loop *has the turn* once every earlier iteration has finished, its result
has been yielded, and the calling thread came back for k (the loop's in-order "commit"
parts of 0..k-1 ran). `take_turn()`, called on a worker running iteration k, blocks until
then; the rest of the iteration runs while the calling thread waits for it, so in order.
The audit hook installed here makes file-system and process-wide effects turn points.

State is one thread-local: `_state.iteration` is the iteration this worker runs *without*
the turn (None elsewhere), so `take_turn()` and `in_iteration()` cost one lookup off a
worker, and `_state.owner` is the loop whose iteration this worker runs *with* the turn.
"""
from __future__ import annotations

import os
import sys
import threading


class Abandoned(BaseException):
    """Raised inside a body waiting for (or asking for) a turn that will never come.

    The loop was abandoned: an earlier iteration failed, the iterable failed, the consumer
    closed the iterator, or KeyboardInterrupt reached the calling thread. It unwinds the
    body (its `finally` blocks run) and is never delivered by `ordered_map`: an abandoned
    iteration's result is never yielded. A BaseException, so `except Exception` in the body
    does not swallow it.
    """


class _State(threading.local):
    iteration = None  # the _Iteration this worker runs without the turn: output is captured
    owner = None      # the _Loop whose iteration this worker runs with the turn


_state = _State()


class _Loop:
    """What the workers of one `ordered_map` share with its calling thread."""

    __slots__ = ("lock", "turn", "abandoned", "caller")

    def __init__(self, caller):
        self.lock = threading.Lock()
        self.turn = -1            # the index the calling thread last came back for
        self.abandoned = False
        self.caller = caller      # (ident, name, asyncio task name) of the calling thread

    def grant(self, iteration) -> None:
        """Calling thread: it came back for `iteration`, which now has the turn."""
        with self.lock:
            self.turn = iteration.index
            event = iteration.event
        if event is not None:
            event.set()

    def abandon(self, iterations) -> None:
        """Calling thread: no iteration of this loop will get the turn; wake those waiting."""
        with self.lock:
            self.abandoned = True
            events = [it.event for it in iterations if it.event is not None]
        for event in events:
            event.set()


class _Iteration:
    """One iteration of a loop: its index, its captured output, its wait for the turn."""

    __slots__ = ("loop", "index", "buffer", "event")

    def __init__(self, loop, index):
        self.loop = loop
        self.index = index
        self.buffer = None  # [(kind, payload), ...] captured while running without the turn
        self.event = None   # set by the calling thread when the turn comes (made on demand)


def take_turn() -> None:
    """Block until the iteration running on this thread has the turn; then return.

    On a worker thread running an iteration of an `ordered_map` (at any depth of calls
    below the body, nested inline loops included), this waits until every earlier
    iteration finished, was yielded, and the calling thread came back for this one. It then
    writes out the output the iteration captured so far (see `ordered_map`) and stops
    capturing: the rest of the iteration runs in order, its output going straight through.
    Anywhere else (the calling thread, a thread not running an iteration, an iteration that
    already has the turn, `run_inline`, an iteration the calling thread runs itself) it
    returns at once, after one thread-local lookup.

    Raises `Abandoned` if the loop is abandoned before the turn comes or already was.

    A body must not hold a lock that an earlier iteration may need when it takes the turn
    (explicitly or at an effect of `TURN_EVENTS`): the earlier iteration would wait for the
    lock and this one for the earlier iteration. Sequential code cannot deadlock there.
    """
    iteration = _state.iteration
    if iteration is not None:
        _take(iteration)


def in_iteration() -> bool:
    """True on a worker running an iteration of an `ordered_map` that does not have the turn."""
    return _state.iteration is not None


def take_turn_or_wait(register) -> bool:
    """Take the turn if it has come; else wait until it comes or someone wakes this thread.

    On a worker running an iteration without the turn: if the turn has come, take it (as
    `take_turn`) and return True. Otherwise call `register(event)` with the Event the
    calling thread sets when the turn comes — whoever else may end the wait sets it too
    (`register` may set it at once) — wait for it, then take the turn and return True if it
    came, or return False (the iteration still runs without the turn). Anywhere else it
    returns True at once. Raises `Abandoned` as `take_turn` does.
    """
    iteration = _state.iteration
    if iteration is None:
        return True
    loop = iteration.loop
    with loop.lock:
        if loop.abandoned:
            raise Abandoned
        event = None if loop.turn >= iteration.index else threading.Event()
        if event is not None:
            iteration.event = event
    if event is not None:
        register(event)
        _wait(event)
        with loop.lock:
            if loop.abandoned:
                raise Abandoned
            if loop.turn < iteration.index:
                return False
    _take(iteration)
    return True


waiting: set = set()   # idents of the threads waiting for their turn (xcs.runtime.hosts reads it)
on_wait: list = []     # called before a thread waits for its turn (hosts: re-check its slot waits)


def _wait(event) -> None:
    # Unbounded: the calling thread sets the event when the turn comes and when it
    # abandons the loop (KeyboardInterrupt, close, failure, garbage collection).
    ident = threading.get_ident()
    waiting.add(ident)
    for listener in on_wait:
        listener()
    try:
        event.wait()
    finally:
        waiting.discard(ident)


def _take(iteration) -> None:
    loop = iteration.loop
    with loop.lock:
        if loop.abandoned:
            raise Abandoned
        if loop.turn < iteration.index:
            event = iteration.event = threading.Event()
        else:
            event = None
    if event is not None:
        _wait(event)
        if loop.abandoned:
            raise Abandoned
    _state.iteration = None
    _state.owner = loop
    buffer = iteration.buffer
    if buffer:
        iteration.buffer = None
        from xcs.runtime.capture import replay
        replay(buffer)


# --- audit events that are turn points -------------------------------------------------
# Event names as CPython 3.11-3.13 raise them (checked by calling each function under a
# hook): os.unlink raises "os.remove", os.replace "os.rename", os.lchown "os.chown",
# os.ftruncate "os.truncate", os.environ assignment "os.putenv"/"os.unsetenv",
# os.makedirs "os.mkdir" per level. "open" carries (path, mode, flags): mode is None for
# os.open, and the flags always hold the real O_* bits.
TURN_EVENTS = frozenset({
    "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chdir", "os.chmod", "os.chown",
    "os.link", "os.symlink", "os.truncate", "os.utime", "os.putenv", "os.unsetenv",
    "os.chflags", "os.lchflags", "os.kill", "os.killpg", "os.system", "os.exec",
    "os.fork", "os.forkpty", "os.setxattr", "os.removexattr",
    "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
    "shutil.move", "shutil.chown", "signal.pthread_kill",
    "builtins.input",   # reads the shared sys.stdin (and writes its prompt)
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_MODE_CHARS = frozenset("wax+")
_hook_installed = False
_hook_lock = threading.Lock()


def _audit(event, args):
    # Runs for every audit event of the process, on every thread: off an iteration
    # without the turn it must cost one thread-local lookup and nothing else.
    if _state.iteration is None:
        return
    if event == "open":
        if _writes(args) and not _internal(args):
            take_turn()
    elif event in TURN_EVENTS and not _internal(args):
        take_turn()


# Effects no program can observe, made by library code that typically holds a lock while
# making them: waiting for the turn there would deadlock with an earlier iteration waiting
# for the same lock (3.11's functools.cached_property lock around platform.processor(),
# which runs a subprocess that opens os.devnull; a module's import lock around writing its
# __pycache__ file; tempfile's lock around probing the temporary directory).
_INTERNAL_FILES = frozenset({"<frozen importlib._bootstrap_external>", "<frozen importlib._bootstrap>"})
_internal_codes: set = set()


def _internal(args) -> bool:
    """Whether an effect is one of those above (os.devnull, bytecode cache, tempfile probe)."""
    if args and args[0] == os.devnull:
        return True
    frame = sys._getframe(2)   # the Python code that called the function raising the event
    code = frame.f_code
    if code.co_filename in _INTERNAL_FILES:
        return True
    if not _internal_codes:
        import tempfile
        _internal_codes.add(tempfile._get_default_tempdir.__code__)
    return code in _internal_codes


def _writes(args) -> bool:
    """Whether an "open" event's (path, mode, flags) may create or change a file."""
    try:
        _path, mode, flags = args
    except (TypeError, ValueError):
        return False
    if isinstance(flags, int) and flags & _WRITE_FLAGS:
        return True
    return isinstance(mode, str) and not _WRITE_MODE_CHARS.isdisjoint(mode)


def install_audit_hook() -> None:
    """Install the turn-point audit hook once per process (audit hooks cannot be removed)."""
    global _hook_installed
    if _hook_installed:
        return
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
