"""What a flow's code is handed as ``ctx``: ``run`` (a prompt file), ``chat`` and ``complete``
(raw calls with the flow's model), ``model``, ``sample`` and ``vars``.

Every inner call goes through the run's ModelClient (cache, claims, retries, limits, progress).
Identical requests within one sample are keyed by occurrence, so a loop replays in order. An
async flow gets ``AsyncFlowContext`` (``await ctx.run(...)``); a sync flow, on a worker thread,
gets ``FlowContext``, whose calls are scheduled onto the session's loop and waited for.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.capture_calls import CapturedCall
from pytest_promptcheck.errors import CacheMissError, PromptcheckError, SpecError
from pytest_promptcheck.files import is_prompt_file
from pytest_promptcheck.prompt_result import PromptResult
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.render import TemplateError
from pytest_promptcheck.replay import nearest_request
from pytest_promptcheck.scoring import parse_format
from pytest_promptcheck.spec import PromptSpec
from pytest_promptcheck.trace import TraceStep

if TYPE_CHECKING:
    from pytest_promptcheck.client import ModelClient
    from pytest_promptcheck.spec import Case


class StepRuntime(Protocol):
    """What a flow's inner calls need of the run (flows.FlowRuntime)."""

    @property
    def client(self) -> ModelClient: ...

    live: int

    def admit(self, key: str) -> None: ...

    def load(self, prompt: str | Path) -> PromptSpec: ...

    def recorded(self, key: str) -> list[dict[str, Any]] | None: ...


class FlowRun(Protocol):
    """The flow case a sample belongs to (flows.FlowRun)."""

    @property
    def runtime(self) -> StepRuntime: ...

    @property
    def spec(self) -> PromptSpec: ...

    @property
    def case(self) -> Case: ...

    @property
    def model(self) -> str: ...

    def step_model(self, step: PromptSpec) -> str: ...

    def record_key(self, sample: int) -> str: ...


_TEXT_FORMAT: dict[str, Any] = {"type": "text", "schema": None}


class StepFormatError(ValueError):
    """A step's output breaks its prompt file's ``format:``; raised into the flow, which may
    catch it (uncaught, the item errors with the flow's traceback)."""


class FlowStepError(PromptcheckError):
    """An inner call could not be made (its provider failed, a replay miss, a bad step file)."""


class FlowCalls:
    """One flow sample's inner calls, on the loop: keys by occurrence, the trace, the record."""

    def __init__(self, run: FlowRun, sample: int) -> None:
        self.run = run
        self.sample = sample
        self.vars = dict(run.case.vars)
        self.trace: list[TraceStep | None] = []
        self.requests: list[dict[str, Any]] = []
        """What the per-case record keeps: each request's step name, cache key and payload."""
        self._seen: Counter[str] = Counter()

    def steps(self) -> tuple[TraceStep, ...]:
        return tuple(step for step in self.trace if step is not None)

    def captured(self, call: CapturedCall) -> None:
        """A request the application's own SDK sent: a step of the trace, and a live call
        counted against --promptcheck-max-calls (known only once it was made)."""
        done = Completion(
            text=call.text or "",
            model_reported=call.model or "",
            tokens_in=call.tokens_in,
            tokens_out=call.tokens_out,
            latency_ms=call.latency_ms,
            cached=call.cached,
            tool_calls=call.tool_calls,
        )
        name = f"sdk {call.method} {call.path}"
        self.trace.append(TraceStep(name, call.model or "", call.fingerprint, done))
        if not call.cached:
            self.run.runtime.live += 1

    async def prompt(self, prompt: str | Path, values: dict[str, Any]) -> PromptResult:
        spec = self._step_spec(prompt)
        try:
            messages, text = spec.template.render(values)
        except TemplateError as exc:
            raise SpecError(spec.path, exc.message, hint=exc.hint) from None
        model = self.run.step_model(spec)
        request = ModelRequest(model, messages, text, spec.params, spec.format_payload())
        completion, request = await self.call(spec.name, request, spec.fingerprint)
        if spec.format_type == "json":
            _, error = parse_format(completion.text, spec.format_schema)
            if error is not None:
                raise StepFormatError(f"ctx.run('{spec.name}'): {error}")
        return PromptResult(spec, values, (completion,), request)

    async def raw(self, name: str, request: ModelRequest) -> PromptResult:
        completion, request = await self.call(name, request, None)
        return PromptResult(self.run.spec, self.vars, (completion,), request)

    async def call(
        self, name: str, request: ModelRequest, prompt: str | None
    ) -> tuple[Completion, ModelRequest]:
        """Make (or find) one inner call; its place in the trace is the order calls start."""
        base = sha256_of(request.payload())
        request = replace(request, occurrence=self._seen[base])
        self._seen[base] += 1
        runtime, client = self.run.runtime, self.run.runtime.client
        key = client.key(request, self.sample)
        self.requests.append({"step": name, "key": key, "request": request.payload()})
        slot = len(self.trace)
        self.trace.append(None)
        runtime.admit(key)
        try:
            completion = await client.sample(request, self.sample)
        except CacheMissError as exc:
            recorded = runtime.recorded(self.run.record_key(self.sample))
            raise FlowStepError(f"{name}: {exc}\n{nearest_request(request, recorded)}") from None
        except PromptcheckError as exc:
            raise FlowStepError(f"{name}: {exc}") from None
        fingerprint = sha256_of(request.payload())
        self.trace[slot] = TraceStep(name, request.model, fingerprint, completion, prompt)
        return completion, request

    def _step_spec(self, prompt: str | Path) -> PromptSpec:
        """A prompt file by name, or by path relative to the flow's prompt file."""
        if not isinstance(prompt, str | Path):
            raise TypeError(f"ctx.run: a prompt name or path, not {type(prompt).__name__}")
        given = Path(prompt)
        if is_prompt_file(given) and not given.is_absolute():
            prompt = self.run.spec.path.parent / given
        spec = self.run.runtime.load(prompt)
        if spec.flow is not None:
            raise FlowStepError(
                f"ctx.run('{prompt}'): {spec.path.name} is a flow; a step is a prompt file "
                "with messages or prompt (call the other flow's function from Python instead)"
            )
        return spec


def chat_request(run: FlowRun, messages: Any, params: dict[str, Any]) -> ModelRequest:
    if not isinstance(messages, list | tuple) or not all(_message(m) for m in messages):
        raise TypeError("ctx.chat: messages must be a list of {'role': ..., 'content': str}")
    shown = tuple({"role": m["role"], "content": m["content"]} for m in messages)
    return ModelRequest(run.model, shown, None, {**run.spec.params, **params}, _TEXT_FORMAT)


def complete_request(run: FlowRun, prompt: Any, params: dict[str, Any]) -> ModelRequest:
    if not isinstance(prompt, str):
        raise TypeError(f"ctx.complete: the prompt must be a str, not {type(prompt).__name__}")
    return ModelRequest(run.model, None, prompt, {**run.spec.params, **params}, _TEXT_FORMAT)


def _message(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and isinstance(message.get("role"), str)
        and isinstance(message.get("content"), str)
    )


class AsyncFlowContext:
    """``ctx`` of an async flow: ``await ctx.run(...)``, ``await ctx.chat(...)``, ..."""

    def __init__(self, calls: FlowCalls) -> None:
        self._calls = calls

    @property
    def model(self) -> str:
        return self._calls.run.model

    @property
    def sample(self) -> int:
        return self._calls.sample

    @property
    def vars(self) -> dict[str, Any]:
        return self._calls.vars

    async def run(self, prompt: str | Path, **values: Any) -> PromptResult:
        return await self._calls.prompt(prompt, values)

    async def chat(self, messages: list[dict[str, str]], **params: Any) -> PromptResult:
        return await self._calls.raw("chat", chat_request(self._calls.run, messages, params))

    async def complete(self, prompt: str, **params: Any) -> PromptResult:
        return await self._calls.raw("complete", complete_request(self._calls.run, prompt, params))


class FlowContext:
    """``ctx`` of a sync flow, which runs on a worker thread: each call of the async context
    is scheduled onto the session's loop (thread-safely) and waited for."""

    def __init__(self, calls: FlowCalls, loop: asyncio.AbstractEventLoop) -> None:
        self._async = AsyncFlowContext(calls)
        self._loop = loop

    @property
    def model(self) -> str:
        return self._async.model

    @property
    def sample(self) -> int:
        return self._async.sample

    @property
    def vars(self) -> dict[str, Any]:
        return self._async.vars

    def run(self, prompt: str | Path, **values: Any) -> PromptResult:
        return self._wait(self._async.run(prompt, **values))

    def chat(self, messages: list[dict[str, str]], **params: Any) -> PromptResult:
        return self._wait(self._async.chat(messages, **params))

    def complete(self, prompt: str, **params: Any) -> PromptResult:
        return self._wait(self._async.complete(prompt, **params))

    def _wait(self, call: Coroutine[Any, Any, PromptResult]) -> PromptResult:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()
