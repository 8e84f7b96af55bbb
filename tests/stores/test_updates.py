"""outdated -> update -> lock -> sync (docs/commands.md "Across stores") against a fake hub whose commits
move: a repo's commit changes when its files change, old commits stay fetchable, branches move."""

import os
import tomllib
from pathlib import Path

import pytest

from imageworks_testing.fakehub import random_bytes

V1 = {"config.json": b'{"torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]}',
      "tokenizer.json": b'{"model": {}}', "tokenizer_config.json": b"{}",
      "model-00001-of-00002.safetensors": random_bytes(300_000, seed=1),
      "model-00002-of-00002.safetensors": random_bytes(200_000, seed=2)}
V2 = {**{k: v for k, v in V1.items() if k != "tokenizer.json"},
      "model-00002-of-00002.safetensors": random_bytes(210_000, seed=3), "generation_config.json": b'{"top_p": 0.9}'}


@pytest.fixture
def hf(hub, monkeypatch):
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "never")
    return hub


def api_requests(hub, repo):
    return [r for r in hub.requests if r[1].startswith(f"/api/models/{repo}")]


def test_outdated_update_lock_sync(hf, cli, sandbox, monkeypatch, tmp_path):
    c1 = hf.add_repo("acme/m", V1).commit
    assert cli("download", "acme/m", "-y").exit_code == 0
    (entry,) = cli("list", "--json").json()
    name, folder = entry["name"], Path(entry["download_path"])
    fresh = cli("outdated", "--json").json()
    assert [(c["name"], c["outdated"], c["commit"], c["latest_commit"]) for c in fresh] == [(name, False, c1, c1)]
    old_lock = tmp_path / "old.lock"
    assert cli("lock", "-o", str(old_lock)).exit_code == 0

    c2 = hf.add_repo("acme/m", V2).commit  # main moves; c1 stays fetchable
    assert c2 != c1
    hf.requests.clear()
    (check,) = cli("outdated", "--json").json()
    assert len(api_requests(hf, "acme/m")) == 1  # one metadata request per repo
    assert check["outdated"] and check["latest_commit"] == c2
    assert {(c["path"], c["change"]) for c in check["changed"]} == {
        ("model-00002-of-00002.safetensors", "changed"), ("generation_config.json", "added"),
        ("tokenizer.json", "removed")}
    assert check["download_bytes"] == 210_000 + len(V2["generation_config.json"])

    unchanged = os.stat(folder / "model-00001-of-00002.safetensors").st_ino
    dry = cli("update", name, "--dry-run")
    assert dry.exit_code == 0 and "would update" in dry.stdout
    assert (folder / "tokenizer.json").exists()
    hf.served.clear()
    done = cli("update", name)
    assert done.exit_code == 0, done.stderr
    assert set(hf.served) == {"model-00002-of-00002.safetensors", "generation_config.json"}  # nothing else fetched
    assert os.stat(folder / "model-00001-of-00002.safetensors").st_ino == unchanged  # reused locally
    assert not (folder / "tokenizer.json").exists()
    assert not list(folder.parent.glob(".*imageworks-update*"))
    (updated,) = cli("list", "--json").json()
    assert updated["name"] == name and updated["source"]["commit"] == c2
    assert cli("verify", "--hash").exit_code == 0
    assert cli("outdated", "--json").json()[0]["outdated"] is False

    lock = tmp_path / "imageworks.lock"
    assert cli("lock", "-o", str(lock)).exit_code == 0
    first_bytes = lock.read_bytes()
    assert cli("lock", "-o", str(lock)).exit_code == 0 and lock.read_bytes() == first_bytes  # deterministic
    (model,) = tomllib.loads(first_bytes.decode())["model"]
    assert model["commit"] == c2 and model["source"] == "hf:acme/m" and model["name"] == name
    assert [f["path"] for f in model["files"]] == sorted(f["path"] for f in model["files"])

    # Another machine: an empty registry and weights folder.
    other = tmp_path / "host2"
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(other / "configs"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(other / "models"))
    hf.served.clear()
    synced = cli("sync", str(lock), "--json")
    assert synced.exit_code == 0, synced.stderr
    assert [r["action"] for r in synced.json()] == ["fetched"]
    (there,) = cli("list", "--json").json()
    assert there["name"] == name and there["source"]["commit"] == c2
    assert cli("verify", "--hash").exit_code == 0
    served = dict(hf.served)
    again = cli("sync", str(lock), "--json").json()
    assert [r["action"] for r in again] == ["kept"] and hf.served == served  # a second run fetches 0 bytes

    # A third machine, from the old lock: fetched by commit, never by the branch that moved.
    third = tmp_path / "host3"
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(third / "configs"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(third / "models"))
    assert cli("sync", str(old_lock)).exit_code == 0
    (old,) = cli("list", "--json").json()
    assert old["source"]["commit"] == c1 and "tokenizer.json" in old["download_files"]


def test_sync_fetches_only_what_is_missing_and_refuses_a_wrong_hash(hf, cli, sandbox, monkeypatch, tmp_path):
    hf.add_repo("acme/m", V1)
    assert cli("download", "acme/m", "-y").exit_code == 0
    lock = tmp_path / "m.lock"
    assert cli("lock", "-o", str(lock)).exit_code == 0
    commit = hf.repos["acme/m"].commit
    # The second host already holds one shard where the download would put it.
    other = tmp_path / "host2"
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(other / "configs"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(other / "models"))
    target = other / "models" / "weights" / "acme" / f"m@{commit}"
    target.mkdir(parents=True)
    (target / "model-00001-of-00002.safetensors").write_bytes(V1["model-00001-of-00002.safetensors"])
    hf.served.clear()
    assert cli("sync", str(lock)).exit_code == 0
    assert "model-00001-of-00002.safetensors" not in hf.served and "model-00002-of-00002.safetensors" in hf.served
    # A lock whose hash does not match what the hub serves: exit 1, nothing registered.
    bad = tmp_path / "bad.lock"
    bad.write_text(lock.read_text().replace(hf.repos["acme/m"].files["config.json"].sha256, "0" * 64))
    third = tmp_path / "host3"
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(third / "configs"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(third / "models"))
    result = cli("sync", str(bad), "--json")
    assert result.exit_code == 1 and "sha256 differs" in result.json()[0]["problem"]
    assert cli("list", "--json").json() == []
    # The source names its provider: one that is not installed fails that model, a source without
    # a provider is bad input.
    elsewhere = tmp_path / "elsewhere.lock"
    elsewhere.write_text(lock.read_text().replace('"hf:acme/m"', '"nosuch:acme/m"'))
    result = cli("sync", str(elsewhere), "--json")
    assert result.exit_code == 1 and result.json()[0]["problem"] == "provider nosuch is not installed"
    bare = tmp_path / "bare.lock"
    bare.write_text(lock.read_text().replace('"hf:acme/m"', '"acme/m"'))
    result = cli("sync", str(bare))
    assert result.exit_code == 2 and "is not PROVIDER:SOURCE" in result.stderr


def test_pinned_entries_are_never_outdated_and_offline_is_one_line(hf, cli, sandbox, monkeypatch):
    commit = hf.add_repo("acme/m", V1).commit
    assert cli("download", f"acme/m@{commit}", "-y").exit_code == 0
    hf.add_repo("acme/m", V2)
    (check,) = cli("outdated", "--json").json()
    assert check["outdated"] is False and "pinned" in check["note"]
    assert cli("download", "acme/m", "-y").exit_code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    result = cli("outdated")
    assert result.exit_code == 1 and "HF_HUB_OFFLINE" in result.stderr and len(result.stderr.strip().splitlines()) <= 2


def test_gui_marks_outdated_entries_updates_them_and_locks(hf, cli, sandbox, tmp_path):
    from streamlit.testing.v1 import AppTest

    import imageworks_gui

    hf.add_repo("acme/m", V1)
    assert cli("download", "acme/m", "-y").exit_code == 0
    c2 = hf.add_repo("acme/m", V2).commit
    page = Path(imageworks_gui.__file__).parent / "pages" / "2_🎯_Models.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    next(b for b in at.button if b.key == "outdated-run").click().run()
    table = at.dataframe[0].value
    assert table["updates"].tolist() == [f"⬆ {c2[:7]}"]
    at.checkbox(key="update-confirm").check().run()
    next(b for b in at.button if b.key == "update-run").click().run()
    assert cli("list", "--json").json()[0]["source"]["commit"] == c2
    lock = tmp_path / "gui.lock"
    at.text_input(key="lock-output").input(str(lock)).run()
    next(b for b in at.button if b.key == "lock-run").click().run()
    assert c2 in lock.read_text()


def test_a_killed_update_leaves_the_old_copy_whole_and_registered(hf, cli, sandbox):
    """SIGKILLs at random moments of a throttled update: the registered path always holds a whole
    copy matching the registry (old before the swap); the next run finishes the update."""
    import random
    import signal
    import subprocess
    import sys
    import time

    hf.add_repo("acme/m", V1)
    assert cli("download", "acme/m", "-y").exit_code == 0
    (entry,) = cli("list", "--json").json()
    v2 = {**V2, "model-00002-of-00002.safetensors": random_bytes(3_000_000, seed=9)}
    c2 = hf.add_repo("acme/m", v2).commit
    code = "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='imageworks-download'; main()"
    rng = random.Random(15)
    hf.faults.throttle_bps = 2_000_000
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, "-c", code, "update", entry["name"]], env=os.environ.copy(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(rng.uniform(0.3, 1.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        (now,) = cli("list", "--json").json()
        verify = cli("verify", "--hash", "--json").json()
        assert verify[0]["ok"], (trial, now["source"]["commit"], verify)  # whole, and matching the registry
    hf.faults.throttle_bps = None
    assert cli("update", entry["name"]).exit_code == 0
    (done,) = cli("list", "--json").json()
    assert done["source"]["commit"] == c2 and cli("verify", "--hash").exit_code == 0


def test_sync_to_a_location_and_update_all(hf, cli, sandbox, monkeypatch, tmp_path):
    hf.add_repo("acme/a", V1)
    hf.add_repo("acme/b", {**V1, "config.json": b'{"torch_dtype": "float16"}'})
    for repo in ("acme/a", "acme/b"):
        assert cli("download", repo, "-y").exit_code == 0
    sandbox.write_layer("curated", [{"name": n, "roles": ["chat"]} for n in
                                    [r["name"] for r in cli("list", "--json").json()][:1]])
    lock = tmp_path / "team.lock"
    assert cli("lock", "--role", "chat", "-o", str(lock)).exit_code == 0
    (model,) = tomllib.loads(lock.read_text())["model"]
    assert model["roles"] == ["chat"]
    other = tmp_path / "gpu-host"
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(other / "configs"))
    disk = tmp_path / "fast-disk"
    assert cli("sync", str(lock), "--location", str(disk)).exit_code == 0
    (row,) = cli("list", "--json").json()
    assert row["download_path"].startswith(str(disk)) and row["roles"] == ["chat"] and row["name"] == model["name"]
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(sandbox.registry_dir))
    hf.add_repo("acme/a", V2)
    hf.add_repo("acme/b", {**V2, "config.json": b'{"torch_dtype": "float16"}'})
    assert cli("update").exit_code == 2  # names or --all
    done = cli("update", "--all")
    assert done.exit_code == 0 and done.stdout.count("updated to") == 2
    assert not any(c["outdated"] for c in cli("outdated", "--json").json())
