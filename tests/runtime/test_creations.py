"""Requests that create resources run in order; other POSTs stay parallel (`xcs.runtime.creations`).

Each loop runs plain, then under `@xcs.jit`, against `tests.runtime.creating_service`, which
numbers created issues in the order it *finishes* them: the k-th request takes longer than
the later ones, so sent together the numbers would go to other titles. Results are compared
with the plain run; overlap is read from the service's peak-concurrency gauge.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid

import pytest

import xcs
from xcs.runtime import creations, hosts
from tests.runtime.creating_service import running_service, stats

requests = pytest.importorskip("requests")
httpx = pytest.importorskip("httpx")

N = 6
STEP = 0.02     # request k waits STEP * (N - k) seconds at the server before it is numbered


@pytest.fixture(scope="module")
def service():
    with running_service() as base:
        yield base


@pytest.fixture(autouse=True)
def fresh():
    creations.forget()
    yield
    xcs.configure(endpoints={}, per_host={})


def issues_url(base, answer="201"):
    return f"{base}/repos/r-{uuid.uuid4().hex[:8]}/issues?answer={answer}"


def payload(k, n):
    return {"title": f"t{k}", "delay": STEP * (n - k)}


def with_requests(session, url, n):
    out = []
    for k in range(n):
        r = session.post(url, json=payload(k, n))
        out.append((r.status_code, r.json()))
    return out


def with_httpx(client, url, n):
    out = []
    for k in range(n):
        r = client.post(url, json=payload(k, n))
        out.append((r.status_code, r.json()))
    return out


def with_urllib(url, n):
    out = []
    for k in range(n):
        request = urllib.request.Request(url, data=json.dumps(payload(k, n)).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            out.append((r.status, json.loads(r.read())))
    return out


def plain_and_jitted(fn, base, *args, url_at=None):
    """(plain result, jitted result, peak of the jitted run, reports). When `url_at` names the
    argument holding the URL, the plain run goes to another repository (its own numbering)
    and the jitted run to the URL given."""
    plain_args = list(args)
    if url_at is not None:
        plain_args[url_at] = plain_args[url_at].replace("/repos/r-", "/repos/p-")
    plain = fn(*plain_args)
    stats(base)
    jitted_fn = xcs.jit(fn)
    jitted = jitted_fn(*args)
    peak = stats(base)["peak"]
    return plain, jitted, peak, xcs.explain(jitted_fn)


def key_of(url, method="POST"):
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return creations.endpoint_key(method, parts.scheme, parts.hostname, parts.port, parts.path)


# -- the rule ------------------------------------------------------------------------------

def test_endpoint_keys_and_verdicts():
    assert creations.endpoint_key("post", "HTTP", "Api.Example.com", None, "/repos/o/r/issues/42/comments") == \
        ("POST", "http", "api.example.com", 80, "/repos/o/r/issues/*/comments")
    assert creations.endpoint_key("POST", "https", "h", 8443, "/jobs/3f2a9c1e-0b4d-4e5f-9a8b-7c6d5e4f3a2b/run")[4] == \
        "/jobs/*/run"
    assert creations.endpoint_key("POST", "https", "h", None, "/v1/chat/completions")[4] == "/v1/chat/completions"
    assert creations.endpoint_key("POST", "https", "h", None, "/models/deadbeefcafe/x")[4] == "/models/deadbeefcafe/x"
    assert creations.describe(("POST", "https", "api.github.com", 443, "/repos/o/r/issues")) == \
        "POST api.github.com/repos/o/r/issues"
    assert creations.describe(("PATCH", "http", "127.0.0.1", 8000, "/x")) == "PATCH 127.0.0.1:8000/x"

    class Answer:
        def __init__(self, status, headers=None):
            self.status, self.headers = status, headers or {}

    assert creations.answer_verdict(Answer(201))[0] == creations.CREATES
    assert creations.answer_verdict(Answer(303, {"Location": "/r/1"}))[0] == creations.CREATES
    assert creations.answer_verdict(Answer(202, {"Location": "/jobs/1"}))[0] == creations.CREATES
    assert creations.answer_verdict(Answer(200))[0] == creations.INDEPENDENT
    assert creations.answer_verdict(Answer(204))[0] == creations.INDEPENDENT
    assert creations.answer_verdict(Answer(302, {"Location": "/r/1"}))[0] == creations.CREATES
    for status in (301, 307, 308):                      # the request moved: judged where it goes
        assert creations.answer_verdict(Answer(status, {"Location": "/v2/x"}))[0] == creations.INDEPENDENT
    for status in (304, 400, 404, 409, 422, 429, 500, 503):   # an error tells nothing: still unknown
        assert creations.answer_verdict(Answer(status)) == (None, None)


@pytest.mark.parametrize("client", ["requests", "httpx", "urllib"])
def test_created_resources_get_the_plain_numbers(service, client):
    url = issues_url(service)
    if client == "requests":
        fn, args, at = with_requests, (requests.Session(), url, N), 1
    elif client == "httpx":
        fn, args, at = with_httpx, (httpx.Client(timeout=30), url, N), 1
    else:
        fn, args, at = with_urllib, (url, N), 0
    plain, jitted, peak, reports = plain_and_jitted(fn, service, *args, url_at=at)
    assert jitted == plain
    assert [body["number"] for _, body in plain] == list(range(1, N + 1))
    assert peak == 1
    assert reports[0].parallel, str(reports)
    assert "were found to create resources" in str(reports) and "201 Created" in str(reports), str(reports)


def test_opting_out_sends_them_together_and_the_numbers_differ(service):
    """The comparison above can fail: declared independent, the same loop overlaps and the
    service numbers the issues in the order it finishes them (the reverse)."""
    url = issues_url(service)
    where = creations.describe(key_of(url))
    xcs.configure(endpoints={where: "independent"})
    plain, jitted, peak, _ = plain_and_jitted(with_requests, service, requests.Session(), url, N, url_at=1)
    assert peak >= 2
    assert jitted != plain


def test_a_declared_creating_endpoint_runs_in_order_without_learning(service):
    url = issues_url(service, answer="body")        # not detectable: declared instead
    xcs.configure(endpoints={creations.describe(key_of(url)): "creates"})
    plain, jitted, peak, reports = plain_and_jitted(with_requests, service, requests.Session(), url, N, url_at=1)
    assert jitted == plain and peak == 1
    assert "(declared with xcs.configure) were found to create resources" in str(reports), str(reports)


def test_a_location_header_on_200_counts_as_created(service):
    url = issues_url(service, answer="location")
    plain, jitted, peak, _ = plain_and_jitted(with_requests, service, requests.Session(), url, N, url_at=1)
    assert jitted == plain and peak == 1


def test_a_bare_201_counts_as_created(service):
    url = issues_url(service, answer="201bare")
    plain, jitted, peak, _ = plain_and_jitted(with_httpx, service, httpx.Client(timeout=30), url, N, url_at=1)
    assert jitted == plain and peak == 1


def test_an_id_in_a_200_body_is_not_detectable(service):
    """The documented limitation: 200 with the new number only in the body looks like any
    answer that created nothing. The endpoint is learned independent and the requests overlap."""
    url = issues_url(service, answer="body")
    _, _, peak, _ = plain_and_jitted(with_requests, service, requests.Session(), url, N, url_at=1)
    assert creations.verdict_of(key_of(url))[0] == creations.INDEPENDENT
    assert peak >= 2


# -- POSTs that create nothing stay parallel -------------------------------------------------

def chat_with_requests(base, prompts):
    out = []
    for p in prompts:
        r = requests.post(base + "/v1/chat/completions?delay=0.05",
                          json={"model": "m", "messages": [{"role": "user", "content": p}]})
        out.append(r.json()["choices"][0]["message"]["content"])
    return out


def generate_with_httpx(base, prompts):
    out = []
    with httpx.Client(timeout=30) as client:
        for p in prompts:
            out.append(client.post(base + "/api/generate?delay=0.05", json={"prompt": p}).json()["response"])
    return out


@pytest.mark.parametrize("fn", [chat_with_requests, generate_with_httpx])
def test_llm_like_posts_overlap_after_the_first(service, fn):
    prompts = [f"p{k}" for k in range(8)]
    plain, jitted, peak, reports = plain_and_jitted(fn, service, service, prompts)
    assert jitted == plain
    assert peak >= 2, f"no overlap (peak {peak})"
    assert "create resources" not in str(reports)
    path = "/v1/chat/completions" if fn is chat_with_requests else "/api/generate"
    assert creations.verdict_of(key_of(service + path)) == (creations.INDEPENDENT, "200")


def chat_with_openai(client, prompts):
    out = []
    for p in prompts:
        completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": p}])
        out.append(completion.choices[0].message.content)
    return out


def test_the_openai_client_stays_parallel(service):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{service}/v1", api_key="local", max_retries=0)
    prompts = [f"q{k}" for k in range(8)]
    plain, jitted, peak, reports = plain_and_jitted(chat_with_openai, service, client, prompts)
    assert jitted == plain
    assert peak >= 2, f"no overlap (peak {peak})"
    assert "create resources" not in str(reports)


# -- failures, mixtures, threads ----------------------------------------------------------------

def create_or_fail(session, url, n):
    out = []
    for k in range(n):
        try:
            r = session.post(url, json=payload(k, n), timeout=30)
            out.append((r.status_code, r.json()))
        except requests.RequestException as error:
            out.append(type(error).__name__)
    return out


@pytest.mark.parametrize("how,fails", [("500", 1), ("500", 3), ("drop", 1)])
def test_a_failing_probe_leaves_the_endpoint_unknown(service, how, fails):
    """A probe answered 500 or never answered teaches nothing: the next request probes, in
    order, and its 201 decides. The numbers are the plain run's."""
    def url():
        return f"{service}/flaky/{uuid.uuid4().hex[:8]}?fails={fails}&how={how}"

    session = requests.Session()
    plain = create_or_fail(session, url(), N)
    creations.forget()
    stats(service)
    jitted_url = url()
    jitted = xcs.jit(create_or_fail)(session, jitted_url, N)
    assert stats(service)["peak"] == 1
    assert jitted == plain
    assert plain[fails][0] == 201 and plain[:fails] != plain[fails:fails + 1]
    assert creations.verdict_of(key_of(jitted_url))[0] == creations.CREATES


def fetch_then_create(session, base, url, n):
    out = []
    for k in range(n):
        item = session.get(f"{base}/item/{k}?delay=0.1").json()
        r = session.post(url, json=payload(k, n))
        out.append((item, r.status_code, r.json()))
    return out


def test_gets_overlap_while_creating_posts_go_in_order(service):
    url = issues_url(service)
    plain, jitted, peak, _ = plain_and_jitted(fetch_then_create, service, requests.Session(), service, url, N,
                                              url_at=2)
    assert jitted == plain
    assert peak >= 2, f"the GETs did not overlap (peak {peak})"


def summarize_then_create(session, base, url, n):
    out = []
    for k in range(n):
        chat = session.post(base + "/v1/chat/completions?delay=0.1",
                            json={"model": "m", "messages": [{"role": "user", "content": f"issue {k}"}]})
        title = chat.json()["choices"][0]["message"]["content"]
        r = session.post(url, json={"title": title, "delay": STEP * (n - k)})
        out.append((r.status_code, r.json()))
    return out


def test_llm_calls_overlap_while_the_issues_they_write_are_created_in_order(service):
    """The common shape: an LLM call per item (POST, 200: parallel), then a POST that
    creates the item's issue (201: in order)."""
    url = issues_url(service)
    plain, jitted, peak, reports = plain_and_jitted(summarize_then_create, service, requests.Session(), service,
                                                    url, N, url_at=2)
    assert jitted == plain
    assert peak >= 2, f"the LLM calls did not overlap (peak {peak})"
    assert "/repos/r-" in str(reports) and "/v1/chat/completions`" not in str(reports)


def stream_then_create(session, base, url, n):
    out = []
    for k in range(n):
        held = session.get(f"{base}/item/{k}?delay=0.05", stream=True)    # body left unread: slot held
        r = session.post(url, json=payload(k, n))
        out.append((held.status_code, r.json()))
        held.close()
    return out


def test_a_worker_waiting_for_its_turn_never_deadlocks_with_a_per_host_cap(service):
    """cap 1: a later iteration holds the host's slot (an unread response) while its POST
    waits for the turn; the earlier iteration, waiting for that slot, goes over the cap."""
    url = issues_url(service)
    session = requests.Session()
    plain = stream_then_create(session, service, url.replace("/repos/r-", "/repos/p-"), N)
    xcs.configure(per_host={"127.0.0.1": 1})
    done = []
    runner = threading.Thread(target=lambda: done.append(xcs.jit(stream_then_create)(session, service, url, N)),
                              daemon=True)
    runner.start()
    runner.join(120)
    assert done, "the loop hung"
    assert done[0] == plain
    assert hosts._taken.get("127.0.0.1", 0) == 0


def test_two_loops_in_two_threads(service):
    session = requests.Session()
    jitted = xcs.jit(with_requests)
    urls = [issues_url(service), issues_url(service)]
    plain = [with_requests(session, u.replace("/repos/r-", "/repos/p-"), N) for u in urls]
    results = [None, None]

    def run(i):
        results[i] = jitted(session, urls[i], N)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == plain


def test_the_option_is_validated():
    with pytest.raises(ValueError):
        xcs.configure(endpoints={"GET example.com/x": "independent"})
    with pytest.raises(ValueError):
        xcs.configure(endpoints={"POST example.com/x": "sometimes"})
    with pytest.raises(ValueError):
        xcs.configure(endpoints={"POST example.com": "creates"})
    with pytest.raises(TypeError):
        xcs.configure(endpoints=["POST example.com/x"])
    settings = xcs.configure(endpoints={"post Example.com:8080/a/12/b?x=1": "creates"})
    assert dict(settings.options.endpoints) == {"POST example.com:8080/a/*/b": "creates"}


def test_what_was_learned_holds_for_the_next_calls(service):
    url = issues_url(service)
    session = requests.Session()
    plain_url = url.replace("/repos/r-", "/repos/p-")
    plain = [with_requests(session, plain_url, N) for _ in range(2)]
    jitted_fn = xcs.jit(with_requests)
    jitted = [jitted_fn(session, url, N) for _ in range(2)]
    assert jitted == plain
    assert [body["number"] for _, body in jitted[1]] == list(range(N + 1, 2 * N + 1))
    assert "create resources" in str(xcs.explain(jitted_fn))     # the second run's report too


def create_unless_bad(session, url, items):
    out = []
    for k in items:
        if k == "bad":
            time.sleep(0.3)          # the later iterations reach their POST meanwhile
            raise ValueError(k)
        r = session.post(url, json={"title": f"t{k}", "delay": 0.01})
        out.append(r.json()["number"])
    return out


def test_iterations_waiting_for_a_probe_send_nothing_when_an_earlier_one_fails(service):
    """Iteration 0 fails before any POST: plain sends none. Under XCS (the loop decided
    parallel by an earlier call) the later iterations' POSTs to a new endpoint wait for the
    probe or their turn and are abandoned unsent: the service sees no request, the next
    call's numbers start at 1, and the endpoint is not left waiting for a probe."""
    session = requests.Session()
    jitted = xcs.jit(create_unless_bad)
    assert jitted(session, issues_url(service), [1, 2, 3]) == [1, 2, 3]      # decides: parallel
    assert xcs.explain(jitted)[0].parallel
    for fn in (create_unless_bad, jitted):
        url = issues_url(service)
        stats(service)
        with pytest.raises(ValueError):
            fn(session, url, ["bad", 1, 2, 3])
        assert stats(service)["requests"] == 0
        assert fn(session, url, [4, 5, 6]) == [1, 2, 3]
    # The check above can fail: declared independent, the later iterations send theirs.
    url = issues_url(service)
    xcs.configure(endpoints={creations.describe(key_of(url)): "independent"})
    stats(service)
    with pytest.raises(ValueError):
        jitted(session, url, ["bad", 1, 2, 3])
    assert stats(service)["requests"] >= 1


def test_the_wrapper_stays_outside_the_per_host_caps():
    """Whichever is installed first, a request waits for its turn before it takes a slot."""
    import urllib3

    creations.ensure_installed()
    hosts.ensure_installed()
    for cls, name in [(urllib3.connectionpool.HTTPConnectionPool, "urlopen"), (httpx.HTTPTransport, "handle_request"),
                      (urllib.request.AbstractHTTPHandler, "do_open")]:
        entry = vars(cls)[name]
        assert hasattr(entry, "__xcs_outer__"), (cls, name)
        assert hasattr(entry.__xcs_inner__, "__xcs_capped__"), (cls, name)


def test_the_endpoint_table_is_bounded(monkeypatch):
    """A crawler POSTing to a new path per item must not grow the table without end: past
    MAX_ENDPOINTS the oldest idle endpoint is forgotten (and learned again if used)."""
    monkeypatch.setattr(creations, "MAX_ENDPOINTS", 3)
    creations.forget()
    keys = [creations.endpoint_key("POST", "http", "h", 80, f"/items/n{k}x/embed") for k in range(5)]
    for key in keys[:3]:
        creations._settle(creations._endpoint(key), creations.INDEPENDENT, "200", False)
    busy = creations._endpoint(keys[0])
    busy.probing = True                       # a request to it is on its way: kept
    creations._endpoint(keys[3])
    creations._endpoint(keys[4])
    assert len(creations._endpoints) == 3
    assert keys[0] in creations._endpoints and keys[1] not in creations._endpoints and keys[2] not in creations._endpoints
    assert creations.verdict_of(keys[1]) == (None, None)
    busy.probing = False
    creations.forget()
