"""In-process llama.cpp on a GGUF file: ``local:gemma-3-270m`` or ``local:path/to/model.gguf``.

``llama_cpp`` and the packaged model come from the optional ``[local]`` extra; they are imported
inside functions, so the plugin imports fast and works without them.

The answer of a local model depends on the model file and on the llama.cpp build: at temperature 0
the output is byte-identical across calls and processes within one build, but a portable and a
native build, or one CPU with AVX-512 and one without, may give different text. ``identity()``
therefore reports the file's sha256, the ``llama_cpp`` version and llama.cpp's build/CPU
features, and never loads the model, so that a cache hit costs no model load. Every completion
carries the build as its ``system_fingerprint`` (e.g. ``llama.cpp 0.3.36 AVX2 AVX512 ...``), which
the baseline records, so that drift on another build reads ``model changed (local build: ...)``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from pytest_promptcheck.errors import ProviderError, UsageError
from pytest_promptcheck.providers.llama_build import build_info, import_llama_cpp, load
from pytest_promptcheck.providers.model_files import (
    ModelFile,
    looks_like_path,
    packaged_file,
    resolve_path,
    user_file,
)
from pytest_promptcheck.records import Completion, ModelRequest

PACKAGED_MODEL = "gemma-3-270m"
N_CTX = 2048
DEFAULT_MAX_TOKENS = 64
SUPPORTED_PARAMS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "min_p",
    "stop",
    "seed",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
)


class LocalProvider:
    """Serves every ``local:`` model id of a session; each model file is loaded once, on first call.

    Calls run one at a time (llama.cpp contexts are not thread-safe) in a worker thread. Sampling
    is deterministic by default: ``temperature`` defaults to 0 (greedy decoding), and sample
    ``n`` of a case uses seed ``params.seed (default 0) + n``, so sampled runs are reproducible too.
    """

    def __init__(self, cache_dir: Path, *, name: str = "local") -> None:
        self.name = name
        """The prefix it serves: ``local``, or a pyproject table's name of type local."""
        self.models_dir = Path(cache_dir) / "models"
        self.load_seconds = 0.0
        """Wall time spent loading model files in this session (not part of any latency)."""
        self._files: dict[str, ModelFile] = {}
        self._loaded: dict[Path, Any] = {}
        self._build: dict[str, str] | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        build = self._build_info()  # first: without the extra, say so before assembling
        model = self.model_file(request.model_name)
        return {"model_sha256": model.sha256, "n_ctx": N_CTX, **build}

    def build(self) -> str:
        """The llama.cpp build and CPU features in use, for people (``build_label``)."""
        return self._build_info()["build"]

    def model_file(self, name: str) -> ModelFile:
        """Resolve (and for the packaged model, assemble) a model id's file; memoised."""
        if name == PACKAGED_MODEL:
            key = name
        elif looks_like_path(name):
            key = str(resolve_path(name))
        else:
            raise UsageError(
                f"unknown local model '{self.name}:{name}'; use {self.name}:{PACKAGED_MODEL} (the "
                f"packaged model) or {self.name}:<path to a .gguf file> (absolute, or relative "
                "to the current directory)"
            )
        model = self._files.get(key)
        if model is None:
            model = (
                packaged_file(self.models_dir, PACKAGED_MODEL)
                if key == PACKAGED_MODEL
                else user_file(self.models_dir, Path(key))
            )
            self._files[key] = model
        return model

    def _build_info(self) -> dict[str, str]:
        if self._build is None:
            self._build = build_info()
        return self._build

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        if request.tools:  # sent nowhere, they would be ignored without a word
            raise UsageError(
                f"{self.name}: tools are not supported by the in-process model; run the prompt"
                " against an OpenAI-compatible server (--promptcheck-model openai:MODEL)"
            )
        if request.embed_input is not None:  # a similar check naming a local-type provider
            raise UsageError(
                f"{self.name}: the in-process model does not embed text; give the similar check"
                " model: wordllama, or a provider:model with an /embeddings endpoint"
            )
        kwargs = _call_kwargs(request.params, sample)
        model = self.model_file(request.model_name)
        async with self._serial():
            llama = await asyncio.to_thread(self._llama, model)
            return await asyncio.to_thread(
                _run, llama, request, kwargs, model.label, self.build(), self.name
            )

    def _serial(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _llama(self, model: ModelFile) -> Any:
        llama = self._loaded.get(model.path)
        if llama is None:
            started = time.perf_counter()
            extra = self._build_info()["extra_buffers"] == "on"
            llama = load(model.path, N_CTX, extra, self.name)
            self.load_seconds += time.perf_counter() - started
            self._loaded[model.path] = llama
        return llama

    async def aclose(self) -> None:
        for llama in self._loaded.values():
            close = getattr(llama, "close", None)
            if close is not None:
                close()
        self._loaded.clear()


def _call_kwargs(params: dict[str, Any], sample: int) -> dict[str, Any]:
    """Map the prompt's params to llama-cpp-python arguments; defaults are deterministic."""
    unknown = sorted(set(params) - set(SUPPORTED_PARAMS))
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise UsageError(
            f"local: unsupported param {names}; llama.cpp accepts {', '.join(SUPPORTED_PARAMS)}"
        )
    seed = params.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"local: param 'seed' must be a non-negative integer, got {seed!r}")
    kwargs = {key: value for key, value in params.items() if key != "seed"}
    kwargs.setdefault("temperature", 0.0)
    kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(kwargs.get("stop"), str):
        kwargs["stop"] = [kwargs["stop"]]
    kwargs["seed"] = seed + sample
    return kwargs


def _run(
    llama: Any,
    request: ModelRequest,
    kwargs: dict[str, Any],
    label: str,
    build: str,
    name: str,
) -> Completion:
    llama.reset()  # no KV-cache reuse from the previous call: each answer is independent of order
    if request.output_schema is not None:  # a judge's verdict: sampling follows the schema
        kwargs = {**kwargs, "grammar": _grammar(request.output_schema)}
    started = time.perf_counter()
    try:
        if request.messages is not None:
            response = llama.create_chat_completion(messages=list(request.messages), **kwargs)
        else:
            response = llama.create_completion(request.prompt or "", **kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:  # e.g. a prompt longer than n_ctx
        raise ProviderError(name, f"{label}: {type(exc).__name__}: {exc}") from None
    latency_ms = (time.perf_counter() - started) * 1000
    return _completion(response, request.messages is not None, label, build, latency_ms)


def _grammar(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar that only lets the model write JSON following ``schema``."""
    llama_cpp = import_llama_cpp()
    return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def _completion(
    response: dict[str, Any], chat: bool, label: str, build: str, latency_ms: float
) -> Completion:
    choice = response["choices"][0]
    text = choice["message"]["content"] if chat else choice["text"]
    usage = response.get("usage") or {}
    return Completion(
        text=text or "",
        model_reported=label,
        tokens_in=int(usage.get("prompt_tokens", 0)),
        tokens_out=int(usage.get("completion_tokens", 0)),
        latency_ms=round(latency_ms, 3),
        cost_usd=0.0,
        system_fingerprint=build,
        finish_reason=choice.get("finish_reason"),
    )
