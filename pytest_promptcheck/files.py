"""Which files are prompt files, and their default names."""

from __future__ import annotations

from pathlib import Path

SUFFIXES = (".prompt.yaml", ".prompt.yml", ".prompt.json", ".prompt.toml")


def is_prompt_file(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def default_name(path: Path) -> str:
    return path.name[: path.name.lower().rindex(".prompt.")]
