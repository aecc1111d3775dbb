"""The llama.cpp build in use: what it reports, the label that names it, and how a model is loaded.

Kept apart from the provider because it is what makes one machine's answers differ from
another's: the llama-cpp-python version, the CPU features llama.cpp was built for, and whether
weights are repacked into its extra buffer types.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pytest_promptcheck.errors import ProviderError, UsageError

BUILD_LABEL_START = "llama.cpp"
"""A local completion's system_fingerprint starts so: drift names it as the local build."""

EXTRA_INSTALL = "pip install 'pytest-promptcheck[local]'"
EXTRA_HINT = f"local: models need the [local] extra: {EXTRA_INSTALL}"
_FEATURE = re.compile(r"\b([A-Z][A-Z0-9_]*) = (\d+)")


def build_info() -> dict[str, str]:
    """The build, as part of a local model's identity; imports llama_cpp, loads no model."""
    llama_cpp = import_llama_cpp()
    info = llama_cpp.llama_print_system_info()
    if isinstance(info, bytes):
        info = info.decode("utf-8", "replace")
    system_info = " ".join(str(info).split())
    version = str(llama_cpp.__version__)
    extra_buffers = _extra_buffers_safe(system_info)
    return {
        "llama_cpp": version,
        "system_info": system_info,
        "extra_buffers": "on" if extra_buffers else "off",
        "build": build_label(version, system_info, extra_buffers),
    }


def import_llama_cpp() -> ModuleType:
    try:
        import llama_cpp
    except ImportError:
        raise UsageError(EXTRA_HINT) from None
    module: ModuleType = llama_cpp
    return module


def _extra_buffers_safe(system_info: str) -> bool:
    """Whether llama.cpp may repack weights into its extra buffer types (AMX, CPU repack).

    Not on builds with AMX: llama.cpp's AMX matmul kills the whole process with SIGSEGV on some
    machines (ggml-org/llama.cpp#20824; fix proposed in PR #26954); the plain CPU path is used.
    """
    return "AMX_INT8 = 1" not in system_info


def build_label(version: str, system_info: str, extra_buffers: bool) -> str:
    """What changes a local model's output besides its file, short enough to read in a summary.

    e.g. ``llama.cpp 0.3.36 AVX AVX2 AVX512 FMA OPENMP REPACK``: the llama_cpp version and the
    backend features this build uses (those llama.cpp reports as ``NAME = 1``), plus
    ``no-extra-buffers`` when weights are not repacked. It is the completion's
    ``system_fingerprint``, so a baseline recorded on another CPU or build reads as
    ``model changed (local build: ... → ...)``.
    """
    features = [name for name, value in _FEATURE.findall(system_info) if value != "0"]
    label = " ".join([BUILD_LABEL_START, version, *features])
    return label if extra_buffers else f"{label} no-extra-buffers"


def load(path: Path, n_ctx: int, extra_buffers: bool, provider: str = "local") -> Any:
    from llama_cpp import Llama

    try:
        with _extra_buffers(extra_buffers):
            # swa_full=False: each call starts from an empty KV cache anyway, and it keeps
            # llama.cpp from printing a warning on stderr
            return Llama(model_path=str(path), n_ctx=n_ctx, seed=0, swa_full=False, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ProviderError(provider, f"cannot load model {path}: {exc}") from None


@contextlib.contextmanager
def _extra_buffers(enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's ``use_extra_bufts`` set as asked.

    llama-cpp-python's ``Llama()`` does not expose the flag, so its default-params factory is
    wrapped for the duration of the load (loads are serial) and restored afterwards.
    """
    from llama_cpp import llama_cpp as low_level

    original = low_level.llama_model_default_params
    if enabled or not hasattr(original(), "use_extra_bufts"):
        yield
        return

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        low_level.llama_model_default_params = original
