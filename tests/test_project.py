"""Project: which paths and which Python modules a prompt file may reach."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_promptcheck.project import ALLOW_KEY, OutsideProject, Project


def refusal(project: Project, target: str) -> OutsideProject:
    module = target.partition(":")[0]
    with pytest.raises(OutsideProject) as info:
        project.check_module(target, module)
    return info.value


def test_confine_returns_the_resolved_path_inside(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert Project.at(tmp_path).confine(tmp_path / "a" / ".." / "b", "b") == tmp_path / "b"


def test_confine_refuses_a_path_that_climbs_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(OutsideProject) as info:
        Project.at(root).confine(root / ".." / "x", "../x")
    assert info.value.message == f"../x is outside the project (rootdir {root})"


def test_confine_follows_symlinks_first(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(OutsideProject):
        Project.at(root).confine(root / "link" / "secret", "link/secret")


def test_confine_refuses_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OutsideProject, match=r"^a cannot be resolved: .*loop"):
        Project.at(tmp_path).confine(tmp_path / "a", "a")


def test_confine_to_a_tree_refuses_a_sibling_folder(tmp_path: Path) -> None:
    with pytest.raises(OutsideProject, match="is outside the folder"):
        Project.at(tmp_path).confine(tmp_path / "b" / "x", "../b/x", tree=tmp_path / "a")


def test_project_files_hold_code_but_environments_inside_do_not(tmp_path: Path) -> None:
    project = Project.at(tmp_path)
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    assert project.holds_code(tmp_path / "pkg" / "checks.py")
    assert not project.holds_code(tmp_path / "venv" / "lib" / "m.py")
    assert not project.holds_code(tmp_path / "vendor" / "site-packages" / "m.py")
    assert not project.holds_code(tmp_path.parent / "m.py")


def test_builtin_module_is_refused_with_the_allowlist_hint(tmp_path: Path) -> None:
    error = refusal(Project.at(tmp_path), "builtins:exec")
    assert (
        error.message
        == "builtins:exec is not the project's code: module builtins is built into Python"
    )
    assert f"list it in the ini key {ALLOW_KEY}" in error.hint


def test_stdlib_module_is_refused(tmp_path: Path) -> None:
    message = refusal(Project.at(tmp_path), "shutil:rmtree").message
    assert message.startswith("shutil:rmtree is not the project's code: module shutil is at ")


def test_allowlisted_module_and_its_submodules_pass(tmp_path: Path) -> None:
    project = Project.at(tmp_path, ["email"])
    project.check_module("email.utils:quote", "email.utils")
    project.check_defined_in("email.utils:quote", "email.utils")


def test_allowlist_entry_is_a_whole_name_not_a_prefix(tmp_path: Path) -> None:
    refusal(Project.at(tmp_path, ["emai"]), "email:message_from_string")


def test_function_defined_in_a_builtin_module_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutsideProject) as info:
        Project.at(tmp_path).check_defined_in("mine:run", "posix")
    assert info.value.message == (
        "mine:run is not the project's code: it is defined in posix, which is built into Python"
    )


def test_missing_module_is_left_to_the_import_to_report(tmp_path: Path) -> None:
    Project.at(tmp_path).check_module("nope_xyz.sub:f", "nope_xyz.sub")
    assert "nope_xyz" not in sys.modules
