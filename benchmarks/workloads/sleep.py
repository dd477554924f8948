"""The seed example: each iteration calls a model that answers after the latency (0.1 s in the full run)."""
from __future__ import annotations

import asyncio
import contextlib
import time

from benchmarks.workloads import Workload


def ask_model(prompt, delay):
    """A stand-in for a call to a model: blocks like a network round trip."""
    time.sleep(delay)
    return f"answer to {prompt}"


def loop(prompts, delay):
    answers = []
    for prompt in prompts:
        answers.append(ask_model(prompt, delay))
    return answers


async def gather(prompts, delay, slots):
    async def one(prompt):
        async with slots:
            await asyncio.sleep(delay)
            return f"answer to {prompt}"

    return await asyncio.gather(*(one(p) for p in prompts))


WORKLOAD = Workload(
    name="sleep", title="seed: `time.sleep(latency)` per item", kind="io",
    loop=loop, one=ask_model, gather=gather,
    items=lambda n, delay: [f"prompt {i}" for i in range(n)],
    environment=lambda options: contextlib.nullcontext(options.latency),
)
