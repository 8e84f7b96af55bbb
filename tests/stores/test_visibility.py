"""Where a model is visible, on a registry the commands themselves built: `scan`, `link` into
Ollama and a folder (hard link and verified copy), `dedupe`; and ``disk_usage`` (the GUI's disk
view), whose figures must be the ones `stats`, `dedupe` and `cleanup` print for their dry runs."""

import os
import shutil

import pytest

from imageworks_core import BadInputError, Session
from imageworks_core.inventory import disk_usage, visibility
from imageworks_gui.disk_view import disk_rows, location_name, store_name
from imageworks_testing.fixtures import write_gguf, write_space_to_reclaim


def where(sandbox):
    places = visibility(Session.open(sandbox.registry_dir).registry.load().entries)
    return {name: [(p.name, p.provider, p.location) for p in found] for name, found in places.items()}


def two_quants(sandbox, cli):
    folder = sandbox.root / "models" / "weights" / "acme" / "Foo-7B-GGUF"
    write_gguf(folder / "Foo-7B-Q4_K_M.gguf", basename="Foo", size_label="7B", tensor_values=4000)
    write_gguf(folder / "Foo-7B-Q8_0.gguf", basename="Foo", size_label="7B", file_type=7, tensor_values=6000)
    write_gguf(folder / "mmproj-Foo-7B-f16.gguf", projector=True, file_type=1)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    rows = {r["quantization"]: r["name"] for r in cli("list", "--json").json()}
    return folder, rows["q4_k_m"], rows["q8_0"]


def test_linked_copies_are_visible_from_every_side(sandbox, cli):
    folder, q4, q8 = two_quants(sandbox, cli)
    assert where(sandbox)[q4] == [(q4, "local_scan", "linux_wsl")]  # q8 shares only the projector
    assert cli("link", q4, "--to", "ollama").exit_code == 0
    copy_dir = sandbox.root / "models" / "copied"
    assert cli("link", q4, "--to", str(copy_dir), "--copy").exit_code == 0  # its own inode: linked_from ties it
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    in_ollama = next(n for n, r in rows.items() if r["source_provider"] == "ollama")
    copied = next(n for n, r in rows.items() if r["download_path"] == str(copy_dir))
    assert rows[copied]["metadata"]["linked_from"] == q4
    assert os.stat(copy_dir / "Foo-7B-Q4_K_M.gguf").st_ino != os.stat(folder / "Foo-7B-Q4_K_M.gguf").st_ino
    found = where(sandbox)
    assert {n for n, _, _ in found[q4]} == {q4, in_ollama, copied} and found[q4][0][0] == q4
    assert {n for n, _, _ in found[in_ollama]} == {q4, in_ollama, copied} and found[in_ollama][0][0] == in_ollama
    assert found[q8] == [(q8, "local_scan", "linux_wsl")]
    # The original's files go: the model is still in Ollama and in the copy, not in the folder.
    assert cli("remove", q4, "--delete-files", "--force").exit_code == 0
    assert [n for n, _, _ in where(sandbox)[in_ollama]] == [in_ollama, copied]


def test_dedupe_makes_two_scanned_copies_one_model(sandbox, cli):
    folder, q4, _q8 = two_quants(sandbox, cli)
    mirror = sandbox.root / "models" / "weights" / "mirror"
    mirror.mkdir()
    shutil.copyfile(folder / "Foo-7B-Q4_K_M.gguf", mirror / "Foo-7B-Q4_K_M.gguf")
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    twin = next(r["name"] for r in cli("list", "--json").json() if r["download_path"] == str(mirror))
    assert [n for n, _, _ in where(sandbox)[twin]] == [twin]  # same bytes, but nothing says so yet
    assert cli("dedupe", "--apply").exit_code == 0
    assert sorted(n for n, _, _ in where(sandbox)[twin]) == sorted([twin, q4])


def test_disk_usage_has_the_figures_of_stats_dedupe_and_cleanup(sandbox, cli):
    gguf = write_space_to_reclaim(sandbox.root)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    assert cli("import-ollama").exit_code == 0
    session = Session.open(sandbox.registry_dir)

    usage = disk_usage(session, older_than="1h")
    stats = cli("stats", "--json").json()
    dedupe = cli("dedupe", "--json").json()
    cleanup = cli("cleanup", "--older-than", "1h", "--json").json()
    assert usage.disk_bytes == stats["disk_bytes"]
    assert (usage.by_provider, usage.by_location) == (stats["by_provider"], stats["by_location"])
    size = gguf.stat().st_size
    assert usage.dedupe == {"local_scan": size}  # one of the two scanned copies
    assert usage.dedupe_bytes == dedupe["reclaimable_bytes"]
    (store,) = {i["store"] for i in cleanup["items"]}
    assert usage.cleanup == {store: cleanup["reclaimable_bytes"]} and usage.cleanup_bytes >= 20000
    # The GUI's chart rows: the same numbers, the names people use.
    rows = disk_rows(usage)
    assert {r["store"]: r["bytes"] for r in rows.by_store} == {
        store_name(k): v["bytes"] for k, v in stats["by_provider"].items()}
    assert {r["location"]: r["entries"] for r in rows.by_location} == {
        location_name(k): v["count"] for k, v in stats["by_location"].items()}
    assert "(no label: a tool's store)" in {r["location"] for r in rows.by_location}  # the Ollama entry
    assert rows.reclaim == ({"command": "dedupe", "store": "Scanned folders", "bytes": size},
                            {"command": "cleanup", "store": store, "bytes": usage.cleanup_bytes})
    # Without the dedupe measure nothing is hashed, and the rest is the same.
    light = disk_usage(session, older_than=3600.0, with_dedupe=False, stats_data=stats)
    assert light.dedupe is None and light.dedupe_bytes is None and light.cleanup == usage.cleanup
    assert [r["command"] for r in disk_rows(light).reclaim] == ["cleanup"]
    # A bad duration is the CLI's error.
    with pytest.raises(BadInputError, match="not a duration"):
        disk_usage(session, older_than="soon")
    # After both commands ran for real, nothing is left to free.
    assert cli("dedupe", "--apply").exit_code == 0 and cli("cleanup", "--apply").exit_code == 0
    after = disk_usage(session)
    assert after.dedupe == {} and after.cleanup == {} and disk_rows(after).reclaim == ()
    assert after.disk_bytes == usage.disk_bytes - size
