"""The promptcheck fixture (run by name or path, check) and checks added from conftest.py."""

from __future__ import annotations

import pytest

from tests.loopback import LoopbackServer
from tests.plugin.support import serve_support_bot


@pytest.fixture
def api_project(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("python_api")
    serve_support_bot(openai_env, **{"I want a refund": '{"queue": "billing", "urgent": false}'})
    return openai_env


def test_run_and_check(pytester: pytest.Pytester, api_project: LoopbackServer) -> None:
    result = pytester.runpytest("-k", "run_by")
    result.assert_outcomes(passed=2)
    assert len(api_project.completion_requests) == 1


def test_failed_check_lists_every_check(
    pytester: pytest.Pytester, api_project: LoopbackServer
) -> None:
    result = pytester.runpytest("-k", "readable")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * classify_ticket failed: 1 of 2 checks",
            'E *   check   FAIL  contains "tech": not found*',
            "E *   check   ok    not_contains*",
        ]
    )


def test_check_registered_in_conftest(
    pytester: pytest.Pytester, api_project: LoopbackServer
) -> None:
    pytester.runpytest("-k", "custom_check").assert_outcomes(passed=1)


def test_custom_check_usable_in_prompt_files(
    pytester: pytest.Pytester, api_project: LoopbackServer
) -> None:
    pytester.makefile(
        ".prompt.yaml",
        custom="model: openai:support-bot\nmessages: [{role: user, content: '{{ t }}'}]\n"
        "format: {type: json}\n"
        "cases: [{vars: {t: I want a refund}, expect: [{is_billing: true}]}]\n",
    )
    pytester.runpytest("custom.prompt.yaml").assert_outcomes(passed=1)
