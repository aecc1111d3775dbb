"""Provider types: registration, the built-ins' facts, and ProviderSet deciding by them."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers import (
    Completion,
    ModelRequest,
    ProviderConfig,
    ProviderContext,
    ProviderRegistry,
    ProviderSet,
    Requirement,
    builtin_registry,
)
from pytest_promptcheck.providers.registry import looks_secret


class Echo:
    """A provider that answers with its prompt; remembers how it was made."""

    def __init__(self, config: ProviderConfig, context: ProviderContext) -> None:
        self.name = config.name
        self.config = config
        self.context = context

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        return {"options": self.config.options}

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        return Completion(text=request.prompt or "", model_reported=request.model_name)

    async def aclose(self) -> None:
        pass


def with_echo(**facts: Any) -> ProviderRegistry:
    registry = builtin_registry()
    registry.register("echo", Echo, **facts)
    return registry


def test_the_builtins_are_registered_with_their_facts() -> None:
    registry = builtin_registry()
    assert registry.names() == ["anthropic", "local", "openai"]
    local, openai = registry.get("local"), registry.get("openai")
    anthropic = registry.get("anthropic")
    assert local is not None and openai is not None and anthropic is not None
    assert (local.max_concurrency, openai.max_concurrency) == (1, None)
    assert [r.module for r in local.requires] == ["llama_cpp"]
    assert openai.requires == anthropic.requires == ()
    assert anthropic.options == {"price_per_1m_cache_read", "price_per_1m_cache_write"}


def test_a_registered_type_serves_its_prefix_without_a_table(tmp_path: Path) -> None:
    providers = ProviderSet({}, tmp_path, 7.5, types=with_echo())
    providers.check_model("echo:m")
    provider = providers.get("echo")
    assert isinstance(provider, Echo)
    assert provider.config == ProviderConfig(name="echo", type="echo")
    assert provider.context == ProviderContext(cache_dir=tmp_path, timeout_s=7.5)
    answer = asyncio.run(provider.complete(ModelRequest("echo:m", None, "hi"), 0))
    assert answer.text == "hi"


def test_a_table_of_the_type_gets_its_options(tmp_path: Path) -> None:
    table = ProviderConfig(name="mine", type="echo", options={"region": "eu"})
    providers = ProviderSet({"mine": table}, tmp_path, types=with_echo(options=["region"]))
    provider = providers.get("mine")
    assert isinstance(provider, Echo)
    assert provider.config.options == {"region": "eu"}
    assert provider.name == "mine"


def test_max_concurrency_is_the_tables_else_the_types(tmp_path: Path) -> None:
    configs = {
        "wide": ProviderConfig(name="wide", type="echo", max_concurrency=8),
        "mine": ProviderConfig(name="mine", type="local"),
    }
    providers = ProviderSet(configs, tmp_path, types=with_echo(max_concurrency=3))
    assert providers.max_concurrency("wide") == 8
    assert providers.max_concurrency("echo") == 3
    assert providers.max_concurrency("mine") == 1  # a table of type local: in-process
    assert providers.max_concurrency("openai") is None  # --promptcheck-concurrency applies


@pytest.mark.parametrize("model", ["local:gemma-3-270m", "mine:gemma-3-270m"])
def test_the_local_extra_is_checked_for_the_type_whatever_the_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what an install without [local] sees
    configs = {"mine": ProviderConfig(name="mine", type="local")}
    with pytest.raises(UsageError) as info:
        ProviderSet(configs, tmp_path).check_model(model)
    assert str(info.value) == (
        f"model '{model}' needs the [local] extra: pip install 'pytest-promptcheck[local]'"
    )


def test_a_plugin_types_requirement_names_the_module(tmp_path: Path) -> None:
    missing = Requirement("promptcheck_no_such_module", "pip install no-such-module")
    providers = ProviderSet({}, tmp_path, types=with_echo(requires=[missing]))
    with pytest.raises(UsageError) as info:
        providers.check_model("echo:m")
    assert str(info.value) == (
        "model 'echo:m' needs 'promptcheck_no_such_module': pip install no-such-module"
    )


def test_an_unknown_prefix_lists_types_and_tables(tmp_path: Path) -> None:
    configs = {"vllm": ProviderConfig(name="vllm", type="openai")}
    with pytest.raises(UsageError) as info:
        ProviderSet(configs, tmp_path, types=with_echo()).check_model("ech:m")
    assert str(info.value).startswith(
        "unknown provider 'ech' in model id 'ech:m'; known providers: anthropic, echo, local, "
        "openai, vllm "
        "(add others in [tool.promptcheck.providers.<name>]"
    )


def test_a_factory_that_raises_is_a_usage_error(tmp_path: Path) -> None:
    def broken(config: ProviderConfig, context: ProviderContext) -> Echo:
        raise KeyError("region")

    registry = builtin_registry()
    registry.register("broken", broken)
    with pytest.raises(UsageError) as info:
        ProviderSet({}, tmp_path, types=registry).check_model("broken:m")
    assert (
        str(info.value) == "provider 'broken' (type broken) cannot be created: KeyError: 'region'"
    )


@pytest.mark.parametrize(
    ("name", "facts", "message"),
    [
        ("openai", {}, "provider type 'openai' is registered twice"),
        ("my:type", {}, "provider type 'my:type' cannot prefix a model id"),
        ("", {}, "provider type '' cannot prefix a model id"),
        ("x", {"options": ["base_url"]}, "provider type 'x': option 'base_url' is a common key"),
        ("x", {"options": ["token"]}, "provider type 'x': option 'token' looks like a secret"),
    ],
)
def test_a_bad_registration_is_a_usage_error(
    name: str, facts: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(message)):
        builtin_registry().register(name, Echo, **facts)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("key", True),
        ("token", True),
        ("access_token", True),
        ("client_secret", True),
        ("password", True),
        ("api_key_env", False),
        ("token_env", False),
        ("max_tokens", False),
        ("region", False),
        ("keep_alive", False),
    ],
)
def test_secret_looking_keys(key: str, secret: bool) -> None:
    assert looks_secret(key) is secret
