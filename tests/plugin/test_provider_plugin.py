"""A provider type added from a conftest.py (fixtures/provider_plugin) runs a suite like the
built-ins: planned, cached, retried and reported; its pyproject options reach it."""

from __future__ import annotations

import json

import pytest

SUITE = 3  # words.prompt.yaml: stressed, flaky; shouty.prompt.yaml: level


def calls(pytester: pytest.Pytester) -> list[str]:
    """What reached the provider, one line per live call: '<prefix> <prompt>'."""
    log = pytester.path / "reverse-calls.log"
    return log.read_text("utf-8").splitlines() if log.exists() else []


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.copy_example("provider_plugin")
    return pytester


def test_a_conftest_provider_runs_the_suite_with_retries_and_a_report(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--promptcheck-report", "out.json")
    result.assert_outcomes(passed=SUITE)
    result.stdout.fnmatch_lines([f"promptcheck: {SUITE} model calls: {SUITE} live, 0 from cache"])
    # the flaky case failed retryably once, was retried, and passed
    assert calls(project).count("reverse flaky drawer") == 2
    report = json.loads((project.path / "out.json").read_text("utf-8"))
    cases = {(case["model"], case["case"]): case["verdict"] for case in report["cases"]}
    assert cases == {
        ("reverse:v1", "stressed"): "passed",
        ("reverse:v1", "flaky"): "passed",
        ("shouty:v1", "level"): "passed",
    }


def test_a_rerun_makes_no_provider_call(project: pytest.Pytester) -> None:
    project.runpytest().assert_outcomes(passed=SUITE)
    made = calls(project)
    result = project.runpytest()
    result.assert_outcomes(passed=SUITE)
    result.stdout.fnmatch_lines([f"promptcheck: {SUITE} model calls: 0 live, {SUITE} from cache"])
    assert calls(project) == made


def test_pyproject_options_reach_the_provider(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "level", "--promptcheck-report", "out.json")
    result.assert_outcomes(passed=1)
    report = json.loads((project.path / "out.json").read_text("utf-8"))
    (case,) = report["cases"]
    assert case["result"]["samples"][0]["output"] == "LEVEL!"  # upper = true, suffix = "!"


def test_a_registered_type_prefixes_model_ids_on_the_command_line(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--promptcheck-model", "reverse:v2", "-k", "stressed")
    result.assert_outcomes(passed=1)


def test_an_unknown_prefix_lists_the_registered_types_and_the_tables(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--promptcheck-model", "revers:v1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*unknown provider 'revers' in model id 'revers:v1'; known providers: "
            "anthropic, local, openai, reverse, shouty (add others in "
            "*pytest_promptcheck_add_providers*"
        ]
    )


def test_an_option_the_type_does_not_declare_is_one_error(project: pytest.Pytester) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(
        '[tool.promptcheck.providers.shouty]\ntype = "reverse"\ncolour = "red"\n', "utf-8"
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {pyproject}: [[]tool.promptcheck.providers.shouty]: unknown key 'colour'; "
            "known keys: api_key_env, base_url, max_concurrency, price_per_1m_input, "
            "price_per_1m_output, suffix, type, upper"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_a_secret_looking_option_is_refused(project: pytest.Pytester) -> None:
    (project.path / "pyproject.toml").write_text(
        '[tool.promptcheck.providers.shouty]\ntype = "reverse"\ntoken = "tk-do-not-print"\n',
        "utf-8",
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*shouty]: secrets never go in files; set api_key_env*"])
    assert "tk-do-not-print" not in result.stderr.str() + result.stdout.str()


def test_a_type_registered_twice_is_one_error(project: pytest.Pytester) -> None:
    conftest = project.path / "conftest.py"
    conftest.write_text(
        conftest.read_text("utf-8")
        + "\n\ndef pytest_promptcheck_add_providers(registry):  # noqa: F811\n"
        "    registry.register('reverse', ReverseProvider)\n"
        "    registry.register('reverse', ReverseProvider)\n",
        "utf-8",
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*provider type 'reverse' is registered twice*"])


def test_a_factory_that_raises_is_a_collection_error_naming_the_file(
    project: pytest.Pytester,
) -> None:
    conftest = project.path / "conftest.py"
    text = conftest.read_text("utf-8").replace(
        "        self.name = config.name\n",
        "        self.name = config.name\n        raise RuntimeError('no region set')\n",
    )
    conftest.write_text(text, "utf-8")
    result = project.runpytest("-k", "stressed")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*words.prompt.yaml: model: provider 'reverse' (type reverse) cannot be created: "
            "RuntimeError: no region set"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_under_xdist_each_call_is_made_once(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=SUITE)
    made = calls(project)
    assert sorted(set(made)) == ["reverse flaky drawer", "reverse stressed", "shouty level"]
    assert made.count("reverse flaky drawer") == 2  # its failed try and its retry
    assert len(made) == SUITE + 1
