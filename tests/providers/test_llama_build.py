"""The local build label: what a local model's completions report as their system_fingerprint."""

from __future__ import annotations

from pytest_promptcheck.providers.llama_build import build_label

AVX512_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AMX_INT8 = 0 | LLAMAFILE = 1 | OPENMP = 1 | "
    "REPACK = 1 |"
)


def test_names_the_version_and_the_features_in_use() -> None:
    assert build_label("0.3.36", AVX512_INFO, extra_buffers=True) == (
        "llama.cpp 0.3.36 SSE3 SSSE3 AVX AVX2 F16C FMA BMI2 AVX512 AVX512_VBMI AVX512_VNNI "
        "LLAMAFILE OPENMP REPACK"
    )


def test_another_cpu_gives_another_label() -> None:
    avx2 = AVX512_INFO.replace("AVX512 = 1", "AVX512 = 0").replace("_VBMI = 1", "_VBMI = 0")
    assert build_label("0.3.36", avx2, True) != build_label("0.3.36", AVX512_INFO, True)


def test_says_when_weights_are_not_repacked() -> None:
    label = build_label("0.3.36", AVX512_INFO.replace("AMX_INT8 = 0", "AMX_INT8 = 1"), False)
    assert label.endswith(" AMX_INT8 LLAMAFILE OPENMP REPACK no-extra-buffers")
