"""dupes, dedupe and link (docs/commands.md "Across stores"): one copy of every weight, shared between a
weights folder, the Ollama store and LM Studio, checked with the layout rules the tools use."""

import hashlib
import json
import os
import shutil
from pathlib import Path

from imageworks_testing.fixtures import write_gguf, write_ollama_model


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inode(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def gguf_model(sandbox, cli):
    folder = sandbox.root / "models" / "weights" / "acme" / "Foo-7B-GGUF"
    write_gguf(folder / "Foo-7B-Q4_K_M.gguf", basename="Foo", size_label="7B", tensor_values=4000,
               chat_template="{{ messages }}")
    write_gguf(folder / "mmproj-Foo-7B-f16.gguf", projector=True, file_type=1)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    (row,) = cli("list", "--json").json()
    return row, folder


def test_link_into_ollama_writes_what_ollama_reads_with_zero_bytes_copied(sandbox, cli):
    row, folder = gguf_model(sandbox, cli)
    store = sandbox.root / "ollama"
    result = cli("link", row["name"], "--to", "ollama")
    assert result.exit_code == 0, result.stderr
    assert "foo-7b:q4_k_m is now in ollama" in result.stdout
    manifest_path = store / "manifests" / "registry.ollama.ai" / "library" / "foo-7b" / "q4_k_m"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    kinds = [layer["mediaType"] for layer in manifest["layers"]]
    assert kinds == ["application/vnd.ollama.image.model", "application/vnd.ollama.image.projector"]
    for layer, source in zip(manifest["layers"], ("Foo-7B-Q4_K_M.gguf", "mmproj-Foo-7B-f16.gguf")):
        blob = store / "blobs" / layer["digest"].replace(":", "-")
        assert layer["digest"] == "sha256:" + sha(blob) == "sha256:" + sha(folder / source)  # true digests
        assert layer["size"] == blob.stat().st_size
        assert inode(blob) == inode(folder / source)  # a hard link: 0 bytes copied
    config_blob = store / "blobs" / manifest["config"]["digest"].replace(":", "-")
    assert manifest["config"]["digest"] == "sha256:" + sha(config_blob)
    config = json.loads(config_blob.read_text())
    assert config["model_format"] == "gguf" and config["model_family"] == "llama"
    assert config["file_type"] == "Q4_K_M" and config["model_type"] == "7B"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"] for layer in manifest["layers"]]}
    assert not list(store.glob("**/*.tmp")) and not list(store.glob("**/.imageworks-*"))
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    linked = next(r for r in rows.values() if r["source_provider"] == "ollama")
    assert linked["metadata"]["linked_from"] == row["name"] and linked["served_model_id"] == "foo-7b:q4_k_m"
    assert linked["capabilities"]["vision"]
    # import-ollama sees the same valid model; every blob digest verifies.
    again = cli("import-ollama", "--json").json()
    assert again["warnings"] == [] and again["summary"]["unchanged"] == 1
    assert cli("verify", "--hash").exit_code == 0
    # Linking twice is a no-op.
    twice = cli("link", row["name"], "--to", "ollama")
    assert twice.exit_code == 0 and "already linked" in twice.stdout
    stats = cli("stats", "--json").json()
    assert stats["disk_bytes"] < 2 * row["download_size_bytes"]  # shared bytes counted once


def test_link_into_lm_studio_and_safe_removal_both_ways(sandbox, cli):
    lms = sandbox.home / ".lmstudio" / "models"
    lms.mkdir(parents=True)
    row, folder = gguf_model(sandbox, cli)
    result = cli("link", row["name"], "--to", "lmstudio")
    assert result.exit_code == 0, result.stderr
    target = lms / "imageworks" / "foo-7b"
    assert sorted(p.name for p in target.iterdir()) == ["Foo-7B-Q4_K_M.gguf", "mmproj-Foo-7B-f16.gguf"]
    assert inode(target / "Foo-7B-Q4_K_M.gguf") == inode(folder / "Foo-7B-Q4_K_M.gguf")
    imported = cli("import-lmstudio", "--json").json()
    assert imported["summary"]["unchanged"] == 1 and imported["summary"]["added"] == 0
    assert cli("link", row["name"], "--to", "ollama").exit_code == 0
    # Remove the original with its files: both other tools keep working.
    removed = cli("remove", row["name"], "--delete-files", "--purge", "--force")
    assert removed.exit_code == 0, removed.stderr
    assert not (folder / "Foo-7B-Q4_K_M.gguf").exists()
    assert cli("verify", "--hash").exit_code == 0
    # `ollama rm`: the manifest and its unreferenced blobs go; LM Studio's copy stays whole.
    store = sandbox.root / "ollama"
    (ollama_row,) = [r for r in cli("list", "--json").json() if r["source_provider"] == "ollama"]
    assert cli("remove", ollama_row["name"], "--delete-files", "--purge", "--force").exit_code == 0
    assert not list((store / "blobs").iterdir())
    verify = cli("verify", "--hash", "--json").json()
    assert [(v["name"], v["ok"]) for v in verify] == [("foo-7b-lmstudio-gguf-q4_k_m", True)]


def test_an_ollama_model_links_out_to_a_folder(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    assert cli("import-ollama").exit_code == 0
    (row,) = cli("list", "--json").json()
    out = sandbox.root / "models" / "llamacpp"
    result = cli("link", row["name"], "--to", str(out))
    assert result.exit_code == 0, result.stderr
    (gguf,) = out.iterdir()
    assert gguf.name == "qwen3-8b.gguf" and gguf.read_bytes()[:4] == b"GGUF"
    model_layer = next(a for a in row["artifacts"]["files"] if a["size"] == gguf.stat().st_size)
    assert inode(gguf) == inode(store / model_layer["path"])
    names = {r["name"]: r for r in cli("list", "--json").json()}
    assert any(r["metadata"].get("linked_from") == row["name"] for r in names.values())


def test_symlink_and_copy_modes_and_bad_targets(sandbox, cli):
    row, folder = gguf_model(sandbox, cli)
    assert cli("link", row["name"], "--to", str(sandbox.root / "models" / "sym"), "--symlink").exit_code == 0
    assert (sandbox.root / "models" / "sym" / "Foo-7B-Q4_K_M.gguf").is_symlink()
    assert cli("link", row["name"], "--to", str(sandbox.root / "models" / "cp"), "--copy").exit_code == 0
    copied = sandbox.root / "models" / "cp" / "Foo-7B-Q4_K_M.gguf"
    assert inode(copied) != inode(folder / "Foo-7B-Q4_K_M.gguf") and sha(copied) == sha(folder / "Foo-7B-Q4_K_M.gguf")
    bad = cli("link", row["name"], "--to", "nowhere")
    assert bad.exit_code == 2 and "neither an installed provider" in bad.stderr
    missing = cli("link", "no-such-model", "--to", "ollama")
    assert missing.exit_code == 1 and "no entry named" in missing.stderr


def test_dupes_hash_only_collisions_and_dedupe_frees_what_df_sees(sandbox, cli):
    weights = sandbox.root / "models" / "weights"
    first = write_gguf(weights / "a" / "Same-Q8_0.gguf", file_type=7, tensor_values=60000, basename="Same")
    twin = weights / "b" / "Same-Q8_0.gguf"
    twin.parent.mkdir(parents=True)
    shutil.copyfile(first, twin)
    write_gguf(weights / "c" / "Other-Q4_K_M.gguf", tensor_values=1234, basename="Other")
    assert cli("scan", "--base", str(weights)).exit_code == 0
    report = cli("dupes", "--json").json()
    (group,) = report["groups"]
    assert group["sha256"] == sha(first) and group["size"] == first.stat().st_size
    assert {c["path"] for c in group["copies"]} == {str(first), str(twin)}
    assert report["hashed_files"] == 2  # only the two files of the colliding size were read
    assert report["reclaimable_bytes"] == group["size"]
    again = cli("dupes", "--json").json()
    assert again["hashed_files"] == 0  # the hash cache remembers
    dry = cli("dedupe", "--json").json()
    assert len(dry["links"]) == 1 and dry["freed_bytes"] == 0 and inode(first) != inode(twin)
    before = os.statvfs(weights)
    applied = cli("dedupe", "--apply", "--json").json()
    after = os.statvfs(weights)
    assert inode(first) == inode(twin)
    assert applied["freed_bytes"] == os.stat(first).st_blocks * 512
    freed_df = (after.f_bfree - before.f_bfree) * after.f_frsize
    assert abs(freed_df - applied["freed_bytes"]) <= 64 * 1024  # what df sees (other writes aside)
    assert cli("dupes", "--json").json()["groups"] == []  # hard links already shared are one copy
    assert cli("verify", "--hash").exit_code == 0


def test_verify_reports_a_link_whose_other_side_changed(sandbox, cli):
    sandbox.home.joinpath(".lmstudio", "models").mkdir(parents=True)
    row, folder = gguf_model(sandbox, cli)
    assert cli("link", row["name"], "--to", "lmstudio").exit_code == 0
    assert cli("verify").exit_code == 0
    original = folder / "Foo-7B-Q4_K_M.gguf"
    replacement = original.with_name("new.tmp")
    shutil.copyfile(original, replacement)
    os.replace(replacement, original)  # re-downloaded in place: a new file, no longer shared
    result = cli("verify", "--json")
    problems = {v["name"]: v["problems"] for v in result.json()}
    assert any("no longer shares its files with " + row["name"] in p for ps in problems.values() for p in ps)
