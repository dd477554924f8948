"""Evidence: decide whether a loop the analysis proved safe is worth running in parallel.

- `registry`: callables by class — blocking, thread-affine, ordered output — with the
  public hooks `io`, `register_blocking`, `register_thread_affine`, `register_ordered`.
- `static`: what a loop body's code refers to, resolved without running it.
- `probe`: what the first iteration actually waited on, measured on the calling thread.
- `decision`: evidence turned into a decision and its words.
- `runner`: `LoopRunner`, which the transformed loop calls, applies all of the above.
- `environment`: what a function's names resolve to, for the analysis.
- `guards`: the checks a loop runs at its start and per item (TorchDynamo-style guards).

May import analysis, transform, runtime and the foundation modules; never `xcs.api`.
"""
from xcs.evidence.registry import io, register_blocking, register_ordered, register_thread_affine
from xcs.evidence.site import LoopSite

__all__ = ["io", "register_blocking", "register_thread_affine", "register_ordered", "LoopSite"]
