"""The real-world corpus: loops taken from public projects, run against local services.

Each function below is one loop as its project wrote it — prints on error paths, tqdm, retries,
`try`/`except`, `break`, logging, file writes, dict updates, counters — changed only so that it
talks to the local server of `tests.realworld.servers` (or runs local commands), works on
smaller data, and has the helpers it calls inlined. Its docstring names the origin and every
change. `LOOPS` registers each with:

- `expect`: what XCS does with it TODAY ("parallel" or "sequential");
- `required`: for sequential loops, why sequential execution is REQUIRED for correctness, or
  None when a parallel run would give the same results (a missed opportunity);
- `xfail`: a diagnosis when XCS gives a DIFFERENT result than plain Python today (the test is
  a strict xfail until it is fixed);
- `ordered_requests`: a parallel loop whose requests XCS sends in iteration order at run time
  because their endpoint answered 201 Created (it creates resources: `xcs.runtime.creations`).

A loop's arguments come from `args(env)`, called with the run's working directory as the
current directory, so loops that write relative paths write there.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import subprocess
import sys
import time
import traceback
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import urlparse

import openai
import requests
from openai import OpenAI
from tqdm import tqdm


@dataclass(frozen=True)
class Env:
    base: str          # http://127.0.0.1:<port> of the local server
    n: int             # items per loop
    latency: float     # the server's latency per request (seconds)


@dataclass
class Loop:
    name: str
    fn: object
    args: object                 # Env -> tuple of arguments
    origin: str                  # "owner/repo: path" (@commit when known)
    expect: str                  # "parallel" | "sequential": what XCS does today
    required: str | None = None  # sequential rows: why order is required for correctness (None: not required)
    xfail: str | None = None     # XCS gives a different result today: the diagnosis
    auto: bool = False           # also run under `xcs.enabled()` in the tests
    server: bool = True          # talks to the local server (the overlap gauge applies)
    versions: dict = field(default_factory=dict)   # "3.12" -> decision, where an interpreter differs
    # A parallel loop whose every request creates a resource: XCS learns so from the answers and
    # sends them in iteration order (xcs.runtime.creations), so the server never sees two at once.
    ordered_requests: bool = False

    @property
    def expected(self) -> str:
        """What XCS does with the loop today on this interpreter."""
        return self.versions.get("%d.%d" % sys.version_info[:2], self.expect)


LOOPS: list[Loop] = []


def loop(origin, expect, *, args, required=None, xfail=None, auto=False, server=True, name=None, versions=None,
         ordered_requests=False):
    def register(fn):
        LOOPS.append(Loop(name or fn.__name__, fn, args, origin, expect, required, xfail, auto, server,
                          dict(versions or {}), ordered_requests))
        return fn
    return register


# The module-level OpenAI client most scripts create once (`client = OpenAI()`); `_client(env)`
# points it at the local server. max_retries=0: the SDK's own retry back-off takes seconds.
client: OpenAI | None = None


def _client(env: Env) -> OpenAI:
    global client
    client = OpenAI(base_url=f"{env.base}/v1", api_key="local", max_retries=0)
    return client


def _token() -> str:
    return uuid.uuid4().hex[:12]


# ============================================================ LLM evaluation and API calls


class Table:
    """Inlined stand-in for `wandb.Table`: columns and rows added with `add_data`."""

    def __init__(self, columns):
        self.columns = columns
        self.data = []

    def add_data(self, *row):
        self.data.append(list(row))


def _chat_rows(env):
    return [{"messages": [{"role": "system", "content": "Classify."},
                          {"role": "user", "content": f"text {k}"},
                          {"role": "assistant", "content": f"label {k % 3}"}]} for k in range(env.n)]


@loop("openai/openai-cookbook: examples/third_party/GPT_finetuning_with_wandb_cell58.py", "parallel",
      args=lambda env: (_client(env) and _chat_rows(env), "ft-model"), auto=True)
def cookbook_wandb_predictions(test_dataset, model):
    """openai-cookbook, GPT fine-tuning with W&B: score the test set with the fine-tuned model.

        for row in tqdm(test_dataset):
            messages = row['messages'][:2]; target = row["messages"][2]
            res = openai.ChatCompletion.create(model=model, messages=messages, max_tokens=10)
            completion = res.choices[0].message.content
            eval_data.append([messages, completion, target])
            prediction_table.add_data(messages[1]['content'], completion, target["content"])

    Changes: `openai.ChatCompletion.create` (openai<1) is the v1 `client.chat.completions.create`
    on the local server; `wandb.Table` is the inlined `Table`; `wandb.log` is dropped (the table
    is returned)."""
    prediction_table = Table(columns=['messages', 'completion', 'target'])
    eval_data = []
    for row in tqdm(test_dataset):
        messages = row['messages'][:2]
        target = row["messages"][2]

        res = client.chat.completions.create(model=model, messages=messages, max_tokens=10)
        completion = res.choices[0].message.content

        eval_data.append([messages, completion, target])
        prediction_table.add_data(messages[1]['content'], completion, target["content"])
    return eval_data, prediction_table.data


def call_openai(messages="", model="gpt-3.5-turbo"):
    """Stand-in for the notebook's `call_openai` helper (defined in an earlier cell, not read):
    one chat completion."""
    return client.chat.completions.create(model=model, messages=messages, max_tokens=10)


@loop("openai/openai-cookbook: examples/third_party/GPT_finetuning_with_wandb_cell62.py", "parallel",
      args=lambda env: (_client(env) and _chat_rows(env),))
def cookbook_wandb_baseline(test_dataset):
    """openai-cookbook, GPT fine-tuning with W&B: the same scoring with the baseline model,
    through the notebook's `call_openai` helper.

        for row in tqdm(test_dataset):
            ...
            res = call_openai(model="gpt-3.5-turbo", messages=messages)
            completion = res.choices[0].message.content
            baseline_eval_data.append([messages, completion, target])
            baseline_prediction_table.add_data(messages[1]['content'], completion, target["content"])

    Changes: as `cookbook_wandb_predictions`; `call_openai` is a module-level stand-in."""
    baseline_prediction_table = Table(columns=['messages', 'completion', 'target'])
    baseline_eval_data = []

    for row in tqdm(test_dataset):
        messages = row['messages'][:2]
        target = row["messages"][2]

        res = call_openai(model="gpt-3.5-turbo", messages=messages)
        completion = res.choices[0].message.content

        baseline_eval_data.append([messages, completion, target])
        baseline_prediction_table.add_data(messages[1]['content'], completion, target["content"])
    return baseline_eval_data, baseline_prediction_table.data


EMBEDDING_MODEL = "text-embedding-3-small"


def get_embeddings(input, model):
    """The cookbook's helper, inlined, on the v1 client: one embeddings request per batch."""
    res = client.embeddings.create(input=input, model=model)
    return [d.embedding for d in res.data]


@loop("openai/openai-cookbook: examples/vector_databases/redis/redis-hybrid-query-examples_cell17.py", "sequential",
      required="`docs` is carried across iterations: a batch is sent, then cleared, every `batchsize` items",
      args=lambda env: (_client(env) and [{"product_text": f"product {k}"} for k in range(env.n)], 3))
def cookbook_redis_embeddings_batch(records, batchsize):
    """openai-cookbook, Redis hybrid queries: embed the product texts in batches.

        for idx,doc in enumerate(records,start=1):
            docs.append(doc["product_text"])
            if idx % batchsize == 0:
                product_vectors += get_embeddings(docs, EMBEDDING_MODEL)
                docs.clear()
                print("Vectors processed ", len(product_vectors), end='\\r')

    Changes: takes the records list (the notebook converts a DataFrame with
    `to_dict("records")`); batch size 1000 -> 3; `get_embeddings` inlined on the v1 client."""
    print("Records to process: ", len(records))
    product_vectors = []
    docs = []

    for idx, doc in enumerate(records, start=1):
        # create byte vectors
        docs.append(doc["product_text"])
        if idx % batchsize == 0:
            product_vectors += get_embeddings(docs, EMBEDDING_MODEL)
            docs.clear()
            print("Vectors processed ", len(product_vectors), end='\r')
    product_vectors += get_embeddings(docs, EMBEDDING_MODEL)
    print("Vectors processed ", len(product_vectors), end='\r')
    return product_vectors


@loop("alifayed02/AITesting: test.py", "parallel",
      args=lambda env: (_client(env) and [f"question {k}?" for k in range(env.n)],), auto=True)
def aitesting_questions(questions):
    """A small script: ask each question, print the message.

        for question in questions:
            completion = client.chat.completions.create(model="gpt-4o-mini",
                messages=[{"role": "user", "content": question}])
            print(completion.choices[0].message)

    Changes: the question list is filled (the original's is empty); local server."""
    for question in questions:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "user", "content": question}
            ]
        )
        print(completion.choices[0].message)


@loop("djroytburg/self_recognition: timeout.py@653c4bee7f121f407d3b255170376df53761a2a3", "parallel",
      args=lambda env: (_client(env) and env.n, "llama-4-scout-17b-16e-instruct"))
def self_recognition_timeout(n, model):
    """A load script: the same multi-turn chat request n times under tqdm, result unused.

        for i in tqdm(range(100)):
            chat_completion = client.chat.completions.create(messages=[...4 turns...], model=model)

    Changes: 100 -> n; local server; the function returns the last response's text and `i`
    so the result can be compared."""
    for i in tqdm(range(n)):
        # Create a multi-turn chat completion request
        chat_completion = client.chat.completions.create(
            messages=[{
                "role": "system",
                "content": "You are an expert conversationalist who responds to the best of your ability."
            }, {
                "role": "user",
                "content": "Who won the world series in 2020?"
            }, {
                "role": "assistant",
                "content": "The Los Angeles Dodgers won the World Series in 2020."
            }, {
                "role": "user",
                "content": "Where was it played?"
            }],
            model=model,
        )
    return chat_completion.choices[0].message.content, i


@loop("oaimli/ModularMetaReview: utils/get_embeddings.py", "parallel",
      args=lambda env: (_client(env) and [f"sentence {k}" for k in range(env.n)],), auto=True)
def modular_meta_review_embeddings(sentences):
    """Embed each sentence, retrying (print, sleep) until the API answers.

        for sentence in sentences:
            sentence_embedding = []
            while len(sentence_embedding) == 0:
                try:
                    sentence_embedding = client.embeddings.create(input=[sentence], model=...)["data"][0].embedding
                except:
                    error = sys.exc_info()[0]
                    print("API error:", error)
                    sentence_embedding = []
                    time.sleep(1)
            embeddings.append(sentence_embedding)

    Changes: the client is the module's (local server); `["data"]` (a dict access the v1
    response does not support: the original would loop forever) is `.data`; sleep 1 s -> 10 ms."""
    embeddings = []
    for sentence in sentences:
        sentence_embedding = []
        while len(sentence_embedding) == 0:
            try:
                sentence_embedding = \
                    client.embeddings.create(input=[sentence], model="text-embedding-3-large").data[0].embedding
            except:  # noqa: E722 - as written
                error = sys.exc_info()[0]
                print("API error:", error)
                sentence_embedding = []
                time.sleep(0.01)
        embeddings.append(sentence_embedding)
    return embeddings


def _icl_queries(env):
    # One query in four always gets a 500: the loop gives up on it after `max_fail` failures
    # and records its position in `fail`.
    return [{"prompt": f"query {k}" + (" FAIL500" if k % 4 == 2 else ""), "label": k} for k in range(env.n)]


@loop("shuzhenggao/ICL4code: gpt3.5.py", "parallel",
      args=lambda env: (_client(env) and _icl_queries(env), "queries.jsonl", 2), auto=True)
def icl4code_completions(querys, fileanme, max_fail):
    """In-context learning for code: one completion per query, retried until it succeeds or
    fails too often, each result appended to a JSONL file as it arrives.

        for pos in tqdm(range(len(querys))):
            query = querys[pos]; success = 0; fail_count = 0
            while success!=1:
                try:
                    response = openai.Completion.create(model="text-davinci-003", prompt=query['prompt'], ...)
                    success=1
                    result = {}; result['label'] = query['label']; result['choices'] = response["choices"]; result['idx'] = pos
                    with jsonlines.open(fileanme.split('.jsonl')[0]+'_results_.jsonl', mode='a') as f:
                        f.write_all([result])
                except Exception  as e:
                    info = e.args[0]; print("Error: ", info); sleep(2); fail_count+=1
                if fail_count>50:
                    fail.append(pos); break
            sleep(5)

    Changes: `openai.Completion.create` is the v1 chat call (its `choices` dumped to dicts);
    `jsonlines.open(..., mode='a').write_all` is inlined as `open(..., 'a')` + `json.dumps`;
    sleeps 2 s / 5 s -> 5 ms / 1 ms; 50 failures -> `max_fail`."""
    results = []
    fail = []
    for pos in tqdm(range(len(querys))):
        query = querys[pos]
        success = 0
        fail_count = 0
        while success != 1:
            try:
                response = client.chat.completions.create(model="text-davinci-003",
                                                          messages=[{"role": "user", "content": query['prompt']}],
                                                          temperature=0, max_tokens=256, top_p=1, stop=["\n\n"])
                success = 1
                result = {}
                result['label'] = query['label']
                result['choices'] = [choice.model_dump() for choice in response.choices]
                result['idx'] = pos
                with open(fileanme.split('.jsonl')[0] + '_results_.jsonl', mode='a') as f:
                    f.write(json.dumps(result) + "\n")
            except Exception as e:
                info = e.args[0]
                print("Error: ", info)
                time.sleep(0.005)
                fail_count += 1
            if fail_count > max_fail:
                fail.append(pos)
                break
        time.sleep(0.001)
    return results, fail


def retry_on_limit(func, retries=5, wait=60):
    """microsoft/ToolTalk's decorator (src/utils/openai_utils.py), as written but for the v1
    exception name (v1's RateLimitError cannot be raised without arguments: the last line
    would be a TypeError; the tests never get there)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for i in range(retries):
            try:
                return func(*args, **kwargs)
            except openai.RateLimitError as error:
                logger.info(str(error))
                time.sleep(wait)
        raise openai.RateLimitError
    return wrapper


logger = logging.getLogger("tests.realworld")


def _chat_create(messages, model="gpt-4"):
    """Stand-in for `openai.ChatCompletion.create` (openai<1): the v1 call on the module's client."""
    return client.chat.completions.create(model=model, messages=messages)


# ToolTalk: `openai_chat_completion = retry_on_limit(openai.ChatCompletion.create)`.
openai_chat_completion = retry_on_limit(_chat_create, retries=5, wait=0.005)
openai_chat_completion.__doc__ = """microsoft/ToolTalk: the loop of `retry_on_limit`'s wrapper, which
    retries a chat completion on rate limits, logging each.

        for i in range(retries):
            try:
                return func(*args, **kwargs)
            except openai.error.RateLimitError as error:
                logger.info(str(error))
                time.sleep(wait)
        raise openai.error.RateLimitError

    Changes: `openai.error.RateLimitError` is v1's `openai.RateLimitError`; the wrapped call is
    `_chat_create` (local server), wait 60 s -> 5 ms; the server answers 429 twice, then 200."""

loop("microsoft/ToolTalk: src/utils/openai_utils.py", "sequential",
     required="a retry loop: it returns at the first success, so later attempts must not run",
     args=lambda env: (_client(env) and [{"role": "user", "content": f"WARMUP429:{_token()}:3"}],),
     name="tooltalk_retry_on_limit")(openai_chat_completion)


class _Request:
    def __init__(self, *args):
        self.args = args


class _CacheHook:
    """lm-eval's CacheHook: records each (method, request, response)."""

    def __init__(self):
        self.partials = []

    def add_partial(self, attr, req, res):
        self.partials.append((attr, req, res))


eval_logger = logging.getLogger("lm-eval")


class AnthropicLM:
    """lm-evaluation-harness's AnthropicLM (lm_eval/models/anthropic_llms.py), reduced to what
    `generate_until` uses."""

    def __init__(self, client, model="claude-2.0"):
        self.client = client
        self.model = model
        self.max_length = 2048
        self.temperature = 0
        self.kwargs = {}
        self.cache_hook = _CacheHook()

    def generate_until(self, requests, disable_tqdm: bool = False):
        """lm-evaluation-harness: generation requests one at a time; the first API error stops
        the run (logged as critical) and the answers so far are returned.

            for request in tqdm(_requests, disable=disable_tqdm):
                try:
                    inp = request[0]; request_args = request[1]; until = request_args.get("until")
                    ...
                    response = anthropic_completion(client=self.client, model=self.model, prompt=inp, ...)
                    res.append(response)
                    self.cache_hook.add_partial("generate_until", request, response)
                except anthropic.APIConnectionError as e:
                    eval_logger.critical(f"Server unreachable: {e.__cause__}"); break
                except anthropic.APIStatusError as e:
                    eval_logger.critical(f"API error {e.status_code}: {e.message}"); break

        Changes: the `anthropic` SDK is not installed here, so `anthropic_completion` is the
        same call through the `openai` client (its exception classes have the same names);
        the registry/LM base class is dropped."""
        if not requests:
            return []

        _requests = [req.args for req in requests]

        res = []
        for request in tqdm(_requests, disable=disable_tqdm):
            try:
                inp = request[0]
                request_args = request[1]
                # generation_kwargs
                until = request_args.get("until")
                max_gen_toks = request_args.get("max_gen_toks", self.max_length)
                temperature = request_args.get("temperature", self.temperature)
                response = anthropic_completion(
                    client=self.client,
                    model=self.model,
                    prompt=inp,
                    max_tokens_to_sample=max_gen_toks,
                    temperature=temperature,
                    stop=until,
                    **self.kwargs,
                )
                res.append(response)

                self.cache_hook.add_partial("generate_until", request, response)
            except openai.APIConnectionError as e:
                eval_logger.critical(f"Server unreachable: {e.__cause__}")
                break
            except openai.APIStatusError as e:
                eval_logger.critical(f"API error {e.status_code}: {e.message}")
                break

        return res


def anthropic_completion(client, model, prompt, max_tokens_to_sample, temperature, stop, **kwargs):
    """lm-eval's helper (there with a retry decorator), as one request."""
    response = client.chat.completions.create(model=model, max_tokens=max_tokens_to_sample,
                                              temperature=temperature, stop=stop,
                                              messages=[{"role": "user", "content": f"{prompt}"}], **kwargs)
    return response.choices[0].message.content


def _lm_eval_args(env, failing):
    requests_ = [_Request(f"prompt {k}" + (" FAIL500" if k == failing else ""), {"until": ["\n"]})
                 for k in range(env.n)]
    lm = AnthropicLM(_client(env))
    return (lm, requests_)


loop("EleutherAI/lm-evaluation-harness: lm_eval/models/anthropic_llms.py@030341ea78af9d3cd31e7ecdb1f6901b2e62ea8f",
     "sequential", required="`break` at the first API error: later requests must not be sent",
     args=lambda env: _lm_eval_args(env, env.n - 2), name="lm_eval_anthropic_generate_until")(AnthropicLM.generate_until)


class TextSynthLM:
    """lm-evaluation-harness's TextSynthLM (lm_eval/models/textsynth.py), reduced."""

    def __init__(self, api_url, engine="gptj_6B"):
        self.engine = engine
        self.api_url = api_url
        self.api_key = "local"
        self.max_gen_toks = 256

    def loglikelihood(self, reqs):
        """lm-evaluation-harness (TextSynth API): one logprob request per (context, continuation);
        an answer without a logprob prints ERROR and fails the run.

            for context, continuation in tqdm(reqs):
                response = textsynth_completion(url=self.api_url + "/v1/engines/" + self.engine + "/logprob", ...)
                resp = response.json()
                if "logprob" in resp:
                    logprob = resp["logprob"]; is_greedy = resp["is_greedy"]
                    res.append((logprob, is_greedy))
                else:
                    print("ERROR", resp); assert False

        Changes: the API URL is the local server's."""
        res = []
        for context, continuation in tqdm(reqs):

            response = textsynth_completion(url=self.api_url + "/v1/engines/" + self.engine + "/logprob", headers = { "Authorization": "Bearer " + self.api_key }, json = { "context": context, "continuation": continuation })  # noqa: E501,E251
            resp = response.json()
            if "logprob" in resp:
                logprob = resp["logprob"]
                is_greedy = resp["is_greedy"]
                res.append((logprob, is_greedy))
            else:
                print("ERROR", resp);  # noqa: E703
                assert False
        return res

    def greedy_until(self, reqs):
        """lm-evaluation-harness (TextSynth API): one completion request per prompt.

            for req in tqdm(reqs):
                inp = req[0]; until = req[1]
                response = requests.post(self.api_url + "/v1/engines/" + self.engine + "/completions", ...)
                resp = response.json()
                if "text" in resp:
                    s = resp["text"]; res.append(s)
                else:
                    print("ERROR", resp); assert False

        Changes: the API URL is the local server's; one request carries ERROR, so the run
        prints it and fails with AssertionError."""
        if not reqs:
            return []
        res = []

        for req in tqdm(reqs):
            inp = req[0]
            until = req[1]

            response = requests.post(self.api_url + "/v1/engines/" + self.engine + "/completions", headers = { "Authorization": "Bearer " + self.api_key }, json = { "prompt": inp, "max_tokens": self.max_gen_toks, "top_k": 1, "stop" : until })  # noqa: E501,E251,E203
            resp = response.json()
            if "text" in resp:
                s = resp["text"]
                res.append(s)
            else:
                print("ERROR", resp);  # noqa: E703
                assert False

        return res


def textsynth_completion(**kwargs):
    """ Query TextSynth API for completion.

    Retry with back-off until they respond (lm-eval's helper, as written, back-off 3 s -> 5 ms)
    """
    backoff_time = 0.005
    while True:
        try:
            return requests.post(**kwargs)
        except requests.exceptions.RequestException:
            traceback.print_exc()
            time.sleep(backoff_time)
            backoff_time *= 1.5


loop("EleutherAI/lm-evaluation-harness: lm_eval/models/textsynth.py@03810ebf091b9cd405f0ae8160f1756a22d1356a",
     "parallel", auto=True, name="lm_eval_textsynth_loglikelihood",
     args=lambda env: (TextSynthLM(env.base), [(f"context {k}", f"cont {k}" * (k % 3 + 1)) for k in range(env.n)]),
     )(TextSynthLM.loglikelihood)

loop("EleutherAI/lm-evaluation-harness: lm_eval/models/textsynth.py@03810ebf091b9cd405f0ae8160f1756a22d1356a",
     "parallel", name="lm_eval_textsynth_greedy_until_error",
     args=lambda env: (TextSynthLM(env.base), [(f"prompt {k}" + (" ERROR" if k == env.n - 2 else ""), ["\n"])
                                               for k in range(env.n)]),
     )(TextSynthLM.greedy_until)


# ============================================================ HTTP scripts and crawlers


@loop("huseyinsanal/Pycharm_Projects: CryptoCrazyProject/asyncandthreadingexamples.py"
      "@6ede7380aa35f1182f58fe52e5ec50decc50e385", "parallel",
      args=lambda env: ([f"{env.base}/item/{k}" for k in range(env.n)],), auto=True)
def pycharm_get_data_sync(urls):
    """The synchronous baseline of a threading tutorial.

        for url in urls:
            json_array.append(requests.get(url).json())
        ...
        print("Execution time: ", elapsed_time, "seconds")

    Changes: local URLs; the printed elapsed time (different on every run) is printed as
    `elapsed_time >= 0`."""
    st = time.time()
    json_array = []
    for url in urls:
        json_array.append(requests.get(url).json())
    et = time.time()
    elapsed_time = et - st
    print("Execution time: ", elapsed_time >= 0, "seconds")
    return json_array


results = []
states = []
SBA = ""


def _jobtests_args(env):
    global results, states, SBA
    results = []
    states = ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DC", "DE", "FL"][:env.n]
    SBA = f"{env.base}/item/"
    return ()


@loop("seanbradley/JobTests: api_requests_loop.py", "parallel", args=_jobtests_args)
def jobtests_get_json():
    """A job test: fetch every state's JSON into a module-level list.

        def get_json():
            for state in range(len(states)):
                url = "http://api.sba.gov/geodata/city_county_links_for_state_of/" + states[state] + ".json"
                r = requests.get(url)
                results.append(r.json())
            return results

    Changes: the URL prefix is the module global `SBA` (local server); 51 states -> n."""
    for state in range(len(states)):
        url = SBA + states[state] + ".json"
        r = requests.get(url)
        results.append(r.json())
    return results


# 3.12+ refused it ("exception handler shared by two statements") until the statement split was fixed.
@loop("Alex900930/realtor_py: ejercicios/scraper.py", "parallel",
      args=lambda env: ([f"{env.base}/text/page{k}.html" if k % 4 != 1 else f"http://127.0.0.1:9/page{k}.html"
                         for k in range(env.n)],), auto=True)
def realtor_scraper(urls):
    """A scraper exercise: save each URL's text to a file named after it; connection errors
    are printed and leave an empty file.

        for url in urls:
            file_name = PurePath(url).name
            file_path = path.join('.', file_name)
            text = ''
            try:
                response = requests.get(url)
                if response.ok:
                    text = response.text
            except requests.exceptions.ConnectionError as exc:
                print(exc)
            with open(file_path, 'w') as fh:
                fh.write(text)
            print('Written to', file_path)

    Changes: the URLs are passed in (read from urls.txt there); every fourth points at a
    closed local port (the discard port 9) to take the error path."""
    for url in urls:
        file_name = PurePath(url).name
        file_path = os.path.join('.', file_name)
        text = ''

        try:
            response = requests.get(url)
            if response.ok:
                text = response.text
        except requests.exceptions.ConnectionError as exc:
            print(exc)

        with open(file_path, 'w') as fh:
            fh.write(text)

        print('Written to', file_path)


def download(url):
    """giridhar276/fedelity2302026's helper, as written but for the printed duration."""
    start = time.time()
    try:
        r = requests.get(url, timeout=10)
        status = r.status_code
        msg = "OK"
    except Exception as e:
        status = ""
        msg = f"ERROR: {e}"
    seconds = round(time.time() - start, 3)
    print(url, "->", status, "|", seconds >= 0, "sec |", msg)


@loop("giridhar276/fedelity2302026: programs/readurlswithoutthread.py", "parallel",
      args=lambda env: ([f"{env.base}/status/{k}?code={500 if k % 3 == 2 else 200}" for k in range(env.n)],))
def fedelity_download_all(urls):
    """A course example, "without threading": a helper fetches and prints each URL's status.

        for url in urls:
            download(url)

    Changes: URLs passed in (read from urls.txt there), local, some answer 500; the helper
    prints `seconds >= 0` instead of the duration; the total time print is dropped."""
    for url in urls:
        download(url)


@loop("Danilo-Couto/Trybe-Exercices: 4.ciencia-da-computacao/bloco-35-redes-e-raspagem-de-dados/"
      "dia-2-raspagem-de-dados/solving_problems.py", "sequential",
      # Was a different result (429s): the sleep after each request is now seen as a pace ("paced").
      required="the sleep is a throttle: the API allows one request per `gap` seconds",
      args=lambda env: (f"{env.base}/limited/{_token()}?gap={max(4 * env.latency, 0.05)}",
                        max(6 * env.latency, 0.075), env.n))
def trybe_rate_limited(url, pause, n):
    """A scraping lesson: a rate-limited site (10 requests a minute) is polled with a pause
    after every request so that no request is refused.

        for _ in range(15):
            response = requests.get("https://www.cloudflare.com/rate-limit-test/")
            print(response)
            time.sleep(6)

    Changes: a local rate-limited URL (429 when requests come closer than `gap`); 15 -> n;
    6 s -> `pause`."""
    for _ in range(n):
        response = requests.get(url)
        print(response)
        time.sleep(pause)


@loop("unborntadpole/iris-api: ping_api.py", "sequential",
      required="a retry loop: `break` at the first success, so later attempts must not be sent",
      args=lambda env: (f"{env.base}/warmup/{_token()}/3",))
def iris_ping_api(url):
    """Wait for a freshly started model API: post a sample until it answers JSON.

        for attempt in range(10):
            try:
                response = requests.post(url, json=sample)
                print("Status Code:", response.status_code)
                print("Response:", response.json())
                break
            except Exception as e:
                print(f"Attempt {attempt+1}: API not ready ({e})")
                time.sleep(3)
        else:
            print("API not responsive after retries")

    Changes: a local URL whose proxy answers an HTML 502 page twice; 3 s -> 5 ms."""
    sample = {
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
        "petal_width": 0.2
    }
    for attempt in range(10):
        try:
            response = requests.post(url, json=sample)
            print("Status Code:", response.status_code)
            print("Response:", response.json())
            break
        except Exception as e:
            print(f"Attempt {attempt+1}: API not ready ({e})")
            time.sleep(0.005)
    else:
        print("API not responsive after retries")


@loop("affanmehmood/FastAPI-Dalle-Docker: test_endpoints.py", "parallel",
      args=lambda env: (env.base, [f"prompt-{k}" for k in range(env.n)]), auto=True)
def dalle_submit_prompts(base, prompts):
    """Submit each prompt to an image-generation API and keep the task ids.

        for prompt in prompts:
            r = requests.get('http://34.170.28.77/{}'.format(prompt))
            print(json.loads(r.text)['task_id'])
            task_ids.append(json.loads(r.text)['task_id'])

    Changes: the host is the local server's `/item/` route."""
    task_ids = []
    for prompt in prompts:
        r = requests.get(base + '/item/{}'.format(prompt))
        print(json.loads(r.text)['task_id'])
        task_ids.append(json.loads(r.text)['task_id'])
    return task_ids


@loop("affanmehmood/FastAPI-Dalle-Docker: test_endpoints.py", "parallel",
      args=lambda env: (env.base, [f"task-{k}" for k in range(env.n)]))
def dalle_poll_progress(base, task_ids):
    """The same script's polling: one pass of its `while True` over the task ids, with a pause
    after each request.

        for task_id in task_ids:
            try:
                r = requests.get('http://34.170.28.77/get_progress/{}'.format(task_id))
                print(task_id, r.text)
                time.sleep(3)
            except requests.exceptions.HTTPError as err:
                raise SystemExit(err)

    Changes: one pass of the outer `while True`; the local `/text/` route; 3 s -> 1 ms."""
    for task_id in task_ids:
        try:
            r = requests.get(base + '/text/{}'.format(task_id))
            print(task_id, r.text)
            time.sleep(0.001)
        except requests.exceptions.HTTPError as err:
            raise SystemExit(err)


@loop("manoj-inukolunu/migtunnel: test.py", "parallel",
      args=lambda env: (f"{env.base}/test", env.n, 5))
def migtunnel_post_batches(url, batches, size):
    """A tunnel load test: build a large batch, post it as JSON, print the answer, count.

        count = 0
        for j in range(10):
            instances = {"instances": []}
            for i in range(1000000):
                instances["instances"].append({"features": [...]})
            response = requests.post("https://got.migtunnel.net/test", json=json.dumps(instances))
            print(response.json())
            count = count + 1
        print("Done ", count)

    Changes: local URL; 10 -> `batches`, 1000000 -> `size`."""
    count = 0
    for j in range(batches):
        instances = {"instances": []}
        for i in range(size):
            instances["instances"].append({
                "features": [4.9281602056057885, 6, 5.673203040696216, 3, "PA", 163]
            })
        response = requests.post(url, json=json.dumps(instances))
        print(response.json())
        count = count + 1

    print("Done ", count)


class AutoModel:
    """Stand-in for `transformers.AutoModel`: `from_pretrained` fetches the model's entry
    from the local hub (`HUB`) and raises on an HTTP error, as the Hub client does."""
    @classmethod
    def from_pretrained(cls, model_id, use_auth_token=None):
        code = 404 if "broken" in model_id else 200
        response = requests.get(f"{HUB}/status/{model_id.replace('/', '--')}?code={code}")
        response.raise_for_status()
        return response.json()


class AutoTokenizer(AutoModel):
    pass


HUB = ""


def _cultrai_args(env):
    global HUB
    HUB = env.base
    names = ["cardiffnlp/twitter-roberta-base-sentiment", "EleutherAI/gpt-neo-1.3B", "facebook/bart-large-cnn",
             "org/broken-model", "google/mt5-small", "openai/whisper-base", "facebook/bart-large",
             "allenai/longformer-base-4096", "sentence-transformers/all-mpnet-base-v2", "google/t5-3b"]
    return (names[:env.n], "your_huggingface_token")


@loop("Cultraofficial/cultrAI: organized_ai_models/misc/Untitled20_snippet_9.py", "parallel",
      args=_cultrai_args)
def cultrai_download_models(model_ids, token):
    """Download a list of Hugging Face models, printing progress and failures.

        for model_id in model_ids:
            try:
                print(f"🔄 Downloading model: {model_id}")
                model = AutoModel.from_pretrained(model_id, use_auth_token=token)
                tokenizer = AutoTokenizer.from_pretrained(model_id, use_auth_token=token)
                print(f"✅ Successfully downloaded: {model_id}")
            except Exception as e:
                print(f"❌ Failed to download {model_id}: {str(e)}")

    Changes: `transformers` is not installed: AutoModel/AutoTokenizer are stand-ins that fetch
    from the local server (one id answers 404)."""
    for model_id in model_ids:
        try:
            print(f"🔄 Downloading model: {model_id}")
            model = AutoModel.from_pretrained(model_id, use_auth_token=token)  # noqa: F841
            tokenizer = AutoTokenizer.from_pretrained(model_id, use_auth_token=token)  # noqa: F841
            print(f"✅ Successfully downloaded: {model_id}")
        except Exception as e:
            print(f"❌ Failed to download {model_id}: {str(e)}")


def _issues_args(env):
    owner, repository = "octo", f"repo-{_token()}"
    create_issues = [{"owner": owner, "repository": repository, "title": f"Issue {k}",
                      "body": "x" * (k % 3), "labels": ["bug"] if k % 2 else []} for k in range(env.n)]
    session = requests.Session()
    session.auth = ("octo", "local")
    return (session, create_issues, env.base)


# Was a different result (the numbers went to other titles): the first POST's 201 Created teaches
# XCS that the endpoint creates resources, and from then on its POSTs run in iteration order
# (xcs.runtime.creations). The loop stays "parallel" (its other work may overlap), but every
# request it makes is one of those POSTs, so the server sees them one at a time (peak 1).
@loop("YumaInaura/YumaInaura: api/lib/github/create-issue.py", "parallel",
      required="the server numbers issues in the order they are created: each POST waits for the one before",
      ordered_requests=True, args=_issues_args, auto=True)
def github_create_issues(session, create_issues, api_base):
    """Create GitHub issues from a JSON list with one authenticated session, and print the API's
    answers (the new issues with their numbers).

        for create_issue in create_issues:
          owner = ... create_issue['owner']; repository = ... create_issue['repository']
          api_url = 'https://api.github.com/repos/%s/%s/issues' % (owner, repository)
          title = create_issue['title']; body = create_issue['body']
          labels = create_issue['labels'] if 'labels' in create_issue and create_issue['labels'] else []
          create = {'title': title, 'body': body, 'labels': labels}
          res = session.post(url, json.dumps(create))
          results.append(res.json())
        print(json.dumps(results))

    Changes: the API base is the local server's; the issues come as an argument (stdin
    there); the script's slips are fixed: `url` -> `api_url`, `retults` -> `results`, and the
    OWNER/REPOSTORY environment overrides are dropped."""
    results = []

    for create_issue in create_issues:
        owner = create_issue['owner']
        repository = create_issue['repository']

        api_url = api_base + '/repos/%s/%s/issues' % (owner, repository)

        title = create_issue['title']
        body = create_issue['body']
        labels = create_issue['labels'] if 'labels' in create_issue and create_issue['labels'] else []

        create = {
            'title': title,
            'body': body,
            'labels': labels
        }

        res = session.post(api_url, json.dumps(create))

        results.append(res.json())

    print(json.dumps(results))


def eprint(*args, **kwargs):
    print(*args, file=sys.stderr, **kwargs)


def _more_args(env):
    token = _token()
    data = [{"full_name": f"owner{k}/project{k}"} for k in range(env.n)]
    window = max(30 * env.latency, 0.3)
    return (data, f"{env.base}/gh/{token}", {"quota": 3, "window": window})


# Was a different result (403s): the sleep beside the requests is now seen as a pace ("paced").
@loop("AlexandreLachanceGit/git-deduplication: collection/github/more.py", "sequential",
      required="the API allows `quota` requests per window: the loop sleeps until the reset when none remain",
      args=_more_args)
def github_more_repos(data, api, params):
    """Collect each repository's details from the GitHub API, sleeping until the rate limit
    resets when the last response says no request remains.

        for repo in data:
            i += 1
            name = repo["full_name"]
            res = requests.get(f"https://api.github.com/repos/{name}", headers=headers)
            remaining_requests = int(res.headers.get('X-RateLimit-Remaining', 0))
            reset_time = int(res.headers.get('X-RateLimit-Reset', 0))
            if remaining_requests == 0:
                sleep_time = reset_time - int(time.time()) + 60
                eprint(f"Rate limit reached. Sleeping for {sleep_time} seconds.")
                time.sleep(sleep_time)
            output.append(res.json())
            eprint(i, name, res)
            time.sleep(0.5)
        print(json.dumps(output, indent=4))

    Changes: a local API (3 requests per window of `window` seconds) passed as `params`; the
    reset is a float (seconds resolution would make the test sleep for seconds) and the margin
    60 s -> 10 ms; the printed sleep time (different on every run) is printed as `> 0`;
    0.5 s -> 1 ms; the token header is dropped."""
    output = []
    i = 0
    for repo in data:
        i += 1
        name = repo["full_name"]

        res = requests.get(f"{api}/repos/{name}", params=params)

        remaining_requests = int(res.headers.get('X-RateLimit-Remaining', 0))
        reset_time = float(res.headers.get('X-RateLimit-Reset', 0))

        if remaining_requests == 0:
            sleep_time = reset_time - time.time() + 0.01
            eprint(f"Rate limit reached. Sleeping for {sleep_time > 0} seconds.")
            time.sleep(max(sleep_time, 0))

        output.append(res.json())

        eprint(i, name, res)
        time.sleep(0.001)

    print(json.dumps(output, indent=4))


def hf_hub_download(repo_id, filename, token=None):
    """Stand-in for `huggingface_hub.hf_hub_download` (not installed here): fetch the file from
    the local hub (`HUB`) into ./hub/<repo>/<filename> and return that path, as the real one
    returns its cache path."""
    response = requests.get(f"{HUB}/file/{repo_id.replace('/', '--')}/{filename}",
                            headers={"authorization": f"Bearer {token}"})
    response.raise_for_status()
    path = os.path.join("hub", repo_id.replace("/", "--"), filename)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(response.content)
    return path


hub_logger = logging.getLogger("hugging_face.download")


def _hf_args(env):
    global HUB
    HUB = env.base
    names = ["pytorch_model.bin", "added_tokens.json", "config.json", "generation_config.json",
             "special_tokens_map.json", "spiece.model", "tokenizer_config.json", "vocab.txt", "merges.txt"]
    return ("lmsys/fastchat-t5-3b-v1.0", names[:env.n], "local-token")


@loop("ajrlewis/hugging_face: src/download.py", "parallel", args=_hf_args, auto=True)
def hugging_face_download(model_id, filenames, HUGGING_FACE_API_KEY):
    """Download a model's files one by one from the Hugging Face Hub, logging each path.

        for filename in filenames:
            downloaded_model_path = hf_hub_download(repo_id=model_id, filename=filename, token=HUGGING_FACE_API_KEY)
            logger.debug(f"{downloaded_model_path = }")

    Changes: `hf_hub_download` is a stand-in on the local server (huggingface_hub is not
    installed); loguru's logger is a `logging` logger (loguru is not installed either)."""
    for filename in filenames:
        downloaded_model_path = hf_hub_download(
            repo_id=model_id, filename=filename, token=HUGGING_FACE_API_KEY
        )
        hub_logger.debug(f"{downloaded_model_path = }")
    return downloaded_model_path


statusDict = {}


def fetchStatus(url):
    """Syamlal-M's helper, as written: it stores each status in the module-level `statusDict`."""
    information = requests.get(url, timeout=2)
    statusDict[url] = information.status_code


def _status_args(env):
    statusDict.clear()
    return ([f"{env.base}/status/site{k}?code={403 if k % 5 == 0 else 200}" for k in range(env.n)],)


@loop("Syamlal-M/Website-Analysis-: README.md", "parallel", args=_status_args, auto=True)
def website_status_codes(urls):
    """Check a list of websites' status codes through a helper that fills a global dict, then
    print them.

        def fetchStatus(url):
          information = requests.get(url,timeout=2)
          statusDict[url] = information.status_code

        for url in urls:
          fetchStatus(url)

        for url in statusDict:
          status = statusDict[url]
          print('{:4} : {}'.format(status,url))

    Changes: local URLs (some answer 403); the URL list is an argument; the total time print
    (different on every run) is dropped."""
    for url in urls:
        fetchStatus(url)

    for url in statusDict:
        status = statusDict[url]

        print('{:4} : {}'.format(status, url))


@loop("mickey1cx/skillbox_webinars: hack_pass/day_01_hw.py", "parallel",
      args=lambda env: ([f"{env.base}/status/site{k}?code={200 if k % 2 else 301}" for k in range(max(env.n // 2, 2))], 3))
def skillbox_status_counts(sites, count):
    """Homework: request each site `count` times, counting status codes and summing times.

        for site in sites:
            result = {}
            times = {}
            for i in range(count):
                start_time = time.time()
                r = requests.get(site)
                delta_time = time.time() - start_time
                result[r.status_code] = result.setdefault(r.status_code, 0) + 1
                times[r.status_code] = times.setdefault(r.status_code, 0) + delta_time
            print(site, result, times)

    Changes: local sites; count 100 -> `count`; the summed times (different on every run) are
    printed as `{code: total > 0}`."""
    for site in sites:
        result = {}
        times = {}
        for i in range(count):
            start_time = time.time()
            r = requests.get(site)
            delta_time = time.time() - start_time
            result[r.status_code] = result.setdefault(r.status_code, 0) + 1
            times[r.status_code] = times.setdefault(r.status_code, 0) + delta_time
        print(site, result, {code: total > 0 for code, total in times.items()})


# ============================================================ urllib downloads


@loop("Tharnid/TharnML: PFSA1/py3env/newptf.py", "parallel",
      args=lambda env: ([f"{env.base}/file/img{k}.jpg" for k in range(env.n)],), auto=True)
def tharnml_urlopen_files(url_list):
    """Download a list of images with urllib, printing the status and the file written.

        for url in url_list:
            with urllib.request.urlopen( url ) as response:
                print( "Status:", response.status )
                _, _, filename = response.geturl().rpartition("/")
                print( "Writing:", filename )
                with open( filename, "wb" ) as image:
                    image.write( response.read() )

    Changes: local URLs."""
    for url in url_list:
        with urllib.request.urlopen(url) as response:
            print("Status:", response.status)
            _, _, filename = response.geturl().rpartition("/")
            print("Writing:", filename)
            with open(filename, "wb") as image:
                image.write(response.read())


@loop("kaltzan/PythonAssignment1: webget.py", "parallel",
      args=lambda env: ([f"{env.base}/file/doc{k}.txt" for k in range(env.n)],))
def webget_download(urls):
    """An assignment: download each URL to a file named after its path.

        for i in range(len(urls)):
            url = urls[i]
            parsed_result = urlparse(url)
            url_paths = parsed_result.path.split('/')
            file_name = url_paths[-1]
            req.urlretrieve(url, file_name)

    Changes: local URLs."""
    for i in range(len(urls)):
        url = urls[i]
        parsed_result = urlparse(url)
        url_paths = parsed_result.path.split('/')
        file_name = url_paths[-1]
        urllib.request.urlretrieve(url, file_name)


# ============================================================ local commands


command_list = None


def _lemon_args(env):
    global command_list
    commands = [f"sleep {env.latency}; echo out {k}" if k % 3 != 1 else f"sleep {env.latency}; echo bad {k} >&2; exit 3"
                for k in range(env.n)]
    command_list = commands
    return ()


@loop("SolarityPy/lemon-py: CommandExecutor.py", "parallel", args=_lemon_args, server=False, auto=True)
def lemonpy_execute_all():
    """A command runner: run each shell command, keep its result, print success or failure.

        for command in command_list:
            try:
                result = subprocess.run(command, shell=True, capture_output=True, text=True)
                results.append({'command': command, 'returncode': result.returncode,
                                'stdout': result.stdout, 'stderr': result.stderr})
                if result.returncode == 0:
                    print(f"✓ Success: {command}")
                else:
                    print(f"✗ Failed: {command} - {result.stderr}")
            except Exception as e:
                print(f"✗ Error executing {command}: {e}")
                results.append({'command': command, 'error': str(e)})

    Changes: the file is a template (its braces are doubled); they are single here. Local
    commands (`sleep; echo`, some failing)."""
    results = []
    for command in command_list:
        try:
            result = subprocess.run(command, shell=True, capture_output=True, text=True)
            results.append({
                'command': command,
                'returncode': result.returncode,
                'stdout': result.stdout,
                'stderr': result.stderr
            })

            if result.returncode == 0:
                print(f"✓ Success: {command}")
            else:
                print(f"✗ Failed: {command} - {result.stderr}")

        except Exception as e:
            print(f"✗ Error executing {command}: {e}")
            results.append({
                'command': command,
                'error': str(e)
            })
    return results


def execute(cmd):
    """denlogv's generator: the lines a command prints, then its exit status checked."""
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, shell=False)
    for stdout_line in iter(popen.stdout.readline, ""):
        yield stdout_line
    popen.stdout.close()
    return_code = popen.wait()
    if return_code:
        raise subprocess.CalledProcessError(return_code, cmd)


@loop("denlogv/Extending-semantic-metrics-for-AMR: experiments/check_cmd.py", "parallel",
      args=lambda env: ([f"{shlex.quote(sys.executable)} -c 'import time; time.sleep({env.latency}); print(\"line\", {k}); "
                         f"print(\"more\", {k})'" for k in range(env.n)],), server=False)
def amr_check_cmds(cmds):
    """Run each command and stream its output line by line.

        def check_cmds(cmds):
            for cmd in cmds:
                for out in execute(shlex.split(cmd)):
                    print(out, end='')

    Changes: local commands (a Python one-liner that sleeps and prints)."""
    for cmd in cmds:
        for out in execute(shlex.split(cmd)):
            print(out, end='')


def execute_git(command):
    """natif/git-repo-stats's `execute`: a Popen's stdout lines as an iterator."""
    popen = subprocess.Popen(shlex.split(command), stdout=subprocess.PIPE)
    lines_iterator = iter(popen.stdout.readline, b"")
    return lines_iterator


_GIT_ENV = {"GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git_repo(env):
    """A small repository in the working directory: n commits by n // 2 authors."""
    environ = dict(os.environ, **_GIT_ENV)
    subprocess.run(["git", "init", "-q", "."], check=True, env=environ)
    for k in range(env.n):
        author = f"Author{k % max(env.n // 2, 1)}"
        with open(f"file{k}.txt", "w") as fh:
            fh.write("line\n" * (k + 1))
        subprocess.run(["git", "add", f"file{k}.txt"], check=True, env=environ)
        subprocess.run(["git", "-c", f"user.name={author}", "-c", f"user.email={author}@example.com",
                        "commit", "-q", "-m", f"commit {k}"], check=True, env=environ)
    return ()


@loop("natif/git-repo-stats: gitrepostats.py", "parallel",
      args=_git_repo, server=False)
def git_repo_stats():
    """Lines added and deleted per author, one `git log --author` per author.

        for user in users_set:
            print("User: " + user)
            print("\\n")
            file_lines = execute("git log --author=\\""+user+"\\" --pretty=tformat: --numstat")
            lines_added = 0
            lines_deleted = 0
            for fline in file_lines:
                file_list = fline.split()
                if file_list:
                    lines_added += int(file_list[0])
                    lines_deleted += int(file_list[1])
            users_dict_added[user] = lines_added
            users_dict_deleted[user] = lines_deleted

    Changes: `execute` splits the command with shlex (Popen of a whole command string only
    works on Windows); a local repository made for the run (a set of strings iterates in the
    same order for both runs of one process)."""
    users = []
    users_iterator = execute_git("git log --pretty=format:\" %an \"")
    for line in users_iterator:
        users.append(line.strip().decode('utf-8'))

    users_set = set(users)
    users_dict_added = {}
    users_dict_deleted = {}

    for user in users_set:
        print("User: " + user)
        print("\n")
        file_lines = execute_git("git log --author=\"" + user + "\" --pretty=tformat: --numstat")
        lines_added = 0
        lines_deleted = 0
        for fline in file_lines:
            file_list = fline.split()
            if file_list:
                lines_added += int(file_list[0])
                lines_deleted += int(file_list[1])

        users_dict_added[user] = lines_added
        users_dict_deleted[user] = lines_deleted

    print(users_set)
    print(users_dict_added)
    print(users_dict_deleted)
