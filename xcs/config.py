"""Options and process-wide settings: one frozen `Options`, validated once; the `XCS_DISABLE` switch.

`Options` is what a user can choose: `@xcs.jit(...)` builds one at decoration time,
`xcs.configure(...)` replaces the process-wide one, and the environment (`XCS_MAX_WORKERS`)
sets the defaults at import. Each field has exactly one validator (`_VALIDATORS`), run when
the object is made; nothing downstream re-checks (as `ThreadPoolExecutor.__init__`). To add
an option: add a field with its default and one validator entry.

Every layer reads the process-wide values through `settings()`.
"""
from __future__ import annotations

import os
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field, fields, replace

DEFAULT_MAX_WORKERS = 64
# More threads than this is never what a loop wants (each costs a stack and a GIL
# contender), and a typo like 10**9 must not silently start hundreds of threads.
MAX_WORKERS_LIMIT = 1024
POLICIES = ("auto", True, False)


def _parallel(value):
    # `1 in ("auto", True, False)` is True (1 == True): compare by identity.
    if any(value is policy for policy in POLICIES):
        return value
    if isinstance(value, int):
        fix = "True" if value else "False"
        raise TypeError(f"parallel must be 'auto', True or False, not {value!r}: write parallel={fix}")
    raise ValueError(f"parallel must be 'auto', True or False, not {value!r}")


def _workers(name: str, value, allow_none: bool):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int from 1 to {MAX_WORKERS_LIMIT}, not {type(value).__name__} {value!r}")
    if not 1 <= value <= MAX_WORKERS_LIMIT:
        raise ValueError(f"{name} must be from 1 to {MAX_WORKERS_LIMIT}, got {value!r}")
    return value


def _max_workers(value):
    return _workers("max_workers", value, allow_none=True)


def _speculate(value):
    if not isinstance(value, bool):
        raise TypeError(f"speculate must be True or False, got {value!r}")
    return value


def _per_host(value):
    """A mapping {host: cap} becomes a read-only mapping; hosts are lower-cased."""
    if value is None:
        return types.MappingProxyType({})
    if not hasattr(value, "items"):
        raise TypeError(f"per_host must be a mapping of host name to a concurrency cap, not {type(value).__name__}")
    out = {}
    for host, cap in value.items():
        if not isinstance(host, str) or not host:
            raise TypeError(f"per_host keys must be host names (str), got {host!r}")
        out[host.lower()] = _workers(f"per_host[{host!r}]", cap, allow_none=False)
    return types.MappingProxyType(out)


ENDPOINT_VERDICTS = ("independent", "creates")
_ENDPOINT_METHODS = ("POST", "PATCH")
_HEX = frozenset("0123456789abcdefABCDEF-")


def endpoint_path(path: str) -> str:
    """`path` with the segments that name one resource among many — all digits, or hex of 16
    characters or more with a digit (UUIDs, hashes) — written `*`: `/issues/42/comments` and
    `/issues/7/comments` are one endpoint (xcs.runtime.creations)."""
    return "/".join("*" if s.isdigit() or (len(s) >= 16 and _HEX.issuperset(s) and any(c.isdigit() for c in s))
                    else s for s in (path or "/").split("/")) or "/"


def _endpoints(value):
    """{"POST host[:port]/path": "independent" | "creates"} becomes a read-only mapping (the
    method upper-cased, the host lower-cased, the path as `endpoint_path` writes it), so
    `xcs.runtime.creations` finds a request's endpoint in it by its own spelling."""
    if value is None:
        return types.MappingProxyType({})
    if not hasattr(value, "items"):
        raise TypeError(f"endpoints must be a mapping of 'POST host/path' to 'independent' or 'creates', "
                        f"not {type(value).__name__}")
    out = {}
    for key, verdict in value.items():
        method, _, rest = key.partition(" ") if isinstance(key, str) else ("", "", "")
        host, slash, path = rest.strip().partition("/")
        if method.upper() not in _ENDPOINT_METHODS or not host or not slash:
            raise ValueError(f"endpoints keys are 'POST host/path' or 'PATCH host:port/path', got {key!r}")
        if verdict not in ENDPOINT_VERDICTS:
            raise ValueError(f"endpoints[{key!r}] must be 'independent' or 'creates', not {verdict!r}")
        path = endpoint_path("/" + path.split("?")[0])
        out[f"{method.upper()} {host.lower()}{path}"] = ENDPOINT_VERDICTS[ENDPOINT_VERDICTS.index(verdict)]
    return types.MappingProxyType(out)


@dataclass(frozen=True)
class Options:
    """What a user can choose, validated when made (TypeError/ValueError naming the fix).

    - `parallel`: "auto" (evidence decides), True (the caller asserts it pays; safety still
      applies) or False (never). Exactly these three: `1`/`0` are rejected.
    - `max_workers`: the most iterations of one loop running at once, an int from 1 to
      `MAX_WORKERS_LIMIT`; None means the process-wide value. Adaptive concurrency never
      exceeds it.
    - `per_host`: {host: cap}, the most requests XCS's workers send to one host at once.
    - `executor`: where map parts run — "threads", "processes", a `dask.distributed.Client`
      or any `concurrent.futures.Executor` (docs/executors.md); None means the process-wide one.
    - `endpoints`: {"POST host/path": "independent" | "creates"}: what a POST/PATCH to that
      endpoint does, instead of learning it from the first answer (xcs.runtime.creations).
    - `speculate`: loops that may `break`/`return` run later iterations' calls before the
      exit is known whatever they call (False: only calls known to only read;
      docs/speculation.md). Per `@xcs.jit` only.
    """

    parallel: object = "auto"
    max_workers: int | None = None
    per_host: types.MappingProxyType = field(default_factory=lambda: types.MappingProxyType({}))
    executor: object = None
    speculate: bool = False
    endpoints: types.MappingProxyType = field(default_factory=lambda: types.MappingProxyType({}))

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            checked = _VALIDATORS[f.name](value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    def __hash__(self):
        return hash(tuple(tuple(sorted(v.items())) if isinstance(v, types.MappingProxyType) else v
                          for v in (getattr(self, f.name) for f in fields(self))))

    def changed(self, **changes) -> "Options":
        """A copy with `changes` applied (None values are left out), validated again."""
        return replace(self, **{name: value for name, value in changes.items() if value is not None})


EXECUTOR_NAMES = ("threads", "processes")


def check_executor(executor):
    """`executor` itself when it names where map parts can run; raises otherwise.

    Accepted: "threads" (XCS's thread pool), "processes" (XCS's pool of processes on this
    machine), a `dask.distributed.Client`, or any `concurrent.futures.Executor`. Raises
    ValueError for another string, TypeError for another object."""
    if isinstance(executor, str):
        if executor not in EXECUTOR_NAMES:
            raise ValueError(f"executor must be 'threads', 'processes', a dask.distributed.Client or a "
                             f"concurrent.futures.Executor, not {executor!r}")
        return executor
    from concurrent.futures import Executor

    if isinstance(executor, Executor) or is_dask_client(executor):
        return executor
    raise TypeError(f"executor must be 'threads', 'processes', a dask.distributed.Client or a "
                    f"concurrent.futures.Executor, not {type(executor).__name__}")


def _executor(value):
    return None if value is None else check_executor(value)


def is_dask_client(value) -> bool:
    """True for a `dask.distributed.Client` (without importing Dask when it is not loaded)."""
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(value, distributed.Client)


_VALIDATORS = {"parallel": _parallel, "max_workers": _max_workers, "per_host": _per_host,
               "executor": _executor, "speculate": _speculate, "endpoints": _endpoints}


@dataclass(frozen=True)
class Settings:
    """What XCS does globally: `disabled` (`XCS_DISABLE`) and the process-wide `options`,
    whose `max_workers` is always an int here."""

    disabled: bool
    options: Options

    @property
    def max_workers(self) -> int:
        return self.options.max_workers

    @property
    def per_host(self):
        return self.options.per_host

    @property
    def executor(self):
        return self.options.executor or "threads"


def _from_environment(environ=os.environ) -> Settings:
    """Settings from the environment; an invalid value warns (naming the variable) and the
    default is used."""
    disabled = environ.get("XCS_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    workers = DEFAULT_MAX_WORKERS
    raw = environ.get("XCS_MAX_WORKERS", "").strip()
    if raw:
        try:
            workers = _max_workers(int(raw))
        except (TypeError, ValueError):
            warnings.warn(f"XCS_MAX_WORKERS={raw!r} is not an int from 1 to {MAX_WORKERS_LIMIT}; "
                          f"using the default {DEFAULT_MAX_WORKERS}", RuntimeWarning, stacklevel=2)
            workers = DEFAULT_MAX_WORKERS
    executor = environ.get("XCS_EXECUTOR", "").strip().lower() or "threads"
    if executor not in EXECUTOR_NAMES:
        warnings.warn(f"XCS_EXECUTOR={executor!r} is not one of {EXECUTOR_NAMES}; using 'threads'",
                      RuntimeWarning, stacklevel=2)
        executor = "threads"
    return Settings(disabled=disabled, options=Options(max_workers=workers, executor=executor))


_lock = threading.Lock()
_settings = _from_environment()


def settings() -> Settings:
    """The settings in force now."""
    return _settings


def configure(*, max_workers: int | None = None, per_host=None, executor=None, endpoints=None) -> Settings:
    """Change process-wide settings; returns the new settings.

    `max_workers`: int from 1 to `MAX_WORKERS_LIMIT` (TypeError for a bool or non-int,
    ValueError out of range). `per_host`: {host: cap} replaces the per-host caps ({} clears
    them). `executor`: see `check_executor`. `endpoints`: {"POST host/path": "independent" |
    "creates"} replaces what POST/PATCH endpoints are declared to do ({} clears). Options
    left as None are unchanged; all are checked before any changes."""
    global _settings
    with _lock:
        options = _settings.options.changed(max_workers=max_workers, per_host=per_host, executor=executor,
                                            endpoints=endpoints)
        _settings = replace(_settings, options=options)
        return _settings


def is_disabled() -> bool:
    """True when `XCS_DISABLE` is set: every XCS entry point then returns the user's code untouched."""
    return _settings.disabled


def jit_options(parallel="auto", max_workers=None, executor=None, speculate=False) -> Options:
    """The options of one `@xcs.jit(...)`: validated here, at decoration time."""
    return Options(parallel=parallel, max_workers=max_workers, executor=executor, speculate=speculate)

