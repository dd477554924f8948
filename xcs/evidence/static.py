"""Static evidence: what a loop body's code refers to, looked up in the registry.

`scan_body(body, args)` reads the bytecode of a loop body function without running it. It
resolves each name the code loads — globals and builtins, closure cells, and the body's
inputs (their values are known when the loop starts) — then follows attribute chains
(`client.chat.completions.create`) with `inspect.getattr_static`, so no property, descriptor
or `__getattr__` of the user's runs. Each resolved object is classified by the registry;
Python functions it reaches are scanned in turn, a few levels deep. The walk itself is the
analysis layer's (`xcs.analysis.walker.references`): this module hands it the registry. Where a chain cannot be
followed statically, the rest of it is named after the last class reached
(`openai._client.OpenAI.chat.completions.create`), which is what library entries match.
"""
from __future__ import annotations

from dataclasses import dataclass

from xcs.analysis import walker
from xcs.evidence import registry

MAX_DEPTH = walker.REFERENCE_DEPTH          # the body is level 0; callees are scanned down to this level
MAX_CODE_OBJECTS = walker.MAX_CODE_OBJECTS  # bounds the work on large libraries that are not in the registry


@dataclass(frozen=True)
class Finding:
    """One classified reference: its class, the name it answers to, the function it was found
    in (when that is not the loop body itself) and the line."""

    kind: str
    name: str
    via: str | None
    line: int | None


@dataclass(frozen=True)
class StaticEvidence:
    """Everything classified in a loop body, grouped by class, in the order found."""

    blocking: tuple[Finding, ...] = ()
    thread_affine: tuple[Finding, ...] = ()
    ordered: tuple[Finding, ...] = ()


def scan_body(body, args=()) -> StaticEvidence:
    """Classify what the loop body function `body(item, *args)` refers to; `args` are the
    values its inputs will have. Never runs user code; an unreadable function is skipped."""
    code = body.__code__
    known = dict(zip(code.co_varnames[1:code.co_argcount], args))
    return _evidence(walker.references(body, registry.classify, registry.classify_name, known, follow_root=False))


def scan_function(fn) -> StaticEvidence:
    """Classify what the Python function `fn` (and what it calls, a few levels) refers to."""
    return _evidence(walker.references(fn, registry.classify, registry.classify_name))


def _evidence(references) -> StaticEvidence:
    found = {kind: [] for kind in registry.KINDS}
    for ref in references:
        found[ref.kind].append(Finding(ref.kind, ref.name, ref.path[0] if ref.path else None, ref.line))
    return StaticEvidence(tuple(found[registry.BLOCKING]), tuple(found[registry.THREAD_AFFINE]),
                          tuple(found[registry.ORDERED]))
