"""cleanup (docs/commands.md "Across stores"): every store built in tmp_path with each kind of leftover
next to live data; the dry run lists exactly the leftovers with exact bytes; --apply deletes
them, every live model still verifies, and each tool's own reader still accepts its store."""

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from imageworks_testing.fixtures import write_gguf, write_hf_folder, write_ollama_model

OLD = time.time() - 7200  # two hours ago: older than cleanup's default --older-than 1h


def age(*paths):
    for path in paths:
        for folder, dirs, files in os.walk(path) if Path(path).is_dir() else [(str(Path(path).parent), [], [Path(path).name])]:
            for name in files + dirs:
                os.utime(os.path.join(folder, name), (OLD, OLD), follow_symlinks=False)
        os.utime(path, (OLD, OLD), follow_symlinks=False)


def allocated(path):
    path = Path(path)
    if path.is_symlink():
        return 0
    if path.is_dir():
        return sum(allocated(p) for p in path.rglob("*") if not p.is_dir())
    st = path.stat()
    return st.st_blocks * 512 if st.st_nlink == 1 else 0


def snapshot_download(repo, cache, revision=None):
    """The Hugging Face cache as huggingface_hub itself writes it (a fresh process reads HF_ENDPOINT)."""
    code = ("import sys; from huggingface_hub import snapshot_download; "
            "print(snapshot_download(sys.argv[1], revision=sys.argv[2] if len(sys.argv) > 2 else None))")
    out = subprocess.run([sys.executable, "-c", code, repo, *([revision] if revision else [])], capture_output=True,
                         text=True, timeout=120, check=True, env={**os.environ, "HF_HUB_CACHE": str(cache)})
    return Path(out.stdout.strip().splitlines()[-1])


def build_stores(sandbox, hub, tmp_path):
    """Live data and leftovers in every store; returns the expected leftovers {path: kind}."""
    expected = {}
    # Hugging Face cache: a live repo at main, an old revision, an incomplete and a stray blob.
    cache = sandbox.root / "hf_home" / "hub"
    repo = hub.add_repo("acme/live", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": b"\1" * 9000})
    old_commit = repo.commit
    snapshot_download("acme/live", cache)
    hub.add_repo("acme/live", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": b"\2" * 12000})
    live_snapshot = snapshot_download("acme/live", cache)
    repo_dir = cache / "models--acme--live"
    old_snapshot = repo_dir / "snapshots" / old_commit
    assert old_snapshot.is_dir() and old_snapshot != live_snapshot
    expected[str(old_snapshot)] = "old-snapshot"
    old_blob = Path(os.path.normpath(old_snapshot / os.readlink(old_snapshot / "model.safetensors")))
    expected[str(old_blob)] = "unreferenced-blob"  # only the old snapshot linked to it
    (repo_dir / "blobs" / ("a" * 64 + ".incomplete")).write_bytes(b"x" * 5000)
    expected[str(repo_dir / "blobs" / ("a" * 64 + ".incomplete"))] = "incomplete-blob"
    (repo_dir / "blobs" / ("b" * 64)).write_bytes(b"y" * 7000)
    expected[str(repo_dir / "blobs" / ("b" * 64))] = "unreferenced-blob"
    (live_snapshot / "broken.json").symlink_to("../../blobs/" + "c" * 64)
    expected[str(live_snapshot / "broken.json")] = "broken-link"
    # A download in progress: its incomplete blob's lock is held (huggingface_hub's .locks/).
    busy = repo_dir / "blobs" / ("d" * 64 + ".incomplete")
    busy.write_bytes(b"z" * 3000)
    (cache / ".locks" / "models--acme--live").mkdir(parents=True, exist_ok=True)
    # Ollama store: two live models sharing a blob, a partial pull, a blob of a manifest deleted by hand.
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    write_ollama_model(store, "qwen3:latest")
    gone = write_ollama_model(store, "gone:1b", tensor_values=77)
    manifest = json.loads(gone.read_text())
    gone.unlink()
    model_blob = store / "blobs" / manifest["layers"][0]["digest"].replace(":", "-")
    expected[str(model_blob)] = "unreferenced-blob"
    partial = store / "blobs" / ("sha256-" + "e" * 64 + "-partial")
    partial.write_bytes(b"p" * 4000)
    expected[str(partial)] = "partial-blob"
    # LM Studio: a live model, an emptied model folder and an emptied publisher.
    lms = sandbox.home / ".lmstudio" / "models"
    write_gguf(lms / "lmstudio-community" / "Live-GGUF" / "Live-Q4_K_M.gguf", basename="Live")
    (lms / "lmstudio-community" / "Deleted-GGUF").mkdir(parents=True)
    (lms / "gone-publisher" / "Repo-GGUF").mkdir(parents=True)
    expected[str(lms / "lmstudio-community" / "Deleted-GGUF")] = "empty-folder"
    expected[str(lms / "gone-publisher" / "Repo-GGUF")] = "empty-folder"
    expected[str(lms / "gone-publisher")] = "empty-folder"
    # Our own weights folder: a live model and an interrupted download's partial folder.
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "acme" / "Plain")
    staging = weights / "acme" / "Broken" / ".imageworks-partial"
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(b"q" * 6000)
    (staging / "model.safetensors.aria2").write_bytes(b"c" * 100)
    expected[str(staging)] = "partial"
    # A partial folder of a download still running (its lock is held), and a fresh leftover.
    running = weights / "acme" / "Running" / ".imageworks-partial"
    running.mkdir(parents=True)
    (running / "model.safetensors").write_bytes(b"r" * 2000)
    (running / ".lock").touch()
    age(cache, store, lms, weights)
    fresh = store / "blobs" / ("sha256-" + "f" * 64)
    fresh.write_bytes(b"n" * 1000)  # just written: maybe a pull about to write its manifest
    return expected, {"old_snapshot": old_snapshot, "busy": busy, "running": running, "fresh": fresh, "live_snapshot": live_snapshot,
                      "cache": cache, "store": store, "lms": lms}


def register_everything(cli):
    for args, program in ((("ingest-local-hf",), "imageworks-loader"), (("import-ollama",), "imageworks-download"),
                          (("import-lmstudio",), "imageworks-download"), (("scan",), "imageworks-download")):
        result = cli(*args, program=program)
        assert result.exit_code == 0, (args, result.stderr)


def test_cleanup_lists_exactly_the_leftovers_then_reclaims_them(sandbox, hub, cli, tmp_path):
    expected, extra = build_stores(sandbox, hub, tmp_path)
    register_everything(cli)
    # The old revision was registered too (an entry lists it, so it would stay): the person
    # removes that entry, keeping the live one.
    (old,) = [r["name"] for r in cli("list", "--json").json() if r["download_path"] == str(extra["old_snapshot"])]
    assert cli("remove", old, "--purge", "--force").exit_code == 0
    live = {r["name"] for r in cli("list", "--json").json()}
    assert len(live) >= 5, live
    lock = open(extra["running"] / ".lock", "rb")
    fcntl.flock(lock, fcntl.LOCK_EX)  # a download in progress
    hf_lock = open(extra["cache"] / ".locks" / "models--acme--live" / ("d" * 64 + ".lock"), "wb")
    fcntl.flock(hf_lock, fcntl.LOCK_EX)
    try:
        dry = cli("cleanup", "--json")
        assert dry.exit_code == 0, dry.stderr
        plan = dry.json()
        assert {i["path"]: i["kind"] for i in plan["items"]} == expected
        for item in plan["items"]:
            assert item["bytes"] == allocated(item["path"]), item
        assert plan["reclaimable_bytes"] == sum(allocated(p) for p in expected) > 0
        assert plan["freed_bytes"] == 0
        kept = {k["path"]: k["reason"] for k in plan["kept"]}
        assert "download in progress" in kept[str(extra["running"])]
        assert "download in progress" in kept[str(extra["busy"])]
        assert "changed less than" in kept[str(extra["fresh"])]
        human = cli("cleanup")
        assert "reclaimable; run again with --apply" in human.stdout and "Ollama store" in human.stdout
        assert all(Path(p).exists() or Path(p).is_symlink() for p in expected)  # a dry run deletes nothing

        os.sync()  # delayed allocation: blocks of files written moments ago are counted at writeback
        before = os.statvfs(sandbox.root)
        applied = cli("cleanup", "--apply", "--json").json()
        assert applied["freed_bytes"] == plan["reclaimable_bytes"]
        assert not any(os.path.lexists(p) for p in expected)
        os.sync()
        after = os.statvfs(sandbox.root)
        freed_df = (after.f_bfree - before.f_bfree) * after.f_frsize
        assert abs(freed_df - applied["freed_bytes"]) <= 64 * 1024  # what df sees (folders, the log aside)
    finally:
        lock.close()
        hf_lock.close()
    assert extra["running"].exists() and extra["busy"].exists() and extra["fresh"].exists()
    # Every live model still verifies, content hashes included.
    verify = cli("verify", "--hash")
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert {r["name"] for r in cli("list", "--json").json()} == live
    # The tools' own readers still accept their stores.
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(extra["cache"])
    assert [r.repo_id for r in info.repos] == ["acme/live"] and not info.warnings
    assert [len(r.revisions) for r in info.repos] == [1]
    reimport = cli("import-ollama", "--dry-run", "--json").json()
    assert reimport["warnings"] == [] and reimport["summary"]["unchanged"] == 2
    assert cli("import-lmstudio", "--dry-run", "--json").json()["summary"]["unchanged"] == 1
    # A second run: only what the finished downloads left (their locks are released now).
    assert {i["path"] for i in cli("cleanup", "--json").json()["items"]} == {str(extra["running"]), str(extra["busy"])}


def test_a_file_an_entry_lists_is_never_a_candidate(sandbox, cli):
    """An Ollama manifest deleted by hand: its blobs are unreferenced for Ollama, but the entry
    still lists them, so they stay until the entry goes."""
    store = sandbox.root / "ollama"
    manifest = write_ollama_model(store, "keep:1b")
    assert cli("import-ollama").exit_code == 0
    manifest.unlink()
    age(store)
    plan = cli("cleanup", "--json", "--older-than", "0").json()
    assert plan["items"] == []
    assert all("lists it" in k["reason"] for k in plan["kept"])


def test_hard_linked_files_free_nothing(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "live:1b")
    stray = store / "blobs" / ("sha256-" + "9" * 64)
    stray.write_bytes(b"s" * 10000)
    os.link(stray, sandbox.root / "elsewhere-copy")
    age(store)
    (item,) = cli("cleanup", "--json").json()["items"]
    assert item["path"] == str(stray) and item["bytes"] == 0


def test_a_half_deleted_old_snapshot_is_still_old_and_a_new_file_is_not(sandbox, cli):
    """Removing a link from an old snapshot (an interrupted cleanup does) moves the folder's
    mtime, not its age; a file written into it does."""
    repo = sandbox.root / "hf_home" / "hub" / "models--acme--half"
    for commit in ("a" * 40, "b" * 40):
        snap = repo / "snapshots" / commit
        snap.mkdir(parents=True)
        for f in range(2):
            blob = repo / "blobs" / f"{commit[0]}{f:063x}"
            blob.parent.mkdir(exist_ok=True)
            blob.write_bytes(b"h" * 4096)
            (snap / f"file{f}.bin").symlink_to(os.path.relpath(blob, snap))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("b" * 40)
    age(repo)
    old = repo / "snapshots" / ("a" * 40)
    (old / "file0.bin").unlink()
    assert old.stat().st_mtime > time.time() - 60
    paths = {item["path"] for item in cli("cleanup", "--json").json()["items"]}
    assert str(old) in paths
    (old / "notes.txt").write_text("written just now")
    plan = cli("cleanup", "--json").json()
    assert str(old) not in {item["path"] for item in plan["items"]}
    assert any(k["path"] == str(old) and "changed less than" in k["reason"] for k in plan["kept"])


def test_older_than_is_parsed_and_bad_values_are_refused(sandbox, cli):
    result = cli("cleanup", "--older-than", "soon")
    assert result.exit_code == 2 and "not a duration" in result.stderr


def _consistent(cache, store):
    """No ref'd snapshot links into a missing blob; no manifest without its blobs."""
    from imageworks_ollama.store import manifest_paths, read_manifest

    for repo in cache.glob("models--*"):
        refs = {p.read_text().strip() for p in (repo / "refs").rglob("*") if p.is_file()}
        for commit in refs:
            for link in (repo / "snapshots" / commit).rglob("*"):
                assert not link.is_symlink() or link.exists(), f"ref'd snapshot link into a missing blob: {link}"
    for path in manifest_paths(store):
        for blob in read_manifest(store, path).blobs:
            assert (store / blob).exists(), f"manifest {path} lost {blob}"


def test_a_kill_during_apply_leaves_every_store_consistent(sandbox, cli):
    """Seeded SIGKILLs of `cleanup --apply` at random moments; after each, every store is
    consistent; a last run finishes the job."""
    import random
    import signal

    cache = sandbox.root / "hf_home" / "hub"
    store = sandbox.root / "ollama"
    for i in range(3):
        write_ollama_model(store, f"live{i}:1b", tensor_values=10 + i)
    for i in range(150):
        (store / "blobs" / f"sha256-{i:064x}").write_bytes(b"o" * 8192)
    for r in range(20):
        repo = cache / f"models--acme--m{r}"
        (repo / "blobs").mkdir(parents=True)
        (repo / "refs").mkdir()
        for s in range(4):
            commit = f"{r:02d}{s:038x}"
            snap = repo / "snapshots" / commit
            snap.mkdir(parents=True)
            for f in range(3):
                blob = repo / "blobs" / f"{r:04d}{s:04d}{f:056x}"
                blob.write_bytes(b"h" * 4096)
                (snap / f"file{f}.bin").symlink_to(os.path.relpath(blob, snap))
            if s == 3:
                (repo / "refs" / "main").write_text(commit)
    age(cache, store)
    code = "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='imageworks-download'; main()"
    rng = random.Random(14)
    for trial in range(6):
        proc = subprocess.Popen([sys.executable, "-c", code, "cleanup", "--apply"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=os.environ.copy())
        time.sleep(rng.uniform(0.3, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _consistent(cache, store)
    final = cli("cleanup", "--apply", "--json")
    assert final.exit_code == 0, final.stderr
    _consistent(cache, store)
    assert cli("cleanup", "--json").json()["items"] == []
    from imageworks_ollama.store import referenced_blobs

    assert {f"blobs/{p.name}" for p in store.glob("blobs/*")} == referenced_blobs(store)
    for r in range(20):
        assert len(list((cache / f"models--acme--m{r}" / "snapshots").iterdir())) == 1
