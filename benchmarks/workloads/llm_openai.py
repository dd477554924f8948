"""The LLM ensemble case: the real `openai` client asks the local chat-completions server once per prompt."""
from __future__ import annotations

import asyncio
import contextlib

from benchmarks.harness.server import running_server
from benchmarks.workloads import Workload

MODEL = "bench-model"


def ask(prompt, client):
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return reply.choices[0].message.content


def loop(prompts, client):
    answers = []
    for prompt in prompts:
        reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
        answers.append(reply.choices[0].message.content)
    return answers


async def gather(prompts, client, slots):
    """`AsyncOpenAI`, the client's own async API; made per call because its connections
    belong to the event loop of the call."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=str(client.base_url), api_key="bench", max_retries=0) as aclient:
        async def one(prompt):
            async with slots:
                reply = await aclient.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": prompt}])
                return reply.choices[0].message.content

        return await asyncio.gather(*(one(p) for p in prompts))


@contextlib.contextmanager
def client_of_local_server(options):
    from openai import OpenAI

    with running_server(options.latency) as base:
        client = OpenAI(base_url=base + "/v1", api_key="bench", max_retries=0, timeout=60)
        try:
            yield client
        finally:
            client.close()


WORKLOAD = Workload(
    name="llm-openai", title="`openai` chat completions (real client, local server)", kind="io",
    loop=loop, one=ask, gather=gather, requires=("openai",),
    items=lambda n, client: [f"question {i}" for i in range(n)],
    environment=client_of_local_server,
)
