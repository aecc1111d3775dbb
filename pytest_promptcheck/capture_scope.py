"""A flow run's capture scope, and the errors of captured requests that cannot be answered."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_promptcheck.capture_calls import CapturedCall
from pytest_promptcheck.capture_keys import Origin, RequestShape
from pytest_promptcheck.errors import PromptcheckError

_RECORD = "--promptcheck-cache=use"


class CaptureError(PromptcheckError):
    """A captured request that cannot be answered (a replay miss, a refused host)."""


@dataclass
class CaptureScope:
    """One flow run's capture state: its sample, its reporter, its occurrence counts.

    ``failure`` is the first CaptureError raised in the scope: the flow may have caught it, so
    whoever runs the flow checks it and makes the item an error rather than trust the output."""

    sample: int
    on_call: Callable[[CapturedCall], None]
    failure: CaptureError | None = None
    _answered: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def occurrence(self, identity: str) -> int:
        """1 for the first identical request answered in this scope, 2 for the second, ...

        Only answered (2xx) requests count, so an SDK's retry after a 500 keeps its key."""
        with self._lock:
            return self._answered.get(identity, 0) + 1

    def answered(self, identity: str) -> None:
        with self._lock:
            self._answered[identity] = self._answered.get(identity, 0) + 1

    def fail(self, error: CaptureError) -> CaptureError:
        with self._lock:
            if self.failure is None:
                self.failure = error
        return error


@dataclass(frozen=True)
class Planned:
    """A request that goes through the cache, with everything decided before it is sent."""

    scope: CaptureScope
    shape: RequestShape
    occurrence: int
    request: Any
    secrets: list[str]

    @property
    def key(self) -> str:
        return self.shape.key(self.occurrence)


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def miss_error(planned: Planned, cache_ok: bool) -> CaptureError:
    shape = planned.shape
    model = f"model {shape.model}, " if shape.model else ""
    return CaptureError(
        f"no recorded response for the flow's {shape.method} {shape.path} ({model}sample "
        f"{shape.sample + 1}, {_ordinal(planned.occurrence)} identical request in this run of "
        f"the flow), and --promptcheck-cache=replay lets no request leave the process; record "
        f"it first with {_RECORD}"
        + ("" if cache_ok else " (the cache directory failed in this run)")
    )


def refused_error(request: Any, origins: tuple[Origin, ...]) -> CaptureError:
    url = request.url
    known = ", ".join(f"{o.scheme}://{o.host}:{o.port}{o.path}" for o in origins) or "none"
    return CaptureError(
        f"the flow's {request.method} {url.scheme}://{url.host}{url.path} was refused: "
        "--promptcheck-cache=replay lets no request leave the process, and only requests to a "
        f"configured provider's base URL ({known}) are answered from the cache; run with "
        f"{_RECORD} to let it through"
    )
