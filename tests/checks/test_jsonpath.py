"""RFC 9535 JSONPath from prompt files: what it selects, what it refuses, and its bounds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks.jsonpath import BadPath, compile_path, find
from pytest_promptcheck.quoting import format_path
from tests.checks.support import json_sample, verdict

DOC = {"a": {"b": 1}, "items": [{"id": 1}, {"id": 2}, {"id": 3}], "first name": "Ann"}
SHOP = {
    "items": [
        {"name": "pen", "price": 2, "sku": "T-1"},
        {"name": "lamp", "price": 40, "sku": "X-9"},
        {"name": "cup", "price": 8, "sku": "T-22"},
    ],
    "owner": {"name": "Ann", "max": 10},
}


@pytest.mark.parametrize(
    ("path", "found"),
    [  # every form the README documented before RFC 9535 selects what it did
        ("$", [DOC]),
        ("$.a.b", [1]),
        ("$['first name']", ["Ann"]),
        ('$["a"]["b"]', [1]),
        ("$.items[0].id", [1]),
        ("$.items[-1].id", [3]),
        ("$.items[*].id", [1, 2, 3]),
        ("$.a.*", [1]),
        ("$.items[3]", []),
        ("$.items[-4]", []),
        ("$.a.b.c", []),
        ("$.items.id", []),
        (" $.a.b ", [1]),  # surrounding spaces, as a YAML value may carry, are dropped
    ],
)
def test_documented_paths_select_as_before(path: str, found: list[Any]) -> None:
    assert find(compile_path(path), DOC) == found


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("$.items[?@.price < 10].name", ["pen", "cup"]),
        ("$..name", ["pen", "lamp", "cup", "Ann"]),
        ("$.items[1:].sku", ["X-9", "T-22"]),
        ("$.items[?@.price < $.owner.max].name", ["pen", "cup"]),
        ("$.items[?match(@.sku, 'T-[0-9]+')].name", ["pen", "cup"]),
        ("$.items[?search(@.sku, '9')].name", ["lamp"]),
        ("$.items[?length(@.name) == 4].name", ["lamp"]),
    ],
)
def test_filters_descent_slices_and_functions_work(path: str, found: list[Any]) -> None:
    assert find(compile_path(path), SHOP) == found


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("a.b", "invalid JSON path 'a.b': expected '$', found 'a' at column 1"),
        ("$.a[", "invalid JSON path '$.a[': unbalanced brackets at column 5"),
        ("$[?@.price <]", "invalid JSON path '$[?@.price <]': unexpected end of expression"),
        ("$[?foo(@)]", "invalid JSON path '$[?foo(@)]': function 'foo' is not defined"),
        ("$.x" + ".y" * 600, "JSON path is 1203 characters long, over 1000"),
        ("$[?" + "(" * 495 + "@" + ")" * 495 + "]", "parentheses nest too deeply"),
        (
            "$[?match(@, 'a(?=b)')]",
            "match() pattern 'a(?=b)' is not an I-Regexp (RFC 9485) at column 4",
        ),
    ],
)
def test_a_bad_path_is_one_readable_error(path: str, problem: str) -> None:
    with pytest.raises(BadPath) as info:
        compile_path(path)
    assert problem in str(info.value)


def test_a_path_is_compiled_once_per_text() -> None:
    assert compile_path("$.items[?@.price < 10]") is compile_path("$.items[?@.price < 10]")


def test_format_path_writes_dollar_dot_and_index_form() -> None:
    assert format_path(["a", "b", 0, "first name"]) == "$.a.b[0]['first name']"


# --- bounds: a path from an untrusted file meets a model's output ------------------------------


def test_a_catastrophic_regex_in_a_filter_gives_up_instead_of_hanging() -> None:
    # 40 a's and a '!': backtracking explores ~1.6**40 ways before failing without the limit
    ctx = json_sample(["a" * 40 + "!"])
    result = verdict("json_path", {"path": "$[?match(@, '^(a|aa)+$')]", "exists": True}, ctx)
    assert (result.passed, result.evaluated) == (False, False)
    assert result.reason == (
        "json_path $[?match(@, '^(a|aa)+$')] exists true: "
        "gave up after 1 s (catastrophic backtracking?)"
    )


def test_search_gives_up_too_and_its_negation_fails() -> None:
    ctx = json_sample({"id": "a" * 40 + "!"})
    arg = {"path": "$[?search(@, '(a|aa)+$')]", "exists": True}
    assert verdict("not_json_path", arg, ctx).passed is False


def test_a_path_that_multiplies_nodes_on_a_large_document_gives_up() -> None:
    deep: Any = "leaf"
    for _ in range(60):
        deep = [deep, deep]  # shared branches: a small object, 2**60 paths to walk
    result = verdict("json_path", {"path": "$..*..*..*", "exists": True}, json_sample(deep))
    assert (result.passed, result.evaluated) == (False, False)
    assert result.reason.endswith("gave up after 1 s (the path is too costly here)")


def test_a_path_inside_a_filter_is_bounded_too() -> None:
    document = [list(range(300)) for _ in range(300)]
    path = "$[?count($..*[?count($..*) > 0]) > 0]"  # every node scans the whole document
    result = verdict("json_path", {"path": path, "exists": True}, json_sample(document))
    assert (result.passed, result.evaluated) == (False, False)
    assert "gave up after 1 s" in result.reason


def test_a_document_deeper_than_descent_goes_cannot_be_judged() -> None:
    deep: Any = 1
    for _ in range(150):
        deep = [deep]
    result = verdict("json_path", {"path": "$..*", "exists": True}, json_sample(deep))
    assert (result.passed, result.evaluated) == (False, False)
    assert result.reason.startswith("json_path $..* exists true: ")


README = Path(__file__).parents[2] / "README.md"
# an environment variable, JSON Schema keywords, and the paths shown as errors
NOT_PATHS = {"$GITHUB_STEP_SUMMARY", "$id", "$ref", "$.order-id", "$.0"}


def test_every_path_the_readme_shows_compiles() -> None:
    text = README.read_text(encoding="utf-8")
    paths = set(re.findall(r"`(\$[^`]*)`", text)) | set(re.findall(r"path: '?(\$[^,}']*)", text))
    assert {"$.items[?@.price < 10]", "$..name", "$['first name']"} <= paths
    for path in sorted(paths - NOT_PATHS):
        compile_path(path)
