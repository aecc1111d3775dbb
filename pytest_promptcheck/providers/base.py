"""The provider contract: turn a ModelRequest into a Completion."""

from __future__ import annotations

from typing import Any, Protocol

from pytest_promptcheck.records import Completion, ModelRequest


class Provider(Protocol):
    """A model backend. One instance serves every model id with its prefix in a session."""

    name: str

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        """What besides the request decides the answer (base URL, model file hash, build).

        It goes into the cache key and the model identity; never a secret.
        """
        ...

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        """Make one live call for sample number ``sample`` (0-based); raise ProviderError."""
        ...

    async def aclose(self) -> None:
        """Release connections and loaded models."""
        ...
