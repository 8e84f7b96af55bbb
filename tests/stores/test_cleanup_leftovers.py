"""cleanup's two leftovers that other tools leave (docs/commands.md `cleanup`): aria2c's in-place partials
(``X`` + ``X.aria2``, from any aria2c run: hfd.sh, the earlier tool) in every location and model
folder under the configured roots, and Hugging Face cache snapshots of revisions no ref points to
and no entry lists, with the blobs only they use (what ``hf cache prune`` removes)."""

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from imageworks_testing.fakehub import random_bytes
from imageworks_testing.fixtures import write_hf_folder

from .test_cleanup import age, allocated, snapshot_download

SIZE = 3_000_000


def aria2c(url: str, folder: Path, name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(["aria2c", f"--dir={folder}", f"--out={name}", "--continue=true", "--max-tries=1",
                             "--auto-save-interval=1", "--file-allocation=none", "--console-log-level=error",
                             "--summary-interval=0", "--no-conf=true", "--allow-overwrite=true", *extra, url],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def interrupted_aria2c(hub, folder: Path, name: str = "model.safetensors") -> Path:
    """A real aria2c download SIGKILLed half-way (after it saved its control file)."""
    hub.add_repo("acme/big", {name: random_bytes(SIZE, seed=9)})
    hub.faults.throttle_bps = 1_000_000
    proc = aria2c(f"{hub.url}/acme/big/resolve/main/{name}", folder, name)
    data, control = folder / name, folder / (name + ".aria2")
    try:
        deadline = time.monotonic() + 30
        while not (control.exists() and data.exists() and data.stat().st_size > SIZE // 4):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "aria2c made no progress"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        hub.faults.throttle_bps = None
    assert data.stat().st_blocks * 512 < SIZE and control.stat().st_size > 0
    return data


def test_aria2c_partials_left_in_place_are_found_everywhere(sandbox, hub, cli):
    weights = sandbox.root / "models" / "weights"
    lms = sandbox.home / ".lmstudio" / "models"
    killed = interrupted_aria2c(hub, weights / "acme" / "Broken")
    pairs = {killed}
    # The same leftovers elsewhere: an LM Studio root, a model folder under the model root that
    # is no location, a sub-folder of a model.
    for folder, name in ((lms / "pub" / "Repo-GGUF", "Repo-Q4_K_M.gguf"),
                         (sandbox.root / "models" / "elsewhere" / "acme" / "M", "model.safetensors"),
                         (weights / "acme" / "Nested" / "original", "consolidated.safetensors")):
        folder.mkdir(parents=True)
        shutil.copyfile(killed, folder / name)
        shutil.copyfile(str(killed) + ".aria2", folder / (name + ".aria2"))
        pairs.add(folder / name)
    lone = weights / "acme" / "Gone" / "model.safetensors.aria2"  # its download was deleted by hand
    lone.parent.mkdir(parents=True)
    shutil.copyfile(str(killed) + ".aria2", lone)
    # Live data beside them must stay: a whole model, and a GGUF in LM Studio.
    write_hf_folder(weights / "acme" / "Whole")
    (lms / "pub" / "Repo-GGUF" / "Other-Q8_0.gguf").write_bytes(b"whole file")
    age(weights, lms, sandbox.root / "models" / "elsewhere")
    # Not candidates: a pair changed a moment ago (a download running), and a pair an entry lists.
    fresh = weights / "acme" / "Running" / "model.safetensors"
    fresh.parent.mkdir(parents=True)
    shutil.copyfile(killed, fresh)
    shutil.copyfile(str(killed) + ".aria2", str(fresh) + ".aria2")
    listed = weights / "acme" / "Listed"
    write_hf_folder(listed)
    # Registered first: a scan names X beside X.aria2 as unfinished and leaves it out.
    assert cli("scan", "--base", str(listed.parent)).exit_code == 0
    shutil.copyfile(str(killed) + ".aria2", listed / "model.safetensors.aria2")  # an entry lists the data file
    for entry in cli("list", "--json").json():  # the person keeps only Listed's entry
        if entry["download_path"] != str(listed):
            assert cli("remove", entry["name"], "--purge", "--force").exit_code == 0
    assert [e["download_path"] for e in cli("list", "--json").json()] == [str(listed)]
    age(listed)

    expected = {str(p): "aria2-partial" for p in pairs} | {str(p) + ".aria2": "aria2-control" for p in pairs}
    expected[str(lone)] = "aria2-control"
    dry = cli("cleanup", "--json")
    assert dry.exit_code == 0, dry.stderr
    plan = dry.json()
    assert {i["path"]: i["kind"] for i in plan["items"]} == expected
    for item in plan["items"]:
        assert item["bytes"] == allocated(item["path"]) and item["reason"], item
    assert "nothing to resume" in next(i["reason"] for i in plan["items"] if i["path"] == str(lone))
    assert plan["reclaimable_bytes"] >= 4 * (SIZE // 4)
    kept = {k["path"]: k["reason"] for k in plan["kept"]}
    assert "changed less than" in kept[str(fresh)] and "changed less than" in kept[str(fresh) + ".aria2"]
    assert "lists it" in kept[str(listed / "model.safetensors")]
    assert str(listed / "model.safetensors") in kept[str(listed / "model.safetensors.aria2")]
    human = cli("cleanup").stdout
    assert "aria2c downloads" in human and "aria2-partial" in human

    applied = cli("cleanup", "--apply", "--json").json()
    assert applied["freed_bytes"] == plan["reclaimable_bytes"]
    assert not any(os.path.lexists(p) for p in expected)
    assert fresh.exists() and Path(str(fresh) + ".aria2").exists()
    assert (listed / "model.safetensors").exists() and (listed / "model.safetensors.aria2").exists()
    assert (lms / "pub" / "Repo-GGUF" / "Other-Q8_0.gguf").exists() and (weights / "acme" / "Whole" / "config.json").exists()
    assert sandbox.sentinel.exists()
    assert cli("cleanup", "--json").json()["items"] == []


def test_aria2c_discards_a_control_file_without_its_data(sandbox, hub, tmp_path):
    """aria2c's own rule, which makes a lone control file a leftover: it cannot resume from it,
    removes it and fetches the whole file again."""
    folder = tmp_path / "dl"
    data = interrupted_aria2c(hub, folder)
    data.unlink()
    proc = aria2c(f"{hub.url}/acme/big/resolve/main/model.safetensors", folder, "model.safetensors")
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert hashlib.sha256(data.read_bytes()).hexdigest() == hub.repos["acme/big"].files["model.safetensors"].sha256
    assert not (folder / "model.safetensors.aria2").exists()


def test_detached_cache_snapshots_go_with_the_blobs_only_they_use(sandbox, hub, cli):
    """A cache written by huggingface_hub: a tagged revision, a revision fetched by its commit hash
    (no ref: detached), one fetched by hash that an entry lists, and main. Only the unlisted
    detached snapshot and its own blobs go; huggingface_hub then reads a healthy cache."""
    from huggingface_hub import scan_cache_dir

    cache = sandbox.root / "hf_home" / "hub"
    config = b'{"torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]}'
    commits = []
    for seed in range(4):
        commits.append(hub.add_repo("acme/cached", {"config.json": config,
                                                    "model.safetensors": random_bytes(20_000 + seed, seed=seed)}).commit)
        if seed == 0:
            hub.repos["acme/cached"].revisions["stable"] = commits[0]
    tagged, detached, listed, main = commits
    snapshot_download("acme/cached", cache, revision="stable")
    snapshot_download("acme/cached", cache, revision=detached)
    snapshot_download("acme/cached", cache, revision=listed)
    snapshot_download("acme/cached", cache)
    repo_dir = cache / "models--acme--cached"
    assert {p.name for p in (repo_dir / "refs").iterdir()} == {"stable", "main"}
    assert len(list((repo_dir / "snapshots").iterdir())) == 4
    assert cli("ingest-local-hf", program="imageworks-loader").exit_code == 0
    for entry in cli("list", "--json").json():  # the person removes every entry but the listed revision's
        if Path(entry["download_path"]).name != listed:
            assert cli("remove", entry["name"], "--purge", "--force").exit_code == 0
    age(cache)

    gone_snapshot = repo_dir / "snapshots" / detached
    gone_blob = Path(os.path.normpath(gone_snapshot / os.readlink(gone_snapshot / "model.safetensors")))
    shared_blob = Path(os.path.normpath(gone_snapshot / os.readlink(gone_snapshot / "config.json")))
    plan = cli("cleanup", "--json").json()
    items = {i["path"]: i for i in plan["items"]}
    assert set(items) == {str(gone_snapshot), str(gone_blob)}
    assert items[str(gone_snapshot)]["kind"] == "old-snapshot" and "no ref" in items[str(gone_snapshot)]["reason"]
    assert items[str(gone_blob)]["kind"] == "unreferenced-blob" and items[str(gone_blob)]["bytes"] == allocated(gone_blob)
    assert items[str(gone_snapshot)]["bytes"] == 0  # links only
    kept = {k["path"]: k["reason"] for k in plan["kept"]}
    assert "lists it" in kept[str(repo_dir / "snapshots" / listed)]

    applied = cli("cleanup", "--apply", "--json").json()
    assert applied["freed_bytes"] == plan["reclaimable_bytes"] > 0
    assert not gone_snapshot.exists() and not gone_blob.exists() and shared_blob.exists()
    info = scan_cache_dir(cache)
    assert not info.warnings, info.warnings
    (repo,) = info.repos
    assert {r.commit_hash for r in repo.revisions} == {tagged, listed, main}
    assert {ref: r.commit_hash for r in repo.revisions for ref in r.refs} == {"stable": tagged, "main": main}
    for revision in repo.revisions:  # every file of what is left is whole
        for f in revision.files:
            assert f.blob_path.exists() and f.size_on_disk == f.blob_path.stat().st_size
    assert cli("verify", "--hash").exit_code == 0
    assert cli("cleanup", "--json").json()["items"] == []
