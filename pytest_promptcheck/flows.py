"""Running flows (DESIGN §10): a prompt file's ``flow: module:function`` is run once per sample
in the call phase, concurrently with everything else; an async flow on the session's loop, a
sync one on a worker thread with a copy of its context. Its return is the output that
``format:`` and the checks judge; its inner calls are its trace."""

from __future__ import annotations

import asyncio
import contextvars
import os
import sysconfig
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.capture import SdkCapture
from pytest_promptcheck.errors import CallLimitError, PromptcheckError
from pytest_promptcheck.flow_context import AsyncFlowContext, FlowCalls, FlowContext
from pytest_promptcheck.flow_target import FlowTarget
from pytest_promptcheck.prompt_finder import PromptFinder
from pytest_promptcheck.records import Completion
from pytest_promptcheck.spec import Case, PromptSpec
from pytest_promptcheck.trace import Trace, output_text, synthesized

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_promptcheck.checks.registry import CheckRegistry
    from pytest_promptcheck.client import ModelClient
    from pytest_promptcheck.settings import Settings

FlowSample = tuple[Completion, Trace]
OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
_THREADS = 64
"""Sync flows mostly wait for their calls: the threads are many so the providers' limits,
not the pool, bound how many run at once."""
_OURS = str(Path(__file__).resolve().parent)
_STDLIB = sysconfig.get_paths()["stdlib"]


def provider_base_urls(settings: Settings) -> list[str]:
    """Where the application's SDK calls are captured: every configured provider's base URL,
    and the OpenAI and Anthropic defaults (or their environment variables)."""
    urls = [c.base_url for c in settings.providers.values() if c.base_url]
    urls.append(os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL)
    urls.append(os.environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE_URL)
    return urls


class FlowError(PromptcheckError):
    """The flow raised, returned something that is not an output, or an inner call failed."""


class FlowRuntime:
    """What every flow of the run shares: the client, the step loader, the thread pool, and the
    live-call count against --promptcheck-max-calls. Held by the session."""

    def __init__(
        self,
        client: ModelClient,
        settings: Settings,
        registry: CheckRegistry,
        check_model: Callable[[str], None],
    ) -> None:
        self.client = client
        self.models_overridden = bool(settings.models)
        self.max_calls = settings.max_calls
        self.outside_live = 0
        """Live calls the plan counted outside flows (set by the plan)."""
        self.live = 0
        self._loader = PromptFinder(registry, registry.project.root)
        self._check_model = check_model
        self._pool: ThreadPoolExecutor | None = None
        self.capture = SdkCapture(client.cache, provider_base_urls(settings))
        """The application's own SDK calls inside a flow go through the cache (capture.py)."""
        self.capture.install()

    def load(self, prompt: str | Path) -> PromptSpec:
        return self._loader.load(prompt)

    def check_model(self, model: str) -> None:
        self._check_model(model)

    def admit(self, key: str) -> None:
        """Count a call that will be live; refuse it past --promptcheck-max-calls."""
        client = self.client
        if self.max_calls is None or client.started(key) or client.cache.holds(key):
            return
        if self.outside_live + self.live >= self.max_calls:
            raise CallLimitError(
                f"promptcheck: --promptcheck-max-calls={self.max_calls} reached: a flow's inner "
                "call would be one more live call; the run stops (raise the limit, or select "
                "fewer items with -k or -m)"
            )
        self.live += 1

    def recorded(self, key: str) -> list[dict[str, Any]] | None:
        found = self.client.cache.get_record(key)
        return found if isinstance(found, list) else None

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="promptcheck-flow")
        return self._pool

    def close(self) -> None:
        self.capture.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class FlowRun:
    """One flow case with one model: its samples, each run once in the session (memoized)."""

    def __init__(self, runtime: FlowRuntime, spec: PromptSpec, case: Case, model: str) -> None:
        self.runtime = runtime
        self.spec = spec
        self.case = case
        self.model = model
        self.target: FlowTarget = spec.flow  # type: ignore[assignment]  # set for flow files
        self._samples: dict[int, asyncio.Future[FlowSample]] = {}

    def step_model(self, step: PromptSpec) -> str:
        """--promptcheck-model or ini, then the step file's model, then the flow file's."""
        model = self.model if self.runtime.models_overridden else (step.model or self.model)
        self.runtime.check_model(model)
        return model

    def record_key(self, sample: int) -> str:
        """Where the cache keeps the requests this case's sample made last time."""
        ident = {"flow record": 1, "prompt": self.spec.name, "case": self.case.id}
        return sha256_of({**ident, "model": self.model, "sample": sample})

    def recorded(self, sample: int) -> list[dict[str, Any]] | None:
        """The requests this case's sample made last time (the plan line, replay misses)."""
        return self.runtime.recorded(self.record_key(sample))

    async def sample(self, client: ModelClient, index: int) -> FlowSample:
        future = self._samples.get(index)
        if future is None:
            future = self._samples[index] = asyncio.ensure_future(self._run(index))
        return await asyncio.shield(future)

    def finished(self, count: int) -> list[FlowSample] | None:
        futures = [self._samples.get(i) for i in range(count)]
        if all(f is not None and f.done() and f.exception() is None for f in futures):
            return [f.result() for f in futures if f is not None]
        return None

    async def _run(self, index: int) -> FlowSample:
        calls = FlowCalls(self, index)
        try:
            value = await self._call(calls)
        except PromptcheckError as exc:
            raise _step_failed(self.target.target, calls, exc) from None
        except Exception as exc:  # the user's code failed: an error with its own traceback
            raise FlowError(_raised(self.target.target, exc)) from None
        finally:
            if calls.requests:
                self.runtime.client.cache.put_record(self.record_key(index), calls.requests)
        try:
            output = output_text(value)
        except (TypeError, ValueError) as exc:
            raise FlowError(
                f"flow {self.target.target} returned {type(value).__name__}, not a str or a "
                f"JSON value ({exc})"
            ) from None
        trace = calls.steps()
        return synthesized(output, trace), trace

    async def _call(self, calls: FlowCalls) -> Any:
        fn, flow_vars = self.target.function, dict(self.case.vars)
        # The capture scope is set before a sync flow's context is copied to its thread.
        with self.runtime.capture.scope(calls.sample, calls.captured) as scope:
            if self.target.is_async:
                value = await fn(flow_vars, AsyncFlowContext(calls))
            else:
                loop = asyncio.get_running_loop()
                ctx = FlowContext(calls, loop)
                run = contextvars.copy_context().run
                value = await loop.run_in_executor(self.runtime.pool(), run, fn, flow_vars, ctx)
        if scope.failure is not None:  # a replay miss the flow's own code may have caught
            raise scope.failure
        return value


def _step_failed(target: str, calls: FlowCalls, exc: PromptcheckError) -> PromptcheckError:
    if isinstance(exc, CallLimitError):
        return exc
    return FlowError(f"flow {target}, call {len(calls.trace)}: {exc}")


def _raised(target: str, exc: BaseException) -> str:
    """The exception with the flow's own frames only (not ours, not asyncio's)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith((_OURS, _STDLIB))
    ]
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    lines = [f"flow {target} raised {head}", "Traceback (the flow's code, most recent call last):"]
    lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
    return "\n".join(lines)
