"""Errors meant for people: each says what failed, where, and what to do next."""

from __future__ import annotations

from pathlib import Path


class PromptcheckError(Exception):
    """Base class; ``str(error)`` is the whole message shown to the user."""


class SpecError(PromptcheckError):
    """A prompt file (or a file it points at) is invalid."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        self.hint = hint
        where = f"{self.path}:{line}" if line else str(self.path)
        text = f"{where}: {message}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class CheckArgError(PromptcheckError):
    """A check's argument is invalid; the spec loader adds file and line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)


class UsageError(PromptcheckError):
    """A command-line, ini or pyproject setting is invalid or cannot be honoured."""


class ProviderError(PromptcheckError):
    """A model call failed; the item that needed it errors (it does not fail)."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        tries: int = 1,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        self.provider = provider
        self.message = message
        self.status = status
        self.tries = tries
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        status_text = f"HTTP {status}" if status is not None else "no response"
        tries_text = "1 try" if tries == 1 else f"{tries} tries"
        super().__init__(f"{provider}: {status_text} after {tries_text}: {message}")

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    def after(self, tries: int, note: str = "") -> ProviderError:
        """The same failure, reported after ``tries`` attempts (with a note on why no more)."""
        return ProviderError(
            self.provider,
            f"{self.message} ({note})" if note else self.message,
            status=self.status,
            tries=tries,
            retryable=self.retryable,
            retry_after_s=self.retry_after_s,
        )


class CacheMissError(PromptcheckError):
    """Replay mode found no recorded response; no call was made."""


class CallLimitError(PromptcheckError):
    """--promptcheck-max-calls was reached by live calls made during the run (a flow's inner
    calls are known only as they happen): the run stops."""
