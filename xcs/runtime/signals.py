"""Overload signals: what a service says about the load a loop puts on it.

A lane records, in a thread-local, the `Dispatch` whose task it runs. HTTP response hooks
that XCS installs on the loop's clients for the loop's duration (`xcs.runtime.pools_fit`)
call `response(status, headers)` there; an iteration that raises is looked at with
`is_overload(error)`. The dispatch counts the signals; the loop's `Limiter` reads them.

Signals: HTTP 429 (Too Many Requests) and 503 (Service Unavailable) responses, a
`Retry-After` header (the lanes then start no new iteration before that time, at most
`MAX_HOLD_SECONDS` ahead), and exceptions carrying such a status (`openai.RateLimitError`,
`requests.HTTPError` / `httpx.HTTPStatusError` whose response has it).
"""
from __future__ import annotations

import threading
import time

OVERLOAD_STATUSES = frozenset({429, 503})
MAX_HOLD_SECONDS = 10.0


class _Lane(threading.local):
    dispatch = None


_lane = _Lane()


def response(status, headers=None) -> None:
    """Called by a response hook on any thread: counts an overload signal for the loop whose
    iteration runs on this thread (nothing elsewhere)."""
    dispatch = _lane.dispatch
    if dispatch is None or status not in OVERLOAD_STATUSES:
        return
    dispatch.overloads += 1      # racy increments may lose one; any signal is enough
    after = _retry_after(headers)
    if after:
        dispatch.hold_until = max(dispatch.hold_until, time.perf_counter() + min(after, MAX_HOLD_SECONDS))


def _retry_after(headers) -> float:
    if headers is None:
        return 0.0
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return max(0.0, float(value)) if value else 0.0
    except (TypeError, ValueError, AttributeError):
        return 0.0      # an HTTP date or garbage: the overload itself is still counted


def status_of(error) -> int | None:
    """The HTTP status an exception carries (its own `status_code`, or its response's)."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_overload(error) -> bool:
    """True if `error` says the service is overloaded: a rate-limit error class, or an
    HTTP 429/503 status on the exception or its response."""
    if type(error).__name__ in ("RateLimitError", "TooManyRequests"):
        return True
    try:
        return status_of(error) in OVERLOAD_STATUSES
    except Exception:  # noqa: BLE001 - a strange exception object is just not a signal
        return False
