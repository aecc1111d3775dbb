"""Bounded work on hostile files: YAML aliases, deep nesting, huge files (issue 8, point 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.bounds import MAX_DEPTH, MAX_FILE_BYTES, loads_json, too_deep
from pytest_promptcheck.case_files import expand_cases
from pytest_promptcheck.checks.api import NOT_JSON, SampleContext
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.documents import Document, load_document
from pytest_promptcheck.errors import CheckArgError, SpecError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.schemas import load_schema
from pytest_promptcheck.scoring import parse_format

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def load_error(tmp_path: Path, name: str, text: str) -> SpecError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_document(path)
    return info.value


def nested_json(levels: int) -> str:
    return "[" * levels + "]" * levels


# YAML aliases and anchors


def test_a_billion_laughs_is_refused_at_the_first_alias(tmp_path: Path) -> None:
    error = load_error(tmp_path, "bomb.prompt.yaml", BILLION_LAUGHS)
    assert (error.line, error.message) == (2, "YAML alias *a is not allowed")
    assert error.hint is not None and "write the value out in full" in error.hint


def test_a_merge_key_from_an_alias_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, "p.yaml", "base: {x: 1}\nother:\n  <<: *base\n")
    assert error.line == 3


def test_an_anchor_alone_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, "p.yaml", "a: 1\nb: &keep [1, 2]\n")
    assert (error.line, error.message) == (2, "YAML anchor &keep is not allowed")


def test_stars_and_ampersands_in_text_are_not_aliases(tmp_path: Path) -> None:
    text = "prompt: |\n  Use **bold** & *italics* for R&D\nother: '*x &y'\n"
    (tmp_path / "p.yaml").write_text(text)
    data = load_document(tmp_path / "p.yaml").data
    assert data["prompt"] == "Use **bold** & *italics* for R&D\n"


def test_an_alias_in_a_yaml_schema_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("type: object\nproperties:\n  a: &t {type: string}\n  b: *t\n")
    with pytest.raises(CheckArgError) as info:
        load_schema("s.yaml", tmp_path, Project.at(tmp_path))
    assert str(info.value) == "cannot use schema file s.yaml:4: YAML alias *t is not allowed"


def test_a_duplicate_key_in_a_yaml_schema_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("type: object\ntype: string\n")
    with pytest.raises(CheckArgError) as info:
        load_schema("s.yaml", tmp_path, Project.at(tmp_path))
    assert "s.yaml:2: duplicate key 'type' (first at line 1)" in str(info.value)


# nesting depth


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 10_000])
def test_deep_json_is_refused_with_its_line(tmp_path: Path, levels: int) -> None:
    error = load_error(tmp_path, "p.prompt.json", '{"a": 1,\n"b": ' + nested_json(levels) + "}")
    assert error.line == 2
    assert error.message == f"invalid JSON: nested deeper than {MAX_DEPTH} levels (column 105)"
    assert error.hint == f"flatten the data: at most {MAX_DEPTH} levels of lists and mappings"


def test_json_as_deep_as_the_limit_loads(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(nested_json(MAX_DEPTH))
    assert too_deep(load_document(tmp_path / "p.json").data) is None


def test_brackets_inside_json_strings_do_not_count() -> None:
    text = json.dumps({"a": "[" * 500, "b": '\\"[[[' * 50})
    assert loads_json(text)["a"] == "[" * 500


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "a:\n" + "".join("  " * i + "-\n" for i in range(1, MAX_DEPTH + 2)),
        "a: " + "[" * 10_000 + "]" * 10_000,
        "b:\n  <<: {x: 1}\n  y: " + "[" * 150 + "]" * 150,  # PyYAML builds merges
    ],
)
def test_deep_yaml_is_a_clear_error(tmp_path: Path, text: str) -> None:
    error = load_error(tmp_path, "p.yaml", text)
    assert "nested deeper than" in error.message or "maximum nesting depth" in error.message


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 10_000])
def test_deep_toml_is_a_clear_error(tmp_path: Path, levels: int) -> None:
    error = load_error(tmp_path, "p.toml", "name = 'x'\nvars = " + nested_json(levels) + "\n")
    assert error.message == f"nested deeper than {MAX_DEPTH} levels"


def test_deep_jsonl_case_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "a"}\n{"vars": {"x": ' + nested_json(200) + "}}\n"
    )
    prompt = Document(tmp_path / "p.prompt.yaml", {"cases": [{"file": "cases.jsonl"}]})
    with pytest.raises(SpecError) as info:
        list(expand_cases(prompt, Project.at(tmp_path)))
    assert info.value.line == 2
    assert info.value.message.startswith(f"invalid JSON: nested deeper than {MAX_DEPTH} levels")


# file size


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)  # a hole: no disk space, no time
    return path


def test_a_prompt_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = sparse(tmp_path / "big.prompt.yaml", MAX_FILE_BYTES + 1)
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.message == "file is 64.0 MB, larger than the limit of 64 MB"


@pytest.mark.parametrize("name", ["big.jsonl", "big.csv", "big.yaml"])
def test_a_case_file_over_the_size_limit_is_refused(tmp_path: Path, name: str) -> None:
    sparse(tmp_path / name, MAX_FILE_BYTES + 1)
    prompt = Document(tmp_path / "p.prompt.yaml", {"cases": [{"file": name}]})
    with pytest.raises(SpecError, match="larger than the limit of 64 MB"):
        list(expand_cases(prompt, Project.at(tmp_path)))


def test_a_schema_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    sparse(tmp_path / "s.json", MAX_FILE_BYTES + 1)
    with pytest.raises(CheckArgError, match="larger than the limit of 64 MB"):
        builtin_registry(Project.at(tmp_path)).compile("schema", "s.json", tmp_path)


# model output


def output(text: str) -> SampleContext:
    completion = Completion(
        text=text, model_reported="m", latency_ms=0.0, tokens_in=0, tokens_out=0
    )
    return SampleContext(text, completion)


def test_deep_json_output_fails_the_format_cleanly() -> None:
    parsed, error = parse_format(nested_json(10_000), None)
    assert parsed is NOT_JSON
    assert (
        error == f"output is not JSON: nested deeper than {MAX_DEPTH} levels at line 1 column 101"
    )


@pytest.mark.parametrize(
    ("kind", "arg"), [("json_path", {"path": "$[0]", "exists": True}), ("schema", {})]
)
def test_checks_on_deep_json_output_fail_cleanly(kind: str, arg: Any) -> None:
    result = builtin_registry(Project.at(Path.cwd())).compile(kind, arg, Path())(
        output(nested_json(10_000))
    )
    assert (result.passed, result.evaluated) == (False, False)
    assert "output is not JSON" in result.reason
