"""The loopback OpenAI-compatible server, exercised over real sockets with httpx2."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.loopback import (
    LoopbackServer,
    disconnect,
    hang,
    malformed,
    rate_limit,
    rules,
    status,
)
from tests.loopback_fixtures import TEST_API_KEY


@pytest.fixture
def client(openai_server: LoopbackServer) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
    # verify=False: plain HTTP, and building the default TLS context costs ~40 ms per client
    with httpx2.Client(
        base_url=openai_server.base_url, headers=headers, timeout=5, verify=False
    ) as c:
        yield c


def chat(client: httpx2.Client, content: str = "hello there", model: str = "m") -> httpx2.Response:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": content},
    ]
    return client.post("/chat/completions", json={"model": model, "messages": messages})


def test_chat_completion_has_openai_shape_and_usage(client: httpx2.Client) -> None:
    response = chat(client, "hello there")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "m"
    assert "system_fingerprint" not in body
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "echo: hello there"},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}


def test_text_completion_has_openai_shape_and_usage(client: httpx2.Client) -> None:
    response = client.post("/completions", json={"model": "m", "prompt": "say hi"})

    body = response.json()
    assert body["object"] == "text_completion"
    assert body["choices"] == [{"index": 0, "text": "echo: say hi", "finish_reason": "stop"}]
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_usage_counts_at_least_one_token(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.set_model("m", lambda request: "")

    usage = client.post("/completions", json={"model": "m", "prompt": ""}).json()["usage"]

    assert usage == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def test_set_model_reports_name_and_fingerprint(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.set_model(
        "gpt-4o",
        lambda request: "fixed",
        reported="gpt-4o-2024-08-06",
        system_fingerprint="fp_abc",
    )

    body = chat(client, model="gpt-4o").json()

    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["system_fingerprint"] == "fp_abc"
    assert body["choices"][0]["message"]["content"] == "fixed"


def test_default_responder_is_replaceable(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.default_responder = lambda request: request.user_text.upper()

    assert chat(client, "shout").json()["choices"][0]["message"]["content"] == "SHOUT"


def test_rules_answer_the_first_matching_key(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.set_model("m", rules({"refund": "billing", "fund": "other"}, default="none"))

    def answer(content: str) -> str:
        return str(chat(client, content).json()["choices"][0]["message"]["content"])

    assert answer("I want a refund") == "billing"
    assert answer("crowdfunding?") == "other"
    assert answer("hello") == "none"


def test_models_endpoint_lists_configured_models(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.set_model("b", rules({}))
    openai_server.set_model("a", rules({}))

    body = client.get("/models").json()

    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == ["a", "b"]


def test_unknown_path_is_a_json_404(client: httpx2.Client) -> None:
    response = client.post("/moderations", json={"model": "m"})  # /embeddings is served

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
    assert "/v1/moderations" in response.json()["error"]["message"]


def test_embeddings_are_bags_of_hashed_words_in_input_order(client: httpx2.Client) -> None:
    response = client.post("/embeddings", json={"model": "m", "input": ["b a", "a b", "c"]})

    data = response.json()["data"]
    assert [item["index"] for item in data] == [0, 1, 2]
    assert data[0]["embedding"] == data[1]["embedding"] != data[2]["embedding"]
    assert response.json()["usage"]["prompt_tokens"] == 5


def test_embeddings_without_input_are_a_400(client: httpx2.Client) -> None:
    assert client.post("/embeddings", json={"model": "m"}).status_code == 400


def test_wrong_method_on_completions_is_405(client: httpx2.Client) -> None:
    assert client.get("/chat/completions").status_code == 405


def test_body_that_is_not_json_is_a_400(client: httpx2.Client) -> None:
    response = client.post("/chat/completions", content=b"{nope")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_failing_responder_is_a_500_naming_the_error(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    def broken(request: Any) -> str:
        raise KeyError("missing-rule")

    openai_server.set_model("m", broken)

    response = chat(client)

    assert response.status_code == 500
    assert "missing-rule" in response.json()["error"]["message"]


def test_chunked_request_body_is_read(client: httpx2.Client) -> None:
    parts = [b'{"model": "m", ', b'"prompt": "in pieces"}']

    response = client.post("/completions", content=iter(parts))

    assert response.json()["choices"][0]["text"] == "echo: in pieces"


def test_keep_alive_reuses_one_connection(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    for _ in range(3):
        response = chat(client)
        assert int(response.headers["content-length"]) == len(response.content)

    assert openai_server.connection_count == 1


def test_latency_delays_each_request(openai_server: LoopbackServer, client: httpx2.Client) -> None:
    openai_server.latency_ms = 100

    started = time.perf_counter()
    chat(client)

    assert time.perf_counter() - started >= 0.1


def test_model_latency_overrides_server_latency(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.latency_ms = 1000
    openai_server.set_model("fast", rules({}), latency_ms=0)

    started = time.perf_counter()
    chat(client, model="fast")

    assert time.perf_counter() - started < 0.9  # the server's 1000 ms would exceed it


def test_latency_does_not_serialize_concurrent_requests(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.latency_ms = 100

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda i: chat(client, f"n{i}").status_code, range(20)))
    elapsed = time.perf_counter() - started

    assert codes == [200] * 20
    assert 0.1 <= elapsed < 1.5  # serialized, 20 x 100 ms would take 2 s
    assert openai_server.max_in_flight >= 10


def test_rate_limit_fault_sends_retry_headers(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(rate_limit(retry_after=2, retry_after_ms=1500))

    response = chat(client)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_rate_limit_fault_passes_http_date_through(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    openai_server.inject(rate_limit(retry_after=date))

    response = chat(client)

    assert response.headers["retry-after"] == date
    assert "retry-after-ms" not in response.headers


def test_status_fault_sends_openai_error_json(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(500))

    response = chat(client)

    assert response.status_code == 500
    assert response.json() == {
        "error": {"message": "Internal Server Error", "type": "server_error"}
    }


def test_status_fault_with_custom_body_and_headers(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(401, body={"error": {"message": "bad key"}}, headers={"x-a": "1"}))

    response = chat(client)

    assert response.status_code == 401
    assert response.json() == {"error": {"message": "bad key"}}
    assert response.headers["x-a"] == "1"


def test_malformed_fault_body_is_not_json(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(malformed())

    response = chat(client)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_hang_fault_outlasts_a_short_client_timeout(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(hang(5))

    started = time.perf_counter()
    with pytest.raises(httpx2.ReadTimeout):
        client.post("/completions", json={"model": "m", "prompt": "p"}, timeout=0.2)
    assert time.perf_counter() - started < 3  # the hang lasts 5 s


def test_short_hang_then_answers_normally(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(hang(0.1))

    started = time.perf_counter()
    response = chat(client)

    assert time.perf_counter() - started >= 0.1
    assert response.status_code == 200


def test_disconnect_fault_closes_without_response(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(disconnect())

    with pytest.raises(httpx2.RemoteProtocolError):
        chat(client)
    assert chat(client).status_code == 200
    assert len(openai_server.completion_requests) == 2


def test_scripted_faults_are_consumed_in_order(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(503), rate_limit())

    codes = [chat(client).status_code for _ in range(3)]

    assert codes == [503, 429, 200]
    assert openai_server.pending_faults == 0


def test_fault_for_one_model_spares_others(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(502), model="b")

    assert chat(client, model="a").status_code == 200
    assert openai_server.pending_faults == 1
    assert chat(client, model="b").status_code == 502


def test_faults_are_not_consumed_by_other_endpoints(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(500))

    client.get("/models")

    assert openai_server.pending_faults == 1


def fault_codes(server: LoopbackServer, rate: float, n: int = 24) -> list[int]:
    server.fault_rate = rate
    server.fault_kinds = [status(503), rate_limit()]
    with httpx2.Client(base_url=server.base_url, timeout=5, verify=False) as c:
        return [chat(c).status_code for _ in range(n)]


def test_seeded_fault_rate_is_reproducible(openai_server: LoopbackServer) -> None:
    openai_server.seed = 7
    first = fault_codes(openai_server, 0.5)
    openai_server.reset()
    second = fault_codes(openai_server, 0.5)
    with LoopbackServer(seed=7) as other:
        third = fault_codes(other, 0.5)

    assert first == second == third
    assert {200, 503, 429} <= set(first)


def test_zero_fault_rate_never_faults(openai_server: LoopbackServer) -> None:
    assert set(fault_codes(openai_server, 0.0)) == {200}


def test_requests_are_recorded_with_headers_and_body(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    before = time.perf_counter()
    chat(client, "record me", model="gpt-x")

    [record] = openai_server.requests
    assert record.method == "POST"
    assert record.path == "/v1/chat/completions"
    assert record.model == "gpt-x"
    assert record.headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert record.body["messages"][1] == {"role": "user", "content": "record me"}
    assert record.user_text == "record me"
    assert before <= record.started <= time.perf_counter()


def test_faulted_requests_are_recorded_too(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(500), disconnect())

    chat(client)
    with pytest.raises(httpx2.HTTPError):
        chat(client)

    assert len(openai_server.requests) == 2


def test_completion_requests_exclude_other_endpoints(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    client.get("/models")
    client.post("/nowhere")
    chat(client, model="a")
    client.post("/completions", json={"model": "b", "prompt": "p"})

    assert [r.model for r in openai_server.completion_requests] == ["a", "b"]
    assert len(openai_server.requests) == 4
    assert [r.path for r in openai_server.requests_for("b")] == ["/v1/completions"]


def test_reset_clears_records_faults_and_counters(
    openai_server: LoopbackServer, client: httpx2.Client
) -> None:
    openai_server.inject(status(500), status(500))
    chat(client)

    openai_server.reset()

    assert openai_server.requests == []
    assert openai_server.pending_faults == 0
    assert openai_server.max_in_flight == 0
    assert chat(client).status_code == 200


def test_stop_is_prompt_with_a_hung_handler(openai_server: LoopbackServer) -> None:
    openai_server.inject(hang(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with httpx2.Client(base_url=openai_server.base_url, timeout=10, verify=False) as c:
                chat(c)
        except httpx2.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.perf_counter() + 2
    while openai_server.in_flight == 0 and time.perf_counter() < deadline:
        time.sleep(0.01)
    # else stop() would find no hung handler and the test would prove nothing
    assert openai_server.in_flight == 1, "the call never reached the server"

    started = time.perf_counter()
    openai_server.stop()
    stopped_in = time.perf_counter() - started
    caller.join(timeout=2)

    assert stopped_in < 2  # the hung handler would hold it for 30 s
    assert not caller.is_alive()
    assert len(errors) == 1


def test_base_url_needs_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = LoopbackServer().base_url


def test_openai_env_points_the_environment_at_the_server(openai_env: LoopbackServer) -> None:
    assert os.environ["OPENAI_BASE_URL"] == openai_env.base_url
    assert os.environ["OPENAI_API_KEY"] == TEST_API_KEY
    assert openai_env.base_url.startswith("http://127.0.0.1:")
    assert openai_env.base_url.endswith("/v1")
