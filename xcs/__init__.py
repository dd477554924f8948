"""XCS: run the iterations of I/O-bound Python loops in parallel, with sequential results.

    import xcs

    @xcs.jit
    def ensemble(prompt):
        results = []
        for model in models:
            results.append(model.predict(prompt))   # each call blocks on the network
        return results

The loop's map part (`model.predict(prompt)`) runs on a thread pool; the commit part
(`results.append`) runs in iteration order on the calling thread. Loops XCS cannot
prove safe stay sequential; `xcs.explain(fn)` says why.
"""
from xcs.api.decorator import explain, jit
from xcs.api.auto import disable, enable, enabled
from xcs.config import configure, settings
from xcs.evidence.registry import io, register_blocking, register_thread_affine
from xcs.evidence.speculation import register_read_only

__all__ = ["jit", "explain", "enable", "disable", "enabled", "configure", "settings", "io", "register_blocking",
           "register_thread_affine", "register_read_only"]
__version__ = "0.1.0"
