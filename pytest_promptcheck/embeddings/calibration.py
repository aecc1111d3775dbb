"""How well a backend's cosine separates labelled pairs, and the pass mark it earns: the
figures of benchmarks/similarity.py, and the check that each bundled backend's default ``min``
is still the one its pair set gives (tests/test_similarity_calibration.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PRECISION = 0.95
"""A bundled backend's default ``min`` is the lowest cosine at which at least this share of
the pairs that pass are paraphrases."""
DEFAULT_KINDS = ("paraphrase", "unrelated")
"""The pairs a default ``min`` is calibrated on. Over every kind no cosine reaches 95% precision
(negations and swapped numbers score like paraphrases, or higher: benchmarks/similarity.py), so
the default asks what an embedding can answer: is the output about the same thing?"""


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    kind: str


def load_pairs(path: Path) -> list[Pair]:
    """The labelled pairs of a JSON Lines file (``a``, ``b``, ``same``, ``kind``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Pair(**json.loads(line)) for line in lines if line.strip()]


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The chance that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return math.nan
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def threshold_at_precision(
    scores: Sequence[float], same: Sequence[bool], precision: float = PRECISION
) -> float:
    """The lowest score, rounded up to 0.01, at which pairs scoring at least it are paraphrases
    at ``precision`` or more; 1.0 when no such score exists."""
    ranked = sorted(zip(scores, same, strict=True), key=lambda pair: -pair[0])
    best = 1.0
    hits = 0
    for count, (score, label) in enumerate(ranked, start=1):
        hits += label
        tied = count < len(ranked) and ranked[count][0] == score
        if not tied and hits / count >= precision:
            best = score
    return min(1.0, math.ceil(round(best * 100, 6)) / 100)


def recall_at(scores: Sequence[float], same: Sequence[bool], minimum: float) -> float:
    """The share of paraphrases that pass at ``minimum``."""
    positives = [s for s, label in zip(scores, same, strict=True) if label]
    return sum(s >= minimum for s in positives) / len(positives) if positives else math.nan


def default_min(pairs: Sequence[Pair], cosines: Sequence[float]) -> float:
    """A bundled backend's default ``min``: the threshold at ``PRECISION`` on the pairs of
    ``DEFAULT_KINDS``."""
    chosen = [(c, p.same) for c, p in zip(cosines, pairs, strict=True) if p.kind in DEFAULT_KINDS]
    return threshold_at_precision([c for c, _ in chosen], [same for _, same in chosen])
