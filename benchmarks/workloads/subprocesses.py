"""`subprocess.run` per item: a shell that waits the latency, then prints the item."""
from __future__ import annotations

import asyncio
import contextlib
import subprocess

from benchmarks.workloads import Workload

SCRIPT = 'sleep "$0"; echo "$1"'


def run_one(item, delay):
    return subprocess.run(["sh", "-c", SCRIPT, str(delay), item], capture_output=True, text=True,
                          check=True).stdout


def loop(items, delay):
    outputs = []
    for item in items:
        done = subprocess.run(["sh", "-c", SCRIPT, str(delay), item], capture_output=True, text=True, check=True)
        outputs.append(done.stdout)
    return outputs


async def gather(items, delay, slots):
    async def one(item):
        async with slots:
            process = await asyncio.create_subprocess_exec(
                "sh", "-c", SCRIPT, str(delay), item, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, _ = await process.communicate()
            return out.decode()

    return await asyncio.gather(*(one(i) for i in items))


WORKLOAD = Workload(
    name="subprocess", title="`subprocess.run(['sh', '-c', 'sleep …; echo …'])`", kind="io",
    loop=loop, one=run_one, gather=gather,
    items=lambda n, delay: [f"item-{i}" for i in range(n)],
    environment=lambda options: contextlib.nullcontext(options.latency),
)
