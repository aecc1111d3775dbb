"""The OpenAI-compatible provider over real sockets against servers that misbehave.

Every failure of a call is one clean ProviderError without the key: malformed responses (a
fixed table and seeded mutations of a valid one), redirects, oversized bodies, a trickled
body, a request body that cannot be encoded. Each runs through both transports the provider
uses: the lean one (plain http://) and httpx2's own (https://, proxies).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers import ProviderConfig, ProviderSet
from pytest_promptcheck.providers.http import MAX_BODY_BYTES
from pytest_promptcheck.providers.openai import OpenAIProvider
from pytest_promptcheck.records import Completion, ModelRequest
from tests.loopback import LoopbackServer, status
from tests.loopback_fixtures import TEST_API_KEY
from tests.raw_server import RawServer, Script, response

REQUEST = ModelRequest(model="openai:m", messages=None, prompt="hi", params={"temperature": 0})
GOOD_BODY = json.dumps({"choices": [{"text": "ok", "finish_reason": "stop"}], "model": "m"})
TRANSPORTS: dict[str, Callable[[], httpx2.AsyncBaseTransport | None]] = {
    "lean": lambda: None,  # the provider's own choice for http://
    "httpx2": lambda: httpx2.AsyncHTTPTransport(verify=False),  # plain http: no CA to load
}


def complete(
    url: str,
    transport: str = "lean",
    *,
    timeout_s: float = 5.0,
    request: ModelRequest = REQUEST,
) -> Completion | ProviderError:
    async def go() -> Completion | ProviderError:
        config = ProviderConfig(name="openai", type="openai", base_url=url)
        provider = OpenAIProvider(config, timeout_s, transport=TRANSPORTS[transport]())
        try:
            return await provider.complete(request, 0)
        except ProviderError as exc:
            return exc
        finally:
            await provider.aclose()

    return asyncio.run(go())


def failure(script: Script | bytes, transport: str = "lean", **kwargs: float) -> ProviderError:
    with RawServer(script) as server:
        result = complete(server.base_url, transport, **kwargs)
    assert isinstance(result, ProviderError), result
    assert TEST_API_KEY not in str(result)
    return result


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


MALFORMED = {
    "status 2OO": response(GOOD_BODY.encode(), status=b"HTTP/1.1 2OO OK"),
    "status line of junk": b"I am not HTTP\r\n\r\n",
    "two-digit status": response(b"{}", status=b"HTTP/1.1 20 OK"),
    "header line without colon": response(b"{}", headers=b"this is not a header"),
    "control bytes in a header": response(b"{}", headers=b"X-A: \x00\x01\x02\r\nContent-Length: 2"),
    "chunk size ZZ": response(b"ZZ\r\nhello\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked"),
    "chunk size huge, then close": response(
        b"FFFFFFFFFFFFFFFF\r\nabc", headers=b"Transfer-Encoding: chunked"
    ),
    "negative Content-Length": response(b"{}", headers=b"Content-Length: -5"),
    "two different Content-Lengths": response(
        b"{}", headers=b"Content-Length: 2\r\nContent-Length: 3"
    ),
    "huge Content-Length, short body": response(b"{}", headers=b"Content-Length: 99999999999"),
    "truncated body": response(b'{"choices": [', headers=b"Content-Length: 100"),
    "closed mid-chunk": response(b'64\r\n{"choices"', headers=b"Transfer-Encoding: chunked"),
    "status line only, then close": b"HTTP/1.1 200 OK\r\n",
    "nothing at all": b"",
    "binary junk": bytes(random.Random(8).randrange(256) for _ in range(4096)),
    "head larger than 64 KB": response(b"{}", headers=b"X-Big: " + b"a" * 100_000),
    "gzip that is not gzip": response(
        b"not gzip at all", headers=b"Content-Encoding: gzip\r\nContent-Length: 15"
    ),
    "200 whose body is not JSON": response(b"<html>oops</html>"),
    "200 whose JSON has no choices": response(b'{"error": null}'),
    "200 whose JSON is 100,000 deep": response(b"[" * 100_000 + b"]" * 100_000),
    "usage that is a list": response(b'{"choices": [{"text": "ok"}], "usage": [1, 2]}'),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_response_is_one_clean_provider_error(case: str, transport: str) -> None:
    error = failure(MALFORMED[case], transport)
    assert error.provider == "openai"


def test_a_malformed_status_line_names_what_was_wrong() -> None:
    error = failure(MALFORMED["status 2OO"])
    assert "malformed response" in error.message
    assert error.retryable


def test_a_body_that_is_not_json_says_so() -> None:
    error = failure(MALFORMED["200 whose body is not JSON"])
    assert "malformed response body (not JSON)" in error.message
    assert "<html>oops" in error.message


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_seeded_mutations_of_a_valid_response_end_cleanly(transport: str) -> None:
    """Flipped, cut, doubled and inserted bytes: a completion or a ProviderError, nothing else."""
    valid = response(GOOD_BODY.encode())
    rng = random.Random(20261130)
    with RawServer() as server:
        for _ in range(150):
            server.script = Script(mutate(valid, rng))
            result = complete(server.base_url, transport)
            assert isinstance(result, Completion | ProviderError), result
            assert TEST_API_KEY not in str(result)


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        kind = rng.randrange(4)
        if kind == 0:
            out[at] = rng.randrange(256)
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = out[at : at + rng.randint(1, 40)]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if not out:
            break
    return bytes(out)


def test_a_valid_chunked_and_gzipped_response_still_works() -> None:
    body = gzip.compress(GOOD_BODY.encode())
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip"
    with RawServer(response(chunked, headers=head)) as server:
        result = complete(server.base_url)
    assert isinstance(result, Completion)
    assert result.text == "ok"


# the key


def test_the_key_is_sent_as_a_bearer_token() -> None:
    with RawServer(response(GOOD_BODY.encode())) as server:
        complete(server.base_url)
    assert f"Authorization: Bearer {TEST_API_KEY}".lower().encode() in server.requests[0].lower()


def test_a_key_the_server_echoes_in_a_malformed_status_is_redacted() -> None:
    error = failure(response(b"{}", status=b"HTTP/1.1 2OO " + TEST_API_KEY.encode()))
    assert "[redacted]" in error.message


def test_a_key_that_cannot_be_a_header_is_a_clean_error_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY + "\n")  # pasted with its line break
    error = failure(response(GOOD_BODY.encode()))
    assert not error.retryable


def test_a_base_url_without_a_scheme_fails_at_once() -> None:
    result = complete("127.0.0.1:9/v1")
    assert isinstance(result, ProviderError)
    assert not result.retryable
    assert "http://" in result.message


# request bodies that cannot be encoded


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_param_is_a_clean_error_without_a_request(value: float) -> None:
    request = ModelRequest(model="openai:m", messages=None, prompt="hi", params={"t": value})
    with RawServer(response(GOOD_BODY.encode())) as server:
        result = complete(server.base_url, request=request)
    assert isinstance(result, ProviderError)
    assert not result.retryable
    assert "cannot be sent as JSON" in result.message
    assert server.requests == []


# redirects


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_named_at_once_and_never_followed(code: int, tmp_path: Path) -> None:
    with LoopbackServer() as target, LoopbackServer() as server:
        location = f"{target.base_url}/completions"
        server.inject(status(code, b"", {"Location": location}))
        server.set_model("m", lambda request: "ok")
        config = {"openai": ProviderConfig("openai", "openai", base_url=server.base_url)}
        cache = ResponseCache(tmp_path, CacheMode.OFF)
        client = ModelClient(ProviderSet(config, tmp_path), cache)
        with pytest.raises(ProviderError) as info:
            asyncio.run(sample_then_close(client))
    assert f"redirected to {location} (HTTP {code})" in str(info.value)
    assert "base_url" in str(info.value)
    assert info.value.tries == 1
    assert len(server.completion_requests) == 1
    assert target.requests == []  # never followed, so the key never went elsewhere


async def sample_then_close(client: ModelClient) -> Completion:
    try:
        return await client.sample(REQUEST, 0)
    finally:
        await client.providers.aclose()
        client.cache.close()


# bounded work


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_body_past_the_cap_is_refused_without_reading_it_all(transport: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    size = MAX_BODY_BYTES + 1_000_000
    script = Script(head + b"%x\r\n" % size, filler=size)
    error = failure(script, transport)
    assert "larger than the 16 MiB limit" in error.message
    assert not error.retryable


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bytes_after_a_compressed_body_count_toward_the_cap(transport: str) -> None:
    """After a gzip stream's end zlib decodes nothing more: the bytes sent still count, so a
    short gzip body followed by megabytes of junk is refused at the cap, not read to the end
    (or for ever) and accepted."""
    compressed = gzip.compress(GOOD_BODY.encode())
    size = MAX_BODY_BYTES + 1_000_000
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
    script = Script(head + b"%x\r\n" % (len(compressed) + size) + compressed, filler=size)
    error = failure(script, transport)
    assert "larger than the 16 MiB limit" in error.message


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_raw_deflate_body_is_read(transport: str) -> None:
    """ "deflate" without its zlib wrapper, as some servers send it: both paths read it."""
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = packer.compress(GOOD_BODY.encode()) + packer.flush()
    head = b"Content-Encoding: deflate\r\nContent-Length: %d" % len(body)
    with RawServer(response(body, headers=head)) as server:
        result = complete(server.base_url, transport)
    assert isinstance(result, Completion), result
    assert result.text == "ok"


def test_a_declared_length_past_the_cap_is_refused_at_once() -> None:
    error = failure(response(b"", headers=b"Content-Length: %d" % (100 * 2**20)))
    assert "larger than the 16 MiB limit" in error.message


def test_an_error_body_goes_through_the_cap_too() -> None:
    status_line = b"HTTP/1.1 500 Internal Server Error"
    script = Script(response(b"", status=status_line, headers=b"Content-Length: 33554432"))
    error = failure(script)
    assert "larger than the 16 MiB limit" in error.message
    assert error.status == 500


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_trickled_body_meets_the_overall_deadline(transport: str) -> None:
    """One byte every 0.1 s never trips a per-read timeout; the 1 s deadline ends the call."""
    head = response(b"", headers=b"Content-Length: 600")
    script = Script(head, trickled=b" " * 600, trickle_s=0.1)
    error = failure(script, transport, timeout_s=1.0)
    assert "no complete response within 1 s" in error.message
    assert error.retryable


# what a server's answer may put into messages, the cache and baselines


def test_an_error_message_is_one_printable_clipped_line() -> None:
    message = "\x1b[2J\x1b[31mfake PASSED " + "x" * 5000
    body = json.dumps({"error": {"message": message}}).encode()
    error = failure(response(body, status=b"HTTP/1.1 400 Bad Request"))
    assert "\x1b" not in error.message and len(error.message) <= 300
    assert error.message.startswith("?[2J?[31mfake PASSED xxx")


@pytest.mark.parametrize(
    ("usage", "detail"),
    [
        ({"prompt_tokens": -5}, "-5"),
        ({"completion_tokens": True}, "True"),
        ({"prompt_tokens": 1.5}, "1.5"),
    ],
)
def test_a_token_count_that_is_not_a_count_is_a_malformed_body(
    usage: dict[str, object], detail: str
) -> None:
    answer = {"choices": [{"text": "ok"}], "usage": usage}
    error = failure(response(json.dumps(answer).encode()))
    assert f"a token count is {detail}, not a whole number of 0 or more" in error.message


def test_a_token_count_echoing_the_key_is_reported_without_it_and_clipped() -> None:
    # the error's detail quotes the bad value: it is the server's text like the body
    usage = {"prompt_tokens": f"Bearer {TEST_API_KEY} \x1b[2J" + "x" * 100_000}
    answer = {"choices": [{"text": "ok"}], "usage": usage}
    error = failure(response(json.dumps(answer).encode()))
    assert error.message.startswith("malformed response body (TypeError: a token count is")
    assert "\x1b" not in error.message and len(error.message) < 600


def test_reported_names_are_kept_only_as_short_text() -> None:
    answer = {
        "model": "m" * 10_000,
        "system_fingerprint": {"a": [1]},
        "choices": [{"text": "ok", "finish_reason": [1, 2]}],
    }
    with RawServer(response(json.dumps(answer).encode())) as server:
        completion = complete(server.base_url)
    assert isinstance(completion, Completion)
    assert completion.model_reported == "m" * 200
    assert completion.system_fingerprint is None and completion.finish_reason is None
