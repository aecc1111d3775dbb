"""WordLlama (PyPI ``wordllama``, extra ``[similar]``): static token embeddings averaged per
text, weights shipped inside its wheel. Loaded from the package folder with downloads disabled,
so it never reaches the network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

NAME = "wordllama"
DEFAULT_MIN = 0.08
"""The default ``min``: the lowest cosine at which 95% of the pairs that pass are paraphrases,
on the paraphrase and unrelated pairs of benchmarks/similarity/pairs.jsonl (calibration.py says
why not every kind). Reproduce: ``python benchmarks/similarity.py --backend wordllama``;
tests/test_similarity_calibration.py recomputes it, so the two cannot drift apart."""


class WordLlamaEmbedder:
    """The 256-dimension ``l2_supercat`` model bundled in the wheel."""

    name = NAME

    def __init__(self) -> None:
        import wordllama  # imported here: a run without a similar check never pays for it

        folder = Path(wordllama.__file__).parent  # weights/ and tokenizers/ live in the wheel
        self._model: Any = wordllama.WordLlama.load(cache_dir=folder, disable_download=True)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.embed(list(texts), norm=True)
        return [[float(x) for x in row] for row in vectors]
