"""The cache folder a ``pytest`` run from here would use, for commands that run outside pytest.

pytest finds its ini file by walking up from the invocation folder and taking the first of
pytest.ini, .pytest.ini, pyproject.toml (with [tool.pytest.ini_options]), tox.ini ([pytest]) and
setup.cfg ([tool:pytest]); its folder is the rootdir, which ``promptcheck_cache_dir`` is relative
to (settings.py). pytest's own finder is private API, so this is the same walk, by hand.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path
from typing import Any

from pytest_promptcheck.settings import DEFAULT_CACHE_DIR

SETTING = "promptcheck_cache_dir"


def default_cache_dir(start: Path) -> Path:
    for folder in (start, *start.parents):
        for name in ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
            found = _section(folder / name)
            if found is not None:
                return folder / str(found.get(SETTING) or DEFAULT_CACHE_DIR).strip()
    return start / DEFAULT_CACHE_DIR


def _section(path: Path) -> dict[str, Any] | None:
    """The pytest settings of an ini file, or None when the file is not pytest's."""
    if not path.is_file():
        return None
    try:
        if path.name == "pyproject.toml":
            options: Any = tomllib.loads(path.read_text("utf-8"))
            for name in ("tool", "pytest", "ini_options"):
                options = options.get(name) if isinstance(options, dict) else None
            return options if isinstance(options, dict) else None
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error):
        return None  # pytest itself reports a broken ini file
    section = {"setup.cfg": "tool:pytest", "tox.ini": "pytest"}.get(path.name, "pytest")
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name.endswith("pytest.ini") else None
