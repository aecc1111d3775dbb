"""Text embeddings for the ``similar`` check: a small protocol, the bundled in-process backends
(loaded lazily, once per session) and the cosine they are compared with.

Endpoint models (``provider:model``) are not here: their embeddings are model calls, made by the
call phase through the provider (see checks/similar.py and providers/openai_embeddings.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

Vector = Sequence[float]


class Embedder(Protocol):
    """A backend that embeds texts in this process."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


def cosine(a: Vector, b: Vector) -> float:
    """The cosine of two vectors; 0.0 when either is all zeros (an empty text)."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different sizes ({len(a)} and {len(b)})")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return 0.0 if norm == 0.0 else max(-1.0, min(1.0, dot / norm))
