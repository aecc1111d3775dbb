"""The cache commands find the cache folder a pytest run from the same place would use."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.ini_lookup import default_cache_dir


def test_without_an_ini_file_it_is_under_the_current_folder(tmp_path: Path) -> None:
    assert default_cache_dir(tmp_path) == tmp_path / ".promptcheck/cache"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\npromptcheck_cache_dir = ci/cache\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\npromptcheck_cache_dir = "ci/cache"\n'),
        ("tox.ini", "[pytest]\npromptcheck_cache_dir = ci/cache\n"),
        ("setup.cfg", "[tool:pytest]\npromptcheck_cache_dir = ci/cache\n"),
        ("pytest.toml", '[pytest]\npromptcheck_cache_dir = "ci/cache"\n'),
        (".pytest.toml", '[pytest]\npromptcheck_cache_dir = "ci/cache"\n'),
        ("pyproject.toml", '[tool.pytest]\npromptcheck_cache_dir = "ci/cache"\n'),
    ],
)
def test_the_ini_setting_is_relative_to_the_ini_folder(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "sub").mkdir()
    assert default_cache_dir(tmp_path / "sub") == tmp_path / "ci/cache"


def test_files_that_are_not_pytest_configuration_are_passed_over(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (tmp_path / "sub" / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    assert default_cache_dir(tmp_path / "sub") == tmp_path / ".promptcheck/cache"


def test_the_first_ini_file_found_wins_even_without_the_setting(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\npromptcheck_cache_dir = far\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pytest.ini").write_text("[pytest]\n")
    assert default_cache_dir(tmp_path / "sub") == tmp_path / "sub/.promptcheck/cache"


def test_a_pyproject_whose_tool_is_not_a_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text('tool = "black"\n')
    assert default_cache_dir(tmp_path / "sub") == tmp_path / ".promptcheck/cache"


def test_an_empty_pytest_toml_is_pytests_file(tmp_path: Path) -> None:
    (tmp_path / "pytest.toml").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tox.ini").write_text("[tox]\n")
    assert default_cache_dir(tmp_path / "sub") == tmp_path / ".promptcheck/cache"


def test_with_no_configuration_the_first_pyproject_is_the_rootdir(tmp_path: Path) -> None:
    """pytest's own fallback: a pyproject.toml without pytest tables still fixes the rootdir."""
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (tmp_path / "sub").mkdir()
    assert default_cache_dir(tmp_path / "sub") == tmp_path / ".promptcheck/cache"


def test_it_agrees_with_the_rootdir_pytest_reports(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", pytest='[pytest]\npromptcheck_cache_dir = "ci/cache"\n')
    sub = pytester.mkdir("sub")
    result = pytester.runpytest_subprocess("--collect-only", sub)
    rootdir = next(line for line in result.stdout.lines if line.startswith("rootdir:"))
    assert rootdir.split()[1].rstrip(",") == str(pytester.path)
    assert default_cache_dir(sub) == pytester.path / "ci/cache"
