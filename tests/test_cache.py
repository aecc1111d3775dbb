"""Cache keys and the on-disk response cache with its four modes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar

import diskcache
import pytest

from pytest_promptcheck.cache import CacheHealth, CacheMode, ResponseCache, cache_key
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.providers.openai import OpenAIProvider
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.shared import SharedCalls

IDENTITY: dict[str, Any] = {"base_url": "http://127.0.0.1:9/v1"}
API_KEY = "sk-cache-test-SECRET-42"

COMPLETION = Completion(
    text="billing",
    model_reported="gpt-x-2025",
    tokens_in=12,
    tokens_out=3,
    latency_ms=812.5,
    cost_usd=0.00042,
    system_fingerprint="fp_1",
    finish_reason="stop",
)


def request(**changes: Any) -> ModelRequest:
    base = ModelRequest(
        model="openai:gpt-x",
        messages=({"role": "user", "content": "hi"},),
        prompt=None,
        params={"temperature": 0},
        format={"type": "text", "schema": None},
    )
    return dataclasses.replace(base, **changes)


def key(req: ModelRequest | None = None, identity: dict[str, Any] | None = None) -> str:
    return cache_key(req or request(), IDENTITY if identity is None else identity, 0)


def stored_value(directory: Path, cache_key_: str) -> Any:
    store = diskcache.Cache(str(directory / "responses"))
    try:
        return store.get(cache_key_)
    finally:
        store.close()


# keys


def test_key_is_pinned() -> None:
    # Every user's cache is filed under these keys: a change of the key's format must be
    # deliberate (bump KEY_FORMAT), never a side effect.
    assert key() == "23fdcb955afdb56ba5409afb012d1ceef5e9abe5df437ce3a1a9396ca7097da1"


def test_key_changes_with_sample_index() -> None:
    assert cache_key(request(), IDENTITY, 0) != cache_key(request(), IDENTITY, 1)


def test_key_changes_with_model() -> None:
    assert key() != key(request(model="openai:gpt-y"))


def test_key_changes_with_provider_prefix() -> None:
    assert key() != key(request(model="vllm:gpt-x"))


def test_key_changes_with_params() -> None:
    assert key() != key(request(params={"temperature": 0.7}))


def test_key_changes_with_messages() -> None:
    assert key() != key(request(messages=({"role": "user", "content": "hello"},)))


def test_key_changes_with_prompt() -> None:
    completion_a = request(messages=None, prompt="a")
    assert key(completion_a) != key(request(messages=None, prompt="b"))


def test_key_changes_with_format() -> None:
    assert key() != key(request(format={"type": "json", "schema": None}))


def test_key_changes_with_base_url_identity() -> None:
    assert key() != key(identity={"base_url": "http://127.0.0.1:10/v1"})


def test_key_ignores_param_order() -> None:
    first = request(params={"temperature": 0, "max_tokens": 5})
    assert key(first) == key(request(params={"max_tokens": 5, "temperature": 0}))


def test_model_request_has_no_field_for_a_key() -> None:
    names = {f.name for f in dataclasses.fields(ModelRequest)}
    assert names == {
        "model",
        "messages",
        "prompt",
        "params",
        "format",
        "tools",
        "tool_choice",
        "output_schema",
        "embed_input",
        "occurrence",
    }


def test_occurrence_keys_a_repeated_request_and_leaves_the_first_as_it_was() -> None:
    first = request()
    assert "occurrence" not in first.payload()
    assert key(dataclasses.replace(first, occurrence=1)) != key(first)


def test_key_does_not_depend_on_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = OpenAIProvider(ProviderConfig(name="openai", type="openai", base_url="http://h/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    identity = provider.identity(request())
    with_key = cache_key(request(), identity, 0)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    assert cache_key(request(), provider.identity(request()), 0) == with_key
    assert API_KEY not in json.dumps(identity)
    assert identity == {"base_url": "http://h/v1"}


# round trip


def test_round_trip_keeps_usage_and_marks_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path, CacheMode.USE)
    cache.put("k", COMPLETION)
    got = cache.get("k")
    cache.close()
    assert got == dataclasses.replace(COMPLETION, cached=True)


def test_round_trip_across_instances(tmp_path: Path) -> None:
    writer = ResponseCache(tmp_path, CacheMode.USE)
    writer.put("k", COMPLETION)
    writer.close()
    reader = ResponseCache(tmp_path, CacheMode.USE)
    got = reader.get("k")
    reader.close()
    assert got is not None
    assert (got.latency_ms, got.tokens_in, got.tokens_out, got.cost_usd) == (812.5, 12, 3, 0.00042)
    assert got.cached is True


def test_unknown_cost_round_trips_as_none(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path, CacheMode.USE)
    cache.put("k", dataclasses.replace(COMPLETION, cost_usd=None))
    got = cache.get("k")
    cache.close()
    assert got is not None and got.cost_usd is None


def test_miss_is_none(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path, CacheMode.USE)
    assert cache.get("absent") is None
    cache.close()


def test_values_on_disk_are_json_strings(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path, CacheMode.USE)
    cache.put("k", COMPLETION)
    cache.close()
    raw = stored_value(tmp_path, "k")
    assert isinstance(raw, str)
    data = json.loads(raw)
    assert data["text"] == "billing"
    assert data["latency_ms"] == 812.5
    assert "cached" not in data


# modes


def test_use_mode_reads_and_writes() -> None:
    assert (CacheMode.USE.reads, CacheMode.USE.writes) == (True, True)


def test_replay_reads_but_does_not_write(tmp_path: Path) -> None:
    seed = ResponseCache(tmp_path, CacheMode.USE)
    seed.put("old", COMPLETION)
    seed.close()
    replay = ResponseCache(tmp_path, CacheMode.REPLAY)
    replay.put("new", COMPLETION)
    got_old, got_new = replay.get("old"), replay.get("new")
    replay.close()
    assert got_old is not None and got_old.text == "billing"
    assert got_new is None
    assert stored_value(tmp_path, "new") is None


def test_refresh_writes_but_does_not_read(tmp_path: Path) -> None:
    seed = ResponseCache(tmp_path, CacheMode.USE)
    seed.put("k", COMPLETION)
    seed.close()
    refresh = ResponseCache(tmp_path, CacheMode.REFRESH)
    assert refresh.get("k") is None
    refresh.put("k", dataclasses.replace(COMPLETION, text="tech"))
    refresh.close()
    assert json.loads(stored_value(tmp_path, "k"))["text"] == "tech"


def test_off_neither_reads_nor_writes_nor_creates_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    cache = ResponseCache(directory, CacheMode.OFF)
    cache.put("k", COMPLETION)
    assert cache.get("k") is None
    cache.close()
    assert not directory.exists()


def test_off_ignores_existing_entries(tmp_path: Path) -> None:
    seed = ResponseCache(tmp_path, CacheMode.USE)
    seed.put("k", COMPLETION)
    seed.close()
    off = ResponseCache(tmp_path, CacheMode.OFF)
    assert off.get("k") is None


def test_cache_directory_is_created_lazily(tmp_path: Path) -> None:
    directory = tmp_path / "lazy"
    cache = ResponseCache(directory, CacheMode.USE)
    assert not directory.exists()
    cache.put("k", COMPLETION)
    cache.close()
    assert (directory / "responses").is_dir()


class _Planted:
    """Unpickling it records that it ran: what a poisoned cache directory would do."""

    ran: ClassVar[list[str]] = []

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Planted.ran.append, ("unpickled",))


def test_a_pickled_value_on_disk_is_never_unpickled(tmp_path: Path) -> None:
    """The cache dir may come from elsewhere (a CI artifact): a pickle there would run code."""
    for folder in ("responses", "in-flight"):
        store = diskcache.Cache(str(tmp_path / folder))
        store.set("k", _Planted())
        store.set("claim:k", _Planted())
        store.close()
    cache = ResponseCache(tmp_path, CacheMode.USE)
    assert cache.get("k") is None
    assert cache.health.note() is not None and "pickled value" in cache.health.note()
    cache.close()
    claims = SharedCalls(tmp_path, None, 60, CacheHealth())
    # a claim that is not JSON text has no holder: taken over
    assert asyncio.run(claims._claim("k"))
    claims.close()
    assert _Planted.ran == []


# a failing cache directory: the first failure disables the cache for the run


@pytest.mark.parametrize("raw", ["{not json", '{"unknown": 1}', "[1, 2]"])
def test_a_corrupt_value_is_a_miss_that_disables_the_cache(tmp_path: Path, raw: str) -> None:
    store = diskcache.Cache(str(tmp_path / "responses"))
    store.set("k", raw)
    store.close()
    cache = ResponseCache(tmp_path, CacheMode.USE)
    assert cache.get("k") is None
    cache.put("other", COMPLETION)  # disabled: not written
    assert not cache.holds("other")
    note = cache.health.note()
    assert note is not None and note.startswith("promptcheck: cache disabled for this run: ")


def test_a_directory_that_cannot_be_created_disables_the_cache(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cache = ResponseCache(tmp_path / "file" / "cache", CacheMode.USE)
    cache.put("k", COMPLETION)
    assert cache.get("k") is None
    assert "NotADirectoryError" in (cache.health.reason or "")


def test_an_answer_waiting_for_its_batch_is_read_already(tmp_path: Path) -> None:
    """Answers are written in batches; a read in the same run (a conversation's next turn is
    planned from the last reply) must not miss one that waits for its batch."""
    cache = ResponseCache(tmp_path, CacheMode.USE)
    cache.put_soon("k", Completion(text="ok", model_reported="m"))
    hit = cache.get("k")
    assert hit is not None and hit.text == "ok" and hit.cached
    assert cache.holds("k")
    cache.close()
    again = ResponseCache(tmp_path, CacheMode.REPLAY)  # and written once the cache closes
    assert again.holds("k")
    again.close()


def test_the_stores_never_evict(tmp_path: Path) -> None:
    """diskcache's default drops the oldest entries past 1 GB: a replay would then miss."""
    from pytest_promptcheck.stores import open_store

    store = open_store(tmp_path / "responses")
    assert store.cull_limit == 0  # no culling on writes: nothing is ever evicted
    store.close()
