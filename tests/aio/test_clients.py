"""Real async clients against the local server (tests/realworld/servers.py) on 127.0.0.1:
`httpx.AsyncClient` and `openai.AsyncOpenAI`, each loop run plain and under `@xcs.jit` (and
under auto-mode), with the server's peak-concurrency gauge proving the overlap."""
from __future__ import annotations

import asyncio

import pytest

import xcs
from tests.realworld.servers import running_server, stats

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def base():
    with running_server(0.05) as url:
        yield url


async def pages(client, base, keys):
    names = []
    for k in keys:
        response = await client.get(f"{base}/item/{k}")
        names.append(response.json()["name"])
    return names


def _pages(fn, base, keys):
    async def main():
        async with httpx.AsyncClient() as client:
            return await fn(client, base, keys)

    return asyncio.run(main())


def test_httpx_async_client_requests_overlap_and_the_results_are_the_plain_ones(base):
    keys = list(range(16))
    stats(base)
    plain = _pages(pages, base, keys)
    assert stats(base)["peak"] == 1
    fast = xcs.jit(pages)
    got = _pages(fast, base, keys)
    gauge = stats(base)
    assert got == plain == [f"item {k}" for k in keys]
    assert gauge["requests"] == len(keys) and gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


def test_max_workers_bounds_the_requests_in_flight(base):
    keys = list(range(12))
    stats(base)
    got = _pages(xcs.jit(pages, max_workers=3), base, keys)
    gauge = stats(base)
    assert got == [f"item {k}" for k in keys]
    assert 2 <= gauge["peak"] <= 3, gauge


async def ensemble(client, prompts):
    answers = []
    for prompt in prompts:
        response = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
        answers.append(response.choices[0].message.content)
    return answers


def _ensemble(fn, base, prompts, log=None):
    async def main():
        client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="local", max_retries=0)
        try:
            return await fn(client, prompts)
        except openai.APIStatusError as error:
            return type(error).__name__, error.status_code
        finally:
            await client.close()

    return asyncio.run(main())


def test_async_openai_calls_overlap_and_the_answers_are_the_plain_ones(base):
    prompts = [f"question {k}" for k in range(10)]
    stats(base)
    plain = _ensemble(ensemble, base, prompts)
    assert stats(base)["peak"] == 1
    fast = xcs.jit(ensemble)
    got = _ensemble(fast, base, prompts)
    gauge = stats(base)
    assert got == plain and len(got) == 10
    assert gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


async def ensemble_logged(client, prompts, log):
    for prompt in prompts:
        response = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
        log.append(response.choices[0].message.content)


def test_async_openai_the_earliest_failure_propagates_after_the_earlier_answers(base):
    prompts = [f"q {k}" for k in range(4)] + ["q FAIL500"] + [f"q {k}" for k in range(5, 8)] + ["q FAIL429"]

    def outcome(fn):
        log: list = []

        async def main():
            client = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="local", max_retries=0)
            try:
                await fn(client, prompts, log)
            except openai.APIStatusError as error:
                return type(error).__name__, error.status_code, list(log), \
                    {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
            finally:
                await client.close()

        return asyncio.run(main())

    plain = outcome(ensemble_logged)
    got = outcome(xcs.jit(ensemble_logged))
    assert got == plain
    assert got[:2] == ("InternalServerError", 500) and len(got[2]) == 4 and got[3] == set()


async def auto_pages(client, base, keys):
    names = []
    for k in keys:
        response = await client.get(f"{base}/text/{k}")
        names.append(response.text)
    return names


def test_auto_mode_runs_an_undecorated_coroutines_loop_as_tasks(base):
    pytest.importorskip("xcs._hook")
    keys = list(range(12))
    plain = _pages(auto_pages, base, keys)
    stats(base)
    with xcs.enabled():
        got = _pages(auto_pages, base, keys)
    gauge = stats(base)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge
