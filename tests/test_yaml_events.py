"""The event path builds what the node path builds, and leaves everything else to it."""

from __future__ import annotations

import pytest

from pytest_promptcheck.bounds import MAX_DEPTH
from pytest_promptcheck.yaml_events import Unusual, from_events
from pytest_promptcheck.yaml_loader import Loader, YamlRefused, _from_nodes, parse_yaml_lines
from tests.typed import same

PLAIN = [
    "prompt: 'Echo {{ x }}'\ncases:\n  - {id: c0, vars: {x: 0}, expect: [{equals: ok}]}\n",
    "a: [1, -2, 0x1F, 0o17, 017, 1_000, '3', \"4\", 190:20:30]\n",
    "b: [1.5, .5, 1e3, 1.0e+3, .inf, -.Inf, .NaN, +7]\n",
    "c: [yes, No, on, OFF, true, False, y, n]\n",
    "d: [null, ~, Null, '', x]\ne:\nf: ''\ng: {h: , i: ~}\n",
    "key: |\n  multi\n  line\nk2: >-\n  folded\n  text\n",
    "# a comment\n\ncases:\n  - id: a\n    vars:\n      x: 1\n\n  - id: b\n    vars: {}\n",
    "---\nparams: {temperature: 0, stop: ['\\n']}\nexpect:\n  - equals: ok\n...\n",
    "- a\n- [b, {c: d}]\n- {}\n",
    "just text\n",
    "42\n",
    "",
    "# nothing but a comment\n",
    '\'quoted key\': 1\n"dq": "a\\tb"\nk k: v v\n',
]

UNUSUAL = [
    "a: 1\na: 2\n",  # a repeated key
    "a: 1\n'a': 2\n",
    "1: one\n",  # keys that are not strings
    "yes: 1\n",
    "? [a, b]\n: 1\n",
    "base: &b {x: 1}\nother: *b\n",  # anchors and aliases
    "merged:\n  <<: {x: 1}\n",
    "day: 2024-01-02\n",  # a tag PyYAML builds (a date)
    "!!set {a, b}\n",
    "- !!str 12\n",
    "a: 1\n---\nb: 2\n",  # two documents
    "a: [1, 2\n",  # a parse error
    "n: " + "1" * 100 + "\n",  # a long number: the node path bounds it
    "deep: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_yaml_is_built_as_the_node_path_builds_it(text: str) -> None:
    data, lines = from_events(Loader(text))
    expected_data, expected_lines = _from_nodes(text)
    assert same(data, expected_data)
    assert lines == expected_lines


@pytest.mark.parametrize("text", UNUSUAL)
def test_anything_else_is_left_to_the_node_path(text: str) -> None:
    with pytest.raises(Unusual):
        from_events(Loader(text))


def test_a_repeated_key_is_still_refused_at_its_line() -> None:
    with pytest.raises(YamlRefused) as info:
        parse_yaml_lines("cases:\n  - {id: a, id: b}\n")
    assert (info.value.line, info.value.problem) == (2, "duplicate key 'id' (first at line 2)")


def test_data_nested_too_deep_is_still_refused_at_its_line() -> None:
    text = "a: 1\ndeep: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(YamlRefused) as info:
        parse_yaml_lines(text)
    assert info.value.line == 2
