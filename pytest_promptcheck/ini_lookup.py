"""The cache folder a ``pytest`` run from here would use, for commands that run outside pytest.

pytest finds its configuration by walking up from the invocation folder and taking, in each
folder, the first of pytest.toml and .pytest.toml (table [pytest], always pytest's even when
empty), pytest.ini and .pytest.ini, pyproject.toml ([tool.pytest.ini_options] or pytest 9's
[tool.pytest]), tox.ini ([pytest]) and setup.cfg ([tool:pytest]); with none of them, the first
pyproject.toml found on the way is the rootdir anyway. That folder is what
``promptcheck_cache_dir`` is relative to (settings.py). pytest's own finder is private API, so
this is the same walk, by hand.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path
from typing import Any

from pytest_promptcheck.settings import DEFAULT_CACHE_DIR

SETTING = "promptcheck_cache_dir"
NAMES = (
    *("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini"),
    *("pyproject.toml", "tox.ini", "setup.cfg"),
)


def default_cache_dir(start: Path) -> Path:
    first_pyproject: Path | None = None
    for folder in (start, *start.parents):
        for name in NAMES:
            path = folder / name
            if name == "pyproject.toml" and first_pyproject is None and path.is_file():
                first_pyproject = folder
            found = _section(path)
            if found is not None:
                return folder / str(found.get(SETTING) or DEFAULT_CACHE_DIR).strip()
    return (first_pyproject or start) / DEFAULT_CACHE_DIR


def _section(path: Path) -> dict[str, Any] | None:
    """The pytest settings of a configuration file, or None when the file is not pytest's."""
    if not path.is_file():
        return None
    try:
        if path.suffix == ".toml":
            return _toml_section(path.name, tomllib.loads(path.read_text("utf-8")))
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error):
        return None  # pytest itself reports a broken configuration file
    section = {"setup.cfg": "tool:pytest", "tox.ini": "pytest"}.get(path.name, "pytest")
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name.endswith("pytest.ini") else None


def _toml_section(name: str, document: dict[str, Any]) -> dict[str, Any] | None:
    if name != "pyproject.toml":  # pytest.toml, .pytest.toml: pytest's whatever they hold
        table = document.get("pytest")
        return table if isinstance(table, dict) else {}
    tool = document.get("tool")
    pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest_table, dict):
        return None
    ini_options = pytest_table.get("ini_options")
    return ini_options if isinstance(ini_options, dict) else pytest_table
