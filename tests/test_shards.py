"""Which shard runs a file: a stable hash of its rootdir-relative POSIX path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.shards import Shard, parse_shard, relative_posix, shard_of


def test_the_shard_is_sha256_of_the_relative_path_not_pythons_hash() -> None:
    # pinned: every machine, OS and Python process must agree on the owner of a file
    digest = hashlib.sha256(b"support/classify.prompt.yaml").digest()
    expected = int.from_bytes(digest[:8], "big") % 7 + 1
    assert shard_of("support/classify.prompt.yaml", 7) == expected
    assert shard_of("support/classify.prompt.yaml", 1) == 1


def test_paths_are_relative_to_the_rootdir_with_posix_separators(tmp_path: Path) -> None:
    assert relative_posix(tmp_path / "a" / "b.prompt.yaml", tmp_path) == "a/b.prompt.yaml"
    outside = Path("/elsewhere/c.prompt.yaml")
    assert relative_posix(outside, tmp_path) == "/elsewhere/c.prompt.yaml"


def test_a_files_owner_does_not_depend_on_where_the_checkout_is(tmp_path: Path) -> None:
    relative = [Path(f"dir{i % 3}") / f"p{i}.prompt.yaml" for i in range(60)]
    shards = [Shard(k, 4) for k in range(1, 5)]

    def owners(root: Path) -> list[int]:
        return [next(s.index for s in shards if s.owns(root / f, root)) for f in relative]

    here = owners(tmp_path / "one")
    assert here == owners(tmp_path / "elsewhere" / "two")  # another CI machine's checkout
    assert len(set(here)) == 4  # 60 files spread over all 4


@pytest.mark.parametrize(
    ("value", "shard"), [("1/1", (1, 1)), ("2/3", (2, 3)), (" 3 / 3 ", (3, 3))]
)
def test_parse_shard(value: str, shard: tuple[int, int]) -> None:
    assert parse_shard(value, "x") == Shard(*shard)
    assert str(Shard(*shard)) == f"{shard[0]}/{shard[1]}"


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1/0", "1/", "/2", "1/2/3", "-1/2", "1.0/2"])
def test_bad_shards_say_what_a_shard_is(value: str) -> None:
    with pytest.raises(UsageError, match=r"^ini promptcheck_shard: '.*' is not a shard; use K/N"):
        parse_shard(value, "ini promptcheck_shard")
