"""The accept command printed for a moved case selects it in a shell, whatever its path holds."""

from __future__ import annotations

import shlex

import pytest

from pytest_promptcheck.items import _shell_word


@pytest.mark.parametrize(
    "node_id",
    ["p.prompt.yaml::refund", "it's/p.prompt.yaml::a b", "x'y'.prompt.yaml::$(rm -rf ~)"],
)
def test_a_node_id_is_one_shell_word(node_id: str) -> None:
    assert shlex.split(f"pytest {_shell_word(node_id)} -x") == ["pytest", node_id, "-x"]
