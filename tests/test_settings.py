"""Provider tables from pyproject.toml and the cache mode option."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.cache import CacheMode
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers import ProviderConfig, ProviderRegistry, builtin_registry
from pytest_promptcheck.settings import load_provider_configs, parse_cache_mode

SECRET = "sk-live-DO-NOT-PRINT-9f8e7d"


def pyproject(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def usage_error(path: Path) -> UsageError:
    with pytest.raises(UsageError) as info:
        load_provider_configs(path)
    return info.value


# provider tables


def test_provider_table_is_loaded(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        '[tool.promptcheck.providers.vllm]\ntype = "openai"\n'
        'base_url = "http://gpu:8000/v1"\napi_key_env = "VLLM_KEY"\nmax_concurrency = 4\n'
        "price_per_1m_input = 0.15\nprice_per_1m_output = 0.6\n",
    )
    assert load_provider_configs(path) == {
        "vllm": ProviderConfig(
            name="vllm",
            type="openai",
            base_url="http://gpu:8000/v1",
            api_key_env="VLLM_KEY",
            max_concurrency=4,
            price_per_1m_input=0.15,
            price_per_1m_output=0.6,
        )
    }


def test_type_defaults_to_openai(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers.lm]\nbase_url = "http://x/v1"\n')
    assert load_provider_configs(path)["lm"].type == "openai"


def test_integer_prices_are_kept(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        "[tool.promptcheck.providers.p]\nprice_per_1m_input = 2\nprice_per_1m_output = 8\n",
    )
    config = load_provider_configs(path)["p"]
    assert (config.price_per_1m_input, config.price_per_1m_output) == (2, 8)


def test_several_providers_are_loaded(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        '[tool.promptcheck.providers.a]\nbase_url = "http://a"\n'
        '[tool.promptcheck.providers.b]\ntype = "local"\n',
    )
    configs = load_provider_configs(path)
    assert sorted(configs) == ["a", "b"]
    assert configs["b"].type == "local"


def test_pyproject_without_promptcheck_table_gives_nothing(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    assert load_provider_configs(path) == {}


def test_missing_pyproject_gives_nothing(tmp_path: Path) -> None:
    assert load_provider_configs(tmp_path / "pyproject.toml") == {}


def test_no_pyproject_path_gives_nothing() -> None:
    assert load_provider_configs(None) == {}


def test_unknown_key_is_named_with_the_known_keys(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers.v]\nbase_uri = "http://x"\n')
    error = usage_error(path)
    assert str(error) == (
        f"{path}: [tool.promptcheck.providers.v]: unknown key 'base_uri'; known keys: "
        "api_key_env, base_url, max_concurrency, price_per_1m_input, price_per_1m_output, type"
    )


def test_provider_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers]\nv = "openai"\n')
    assert str(usage_error(path)) == f"{path}: [tool.promptcheck.providers.v] must be a table"


@pytest.mark.parametrize(
    "field", ["api_key", "key", "token", "client_secret", "access_token", "password"]
)
def test_secret_in_file_is_refused_without_echoing_it(tmp_path: Path, field: str) -> None:
    path = pyproject(tmp_path, f'[tool.promptcheck.providers.v]\n{field} = "{SECRET}"\n')
    message = str(usage_error(path))
    assert message == (
        f"{path}: [tool.promptcheck.providers.v]: secrets never go in files; "
        "set api_key_env to a variable name"
    )
    assert SECRET not in message


def test_invalid_toml_is_a_usage_error(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[tool.promptcheck\nx = 1\n")
    message = str(usage_error(path))
    assert message.startswith(f"{path}: invalid TOML: ")
    assert "line 1" in message


def test_invalid_toml_does_not_echo_a_secret(tmp_path: Path) -> None:
    path = pyproject(tmp_path, f'[tool.promptcheck.providers.v]\napi_key = "{SECRET}\n')
    assert SECRET not in str(usage_error(path))


# cache mode


@pytest.mark.parametrize(
    "text, mode",
    [
        ("use", CacheMode.USE),
        ("REPLAY", CacheMode.REPLAY),
        ("Refresh", CacheMode.REFRESH),
        (" off ", CacheMode.OFF),
    ],
)
def test_cache_mode_is_case_insensitive(text: str, mode: CacheMode) -> None:
    assert parse_cache_mode(text, "--promptcheck-cache") is mode


def test_unknown_cache_mode_lists_the_modes() -> None:
    with pytest.raises(UsageError) as info:
        parse_cache_mode("record", "--promptcheck-cache")
    assert str(info.value) == (
        "--promptcheck-cache: unknown cache mode 'record'; use one of use, replay, refresh, off"
    )


# provider options and types


def reverse_types() -> ProviderRegistry:
    """The built-ins and a plugin type ``reverse`` that accepts two options."""
    types = builtin_registry()
    types.register("reverse", lambda config, context: NotImplemented, options=["upper", "suffix"])
    return types


def test_keys_a_type_declares_go_to_options(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        '[tool.promptcheck.providers.shouty]\ntype = "reverse"\nupper = true\nsuffix = "!"\n'
        "max_concurrency = 2\n",
    )
    assert load_provider_configs(path, reverse_types())["shouty"] == ProviderConfig(
        name="shouty", type="reverse", max_concurrency=2, options={"upper": True, "suffix": "!"}
    )


def test_an_undeclared_key_lists_the_common_keys_and_the_types_options(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers.s]\ntype = "reverse"\ncolour = 1\n')
    with pytest.raises(UsageError) as info:
        load_provider_configs(path, reverse_types())
    assert str(info.value) == (
        f"{path}: [tool.promptcheck.providers.s]: unknown key 'colour'; known keys: "
        "api_key_env, base_url, max_concurrency, price_per_1m_input, price_per_1m_output, "
        "suffix, type, upper"
    )


def test_another_types_option_is_unknown(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[tool.promptcheck.providers.v]\nupper = true\n")  # type openai
    with pytest.raises(UsageError, match="unknown key 'upper'"):
        load_provider_configs(path, reverse_types())


def test_an_unknown_type_lists_the_registered_types(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers.b]\ntype = "bedrock"\n')
    assert str(usage_error(path)) == (
        f"{path}: [tool.promptcheck.providers.b]: unknown type 'bedrock'; use one of "
        "anthropic, local, openai (or register it with the pytest_promptcheck_add_providers hook)"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('max_concurrency = "8"', "max_concurrency must be a whole number of 1 or more, not a str"),
        ("max_concurrency = 0", "max_concurrency must be a whole number of 1 or more, not 0"),
        ("max_concurrency = 2.5", "max_concurrency must be a whole number of 1 or more, not 2.5"),
        ("price_per_1m_input = -1", "price_per_1m_input must be a number of 0 or more"),
        ("price_per_1m_output = true", "price_per_1m_output must be a number of 0 or more"),
        ("base_url = 8000", "base_url must be a non-empty string, not 8000"),
        ('api_key_env = ""', "api_key_env must be a non-empty string, not ''"),
        ("type = 3", "unknown type 3"),
    ],
)
def test_a_common_key_of_the_wrong_kind_is_one_error(
    tmp_path: Path, line: str, message: str
) -> None:
    path = pyproject(tmp_path, f"[tool.promptcheck.providers.v]\n{line}\n")
    assert str(usage_error(path)).startswith(f"{path}: [tool.promptcheck.providers.v]: {message}")


def test_a_table_name_with_a_colon_is_refused(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.promptcheck.providers."a:b"]\nbase_url = "http://x"\n')
    assert "a provider's name cannot hold ':'" in str(usage_error(path))
