"""The default ``min`` of each bundled similarity backend is the threshold its committed pair
set gives (so the constant and the data cannot drift apart), and the figures' arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promptcheck.embeddings import cosine
from pytest_promptcheck.embeddings.bundled import BUNDLED, LocalEmbedders
from pytest_promptcheck.embeddings.calibration import (
    auc,
    default_min,
    load_pairs,
    threshold_at_precision,
)

PAIRS = Path(__file__).resolve().parent.parent / "benchmarks" / "similarity" / "pairs.jsonl"


def test_the_pair_set_is_large_varied_and_balanced() -> None:
    pairs = load_pairs(PAIRS)
    kinds = {kind: sum(p.kind == kind for p in pairs) for kind in {p.kind for p in pairs}}
    assert len(pairs) >= 200
    assert set(kinds) == {"paraphrase", "unrelated", "negation", "number_swap", "entity_swap"}
    assert all(p.same == (p.kind == "paraphrase") for p in pairs)
    assert kinds["paraphrase"] == len(pairs) - kinds["paraphrase"]
    assert len({(p.a, p.b) for p in pairs}) == len(pairs)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_default_min_is_the_threshold_the_pair_set_gives(name: str) -> None:
    backend = BUNDLED[name]
    if not backend.installed():
        pytest.skip(f"{backend.install} to check its calibration")
    pairs = load_pairs(PAIRS)
    embedders = LocalEmbedders()
    embedders.embed(name, [text for p in pairs for text in (p.a, p.b)])  # one batch
    cosines = [cosine(*embedders.embed(name, [p.a, p.b])) for p in pairs]
    assert default_min(pairs, cosines) == pytest.approx(backend.default_min, abs=0.01)


def test_auc_counts_ties_as_half() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5


def test_threshold_is_the_lowest_score_reaching_the_precision_rounded_up() -> None:
    scores = [0.95, 0.9, 0.85, 0.6, 0.5, 0.4]
    same = [True, True, False, True, False, False]
    assert threshold_at_precision(scores, same, 0.75) == 0.6  # 3 of the top 4
    assert threshold_at_precision(scores, same, 1.0) == 0.9
    assert threshold_at_precision([0.123], [True], 0.95) == 0.13


def test_threshold_is_one_when_no_score_reaches_the_precision() -> None:
    assert threshold_at_precision([0.9, 0.8], [False, True], 0.95) == 1.0


def test_pairs_are_json_lines_with_the_four_fields() -> None:
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        assert set(json.loads(line)) == {"a", "b", "same", "kind"}
