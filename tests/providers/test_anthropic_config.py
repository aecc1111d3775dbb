"""``type = "anthropic"`` tables in pyproject.toml: the cache prices are its own keys, checked
like the other prices, and refused on other types."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.settings import load_provider_configs

TABLE = "[tool.promptcheck.providers.claude]\n"


def load(tmp_path: Path, text: str) -> dict[str, ProviderConfig]:
    path = tmp_path / "pyproject.toml"
    path.write_text(TABLE + text, encoding="utf-8")
    return load_provider_configs(path)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(UsageError) as info:
        load(tmp_path, text)
    return str(info.value).removeprefix(f"{tmp_path / 'pyproject.toml'}: {TABLE.strip()}: ")


def test_a_named_anthropic_endpoint_with_cache_prices(tmp_path: Path) -> None:
    configs = load(
        tmp_path,
        'type = "anthropic"\napi_key_env = "CLAUDE_KEY"\nprice_per_1m_input = 3\n'
        "price_per_1m_output = 15\nprice_per_1m_cache_read = 0.3\n"
        "price_per_1m_cache_write = 3.75\n",
    )
    assert configs["claude"] == ProviderConfig(
        name="claude",
        type="anthropic",
        api_key_env="CLAUDE_KEY",
        price_per_1m_input=3,
        price_per_1m_output=15,
        options={"price_per_1m_cache_read": 0.3, "price_per_1m_cache_write": 3.75},
    )


@pytest.mark.parametrize(
    ("line", "shown"), [('"0.30"', "a str"), ("-1", "-1"), ("true", "True")], ids=str
)
def test_a_cache_price_must_be_a_number(tmp_path: Path, line: str, shown: str) -> None:
    assert error(tmp_path, f'type = "anthropic"\nprice_per_1m_cache_read = {line}\n') == (
        f"price_per_1m_cache_read must be a number of 0 or more (USD per 1M tokens), not {shown}"
    )


def test_cache_prices_are_refused_on_an_openai_table(tmp_path: Path) -> None:
    assert error(tmp_path, 'type = "openai"\nprice_per_1m_cache_write = 3.75\n').startswith(
        "unknown key 'price_per_1m_cache_write'; known keys: api_key_env, base_url, "
    )
