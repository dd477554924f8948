"""`ProcessPool`: `executor="processes"` — worker processes on this machine, each running
several calls at once on its own threads.

A loop's map part usually waits on I/O *and* spends some CPU (decoding, parsing); one process
per call would give up the overlap of the waits, one process in all would keep the CPU work
under one GIL. So each of `processes` worker processes runs up to `threads` calls at once.

`submit(fn, *args)` returns a `concurrent.futures.Future` at once; the call is sent to the
worker process with the fewest calls outstanding, where it waits for a free thread. Contract:

- a future cancelled before its call started (`future.cancel()` returned True) never calls
  `fn`: the worker is told, and skips it if it has not started it yet; a call the worker had
  already started when the message arrived runs, and its outcome is discarded;
- `fn`, its arguments and its outcome cross the process boundary with `pickle` (the shipped
  loop work is already bytes: see `xcs.runtime.shipping`); an outcome that does not unpickle
  here fails its future with RuntimeError;
- a worker process that exits while calls are outstanding (killed, crashed) fails each of
  their futures with `WorkerLost`; nothing is re-run. The next submit starts a new process.

Worker processes are started lazily with the "forkserver" method where there is one (the
calling process has threads; forking it is unsafe), else "spawn", and are daemons: they end
with the calling process. `shutdown()` stops them.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import threading
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool


class WorkerLost(BrokenProcessPool):
    """The worker process running this call exited before it finished; the call is not re-run."""


class _Future(Future):
    """A future whose `cancel()` also tells the worker process to skip the call."""

    def __init__(self, child, task_id):
        super().__init__()
        self._xcs_child = child
        self._xcs_id = task_id

    def cancel(self) -> bool:
        if not super().cancel():
            return False
        self._xcs_child.cancel(self._xcs_id)
        return True


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class _Child:
    """One worker process, the pipe to it, and the futures of its outstanding calls."""

    def __init__(self, name: str, threads: int):
        parent, child = _context().Pipe()
        self.conn = parent
        self.pending: dict[int, Future] = {}
        self.lock = threading.Lock()
        self.alive = True
        self.process = _context().Process(target=_child_main, args=(child, threads), name=name, daemon=True)
        self.process.start()
        child.close()
        threading.Thread(target=self._read, name=f"{name}-reader", daemon=True).start()

    def send(self, message) -> None:
        with self.lock:
            self.conn.send(message)

    def cancel(self, task_id: int) -> None:
        with self.lock:
            self.pending.pop(task_id, None)
            if self.alive:
                try:
                    self.conn.send(("cancel", task_id))
                except OSError:
                    pass

    def _read(self) -> None:
        while True:
            try:
                kind, task_id, ok, blob = self.conn.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                future = self.pending.pop(task_id, None)
            if future is None or kind != "done" or not future.set_running_or_notify_cancel():
                continue
            try:
                value = pickle.loads(blob)
            except Exception as error:  # noqa: BLE001 - an outcome that does not unpickle here
                ok, value = False, RuntimeError(f"the worker process's outcome could not be read: {error!r}")
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
            future = value = None
        self.process.join(1.0)
        lost = WorkerLost(f"the worker process {self.process.pid} running this iteration exited "
                          f"(exit code {self.process.exitcode}) before it finished; it is not re-run")
        with self.lock:
            self.alive = False
            pending, self.pending = self.pending, {}
        for future in pending.values():
            if future.set_running_or_notify_cancel():
                future.set_exception(lost)
        self.conn.close()


class ProcessPool(Executor):
    """`processes` worker processes, each running up to `threads` calls at once (see module)."""

    def __init__(self, processes: int, threads: int):
        if processes < 1 or threads < 1:
            raise ValueError("processes and threads must be positive")
        self.processes = processes
        self.threads = threads
        self._children: list[_Child] = []
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._names = itertools.count()
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Send `fn(*args, **kwargs)` to a worker process; returns its future (see module)."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a ProcessPool after shutdown")
            self._children = [c for c in self._children if c.alive]
            while len(self._children) < self.processes:
                self._children.append(_Child(f"xcs-process-{next(self._names)}", self.threads))
            child = min(self._children, key=lambda c: len(c.pending))
            task_id = next(self._ids)
            future = _Future(child, task_id)
            with child.lock:
                child.pending[task_id] = future
                try:
                    child.conn.send(("run", task_id, fn, args, kwargs))
                except OSError as error:
                    child.pending.pop(task_id, None)
                    raise RuntimeError(f"the worker process is gone: {error!r}") from None
        return future

    def pids(self) -> list:
        """The process ids of the live worker processes."""
        with self._lock:
            return [c.process.pid for c in self._children if c.alive]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the worker processes (after their outstanding calls when `wait`)."""
        with self._lock:
            self._shutdown = True
            children, self._children = self._children, []
        for child in children:
            if cancel_futures:
                for task_id in list(child.pending):
                    future = child.pending.get(task_id)
                    if future is not None:
                        future.cancel()
            try:
                child.send(("stop", None, None, None, None))
            except OSError:
                pass
            if wait:
                child.process.join()


def _child_main(conn, threads: int) -> None:
    """A worker process: run the calls received on `conn` on `threads` threads."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(threads, thread_name_prefix="xcs-process-worker")
    send_lock = threading.Lock()
    state_lock = threading.Lock()
    cancelled: set = set()
    queued: set = set()

    def run(task_id, fn, args, kwargs):
        with state_lock:
            queued.discard(task_id)
            if task_id in cancelled:
                cancelled.discard(task_id)
                return
        try:
            ok, value = True, fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - sent back as the call's outcome
            ok, value = False, error
        try:
            blob = pickle.dumps(value)
        except Exception as error:  # noqa: BLE001
            ok, blob = False, pickle.dumps(RuntimeError(f"the outcome could not be sent back: {error!r}"))
        value = None
        with send_lock:
            conn.send(("done", task_id, ok, blob))

    while True:
        try:
            kind, task_id, *call = conn.recv()
        except (EOFError, OSError):
            break
        if kind == "run":
            with state_lock:
                queued.add(task_id)
            pool.submit(run, task_id, *call)
        elif kind == "cancel":
            with state_lock:
                if task_id in queued:
                    cancelled.add(task_id)
        else:
            break
    pool.shutdown(wait=True)
    os._exit(0)


_pools: dict = {}
_pools_lock = threading.Lock()


def process_pool(threads: int) -> ProcessPool:
    """The shared pool of `os.cpu_count()` worker processes with `threads` threads each."""
    with _pools_lock:
        found = _pools.get(threads)
        if found is None:
            found = _pools[threads] = ProcessPool(os.cpu_count() or 1, threads)
        return found


def _reset_after_fork() -> None:
    # A forked child has none of the parent's reader threads, and its pipes are the
    # parent's: it starts without pools (a new one starts its own worker processes).
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
