"""A labels file is read line by line as JSON: a line nested too deep is a CheckArgError
naming it, not a RecursionError traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.checks.judge_labels import load_labels
from pytest_promptcheck.errors import CheckArgError


def test_a_line_nested_too_deep_is_a_bad_label(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(CheckArgError, match=r"labels\.jsonl:1: not JSON"):
        load_labels(path, "labels.jsonl", "pass_fail")
