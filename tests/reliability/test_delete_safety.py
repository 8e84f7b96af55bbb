"""docs/reliability.md #8: links are removed, never followed; nothing outside the roots is deleted."""

import os
from pathlib import Path

import pytest

from imageworks_core.errors import UnsafePathError
from imageworks_testing.fixtures import write_gguf


@pytest.fixture
def weights(sandbox):
    path = sandbox.root / "models" / "weights"
    path.mkdir(parents=True)
    return path


def register(sandbox, name, folder, files):
    sandbox.write_layer("discovered", [{"name": name, "download_path": str(folder), "download_files": files,
                                        "source_provider": "local_scan"}])


def test_link_to_etc_and_sentinel_inside_a_model(weights, sandbox, cli):
    folder = weights / "a" / "m"
    write_gguf(folder / "M-Q4_K_M.gguf")
    (folder / "etc").symlink_to("/etc")
    (folder / "keep.txt").symlink_to(sandbox.sentinel)
    register(sandbox, "m", folder, ["M-Q4_K_M.gguf", "etc", "keep.txt"])
    result = cli("remove", "m", "--delete-files", "--purge", "--force")
    assert result.exit_code == 0, result.stderr
    assert sandbox.sentinel.read_text() == "must survive\n" and Path("/etc/passwd").exists()
    assert not (folder / "etc").is_symlink() and not (folder / "keep.txt").is_symlink()


def test_model_folder_that_is_itself_a_link_out_of_the_roots(weights, sandbox, cli, tmp_path):
    outside = tmp_path / "outside-model"
    write_gguf(outside / "M-Q4_K_M.gguf")
    (weights / "linked").symlink_to(outside)
    register(sandbox, "linked", weights / "linked", ["M-Q4_K_M.gguf"])
    result = cli("remove", "linked", "--delete-files", "--force")
    assert result.exit_code == 2 and "outside the configured roots" in result.stderr
    assert (outside / "M-Q4_K_M.gguf").exists()


def test_path_outside_the_roots_is_refused(sandbox, cli, tmp_path):
    other = tmp_path / "elsewhere"
    write_gguf(other / "M-Q4_K_M.gguf")
    register(sandbox, "far", other, ["M-Q4_K_M.gguf"])
    result = cli("remove", "far", "--delete-files", "--force")
    assert result.exit_code == 2 and (other / "M-Q4_K_M.gguf").exists()
    assert sandbox.read_layer("discovered")[0]["download_path"] == str(other)


def test_folder_swapped_for_a_link_during_the_delete(weights, sandbox, tmp_path):
    """safe_delete re-checks every path as it goes: a sub-folder swapped for a link to outside
    the roots mid-walk is removed as a link, and what it points at survives."""
    from imageworks_core.safety import safe_delete

    folder = weights / "swap"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.bin").write_bytes(b"a")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.bin").write_bytes(b"p")
    # the swap: the sub-folder becomes a link to the victim before the walk reaches it
    (folder / "sub" / "a.bin").unlink()
    (folder / "sub").rmdir()
    (folder / "sub").symlink_to(victim)
    safe_delete(folder, [weights])
    assert (victim / "precious.bin").exists() and not folder.exists()
    with pytest.raises(UnsafePathError):
        safe_delete(victim, [weights])
    assert victim.exists()


def test_hard_link_shared_with_outside_is_only_unlinked(weights, sandbox, cli, tmp_path):
    folder = weights / "h"
    folder.mkdir()
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"o")
    os.link(outside, folder / "model.bin")
    register(sandbox, "h", folder, ["model.bin"])
    assert cli("remove", "h", "--delete-files", "--force").exit_code == 0
    assert outside.read_bytes() == b"o" and not (folder / "model.bin").exists()
