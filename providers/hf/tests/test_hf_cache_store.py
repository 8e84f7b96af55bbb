"""The Hugging Face cache as a store we write, checked with the real readers: huggingface_hub's
scan, lookup and snapshot functions, and transformers loading offline in another process."""

import hashlib
import json
import os
import struct
import subprocess
import sys

import pytest

from imageworks_testing.fakehub import git_blob_sha1, random_bytes
from imageworks_testing.fixtures import write_gguf

REPO = "sentence-transformers/mini-st"


def safetensors_bytes(seed: int) -> bytes:
    """A real (tiny) safetensors file: an 8-byte header length, the JSON header, the data."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + random_bytes(8, seed=seed)


def tokenizer_json() -> bytes:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "world": 3, "cache": 4}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return tokenizer.to_str().encode()


def st_files(seed: int = 1) -> dict[str, bytes]:
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 5, "hidden_size": 8,
              "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 16, "torch_dtype": "float32"}
    return {
        "config.json": json.dumps(config).encode(),
        "tokenizer.json": tokenizer_json(),
        "tokenizer_config.json": json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]",
                                             "pad_token": "[PAD]"}).encode(),
        "modules.json": json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                                    {"idx": 1, "name": "1", "path": "1_Pooling",
                                     "type": "sentence_transformers.models.Pooling"}]).encode(),
        "1_Pooling/config.json": json.dumps({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}).encode(),
        "sentence_bert_config.json": b'{"max_seq_length": 128}',
        "config_sentence_transformers.json": b'{"similarity_fn_name": "cosine"}',
        "model.safetensors": safetensors_bytes(seed),
        "README.md": b"# mini",
    }


ST_FILES = ["1_Pooling/config.json", "config.json", "config_sentence_transformers.json", "model.safetensors",
            "modules.json", "sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json"]


@pytest.fixture
def st_repo(hub):
    hub.add_repo(REPO, st_files())
    return hub


def cache_root(sandbox):
    return sandbox.root / "hf_home" / "hub"


def row_of(cli, name):
    return {r["name"]: r for r in cli("list", "--json").json()}[name]


def check_layout(root, repo_id, commit, revision, files: dict[str, bytes], hub_repo):
    """Blob, snapshot and ref bytes exactly as huggingface_hub writes them."""
    folder = root / ("models--" + repo_id.replace("/", "--"))
    assert (folder / "refs" / revision).read_bytes() == commit.encode()  # no newline
    assert not (folder / "trees" / f"{commit}.json").exists() and not (root / "blobs").exists()
    for path, data in files.items():
        f = hub_repo.files[path]
        etag = f.sha256 if f.lfs else git_blob_sha1(data)
        pointer = folder / "snapshots" / commit / path
        assert os.readlink(pointer) == "../" * (path.count("/") + 2) + f"blobs/{etag}"
        assert (folder / "blobs" / etag).read_bytes() == data
    return folder


def real_client_download(hub, root, monkeypatch, repo_id=REPO):
    """``snapshot_download`` from the fake hub into ``root``, as a user of huggingface_hub would."""
    import tqdm
    from huggingface_hub import constants, snapshot_download

    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(tqdm.tqdm, "monitor_interval", 0)  # its monitor thread would outlive the test
    hub.faults.cdn_host = None  # a relative redirect, which huggingface_hub follows itself
    return snapshot_download(repo_id, cache_dir=root)


def hf_loads_offline(root, repo_id, revision="main"):
    """transformers in another process, offline, finds the model by repo id alone."""
    code = ("import sys, transformers as t; c = t.AutoConfig.from_pretrained(sys.argv[1], revision=sys.argv[2]); "
            "k = t.AutoTokenizer.from_pretrained(sys.argv[1], revision=sys.argv[2]); "
            "print(c.model_type, k('hello world cache')['input_ids'])")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(root), HF_HUB_DISABLE_TELEMETRY="1")
    proc = subprocess.run([sys.executable, "-c", code, repo_id, revision], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_link_to_hf_cache_with_sub_folders_is_what_every_hf_reader_loads(st_repo, cli, sandbox):
    from huggingface_hub import scan_cache_dir, snapshot_download, try_to_load_from_cache

    assert cli("download", REPO, "-y", "--no-aria2").exit_code == 0
    name = "mini-st-vllm-safetensors-fp32"
    source = row_of(cli, name)
    assert sorted(source["download_files"]) == ST_FILES
    hub_repo = st_repo.repos[REPO]
    commit = hub_repo.commit
    etags = {f["path"]: f.get("etag") for f in source["artifacts"]["files"]}
    assert etags["config.json"] == git_blob_sha1(st_files()["config.json"])
    assert etags["model.safetensors"] == hub_repo.files["model.safetensors"].sha256
    # A download of @main fetched every file by the resolved commit.
    assert all(f"/resolve/{commit}/" in path for method, path, _ in st_repo.requests if "/resolve/" in path)

    result = cli("link", name, "--to", "hf-cache")
    assert result.exit_code == 0, result.stderr
    root = cache_root(sandbox)
    folder = check_layout(root, REPO, commit, "main", {p: st_files()[p] for p in ST_FILES}, hub_repo)
    ours = os.path.join(source["download_path"], "model.safetensors")
    snap = folder / "snapshots" / commit
    assert os.stat(snap / "model.safetensors").st_ino == os.stat(ours).st_ino  # zero copy
    assert not os.access(ours, os.W_OK) or os.geteuid() == 0  # linked files are read-only

    info = scan_cache_dir(root)
    assert info.warnings == []
    (repo,) = info.repos
    (revision,) = repo.revisions
    assert revision.commit_hash == commit and revision.refs == {"main"}
    assert sorted(str(f.file_path.relative_to(snap)) for f in revision.files) == ST_FILES
    assert try_to_load_from_cache(REPO, "1_Pooling/config.json", cache_dir=root) == str(snap / "1_Pooling/config.json")
    assert snapshot_download(REPO, local_files_only=True, cache_dir=root) == str(snap)
    assert hf_loads_offline(root, REPO) == "bert [2, 3, 4]"

    linked = [r for r in cli("list", "--json").json() if r["metadata"].get("linked_from") == name]
    assert len(linked) == 1 and linked[0]["download_location"] == "hf_cache"
    assert linked[0]["download_path"] == str(snap) and sorted(linked[0]["download_files"]) == ST_FILES
    stats = cli("stats", "--json").json()
    assert stats["disk_bytes"] == sum(len(st_files()[p]) for p in ST_FILES)  # counted once

    again = cli("link", name, "--to", "hf-cache")
    assert again.exit_code == 0 and "already linked" in again.stdout
    assert len([r for r in cli("list", "--json").json() if r["metadata"].get("linked_from") == name]) == 1


def test_an_entry_without_a_hub_commit_gets_one_line(cli, sandbox, tmp_path):
    folder = sandbox.root / "models" / "weights" / "someone" / "local-model"
    folder.mkdir(parents=True)
    for path, data in st_files().items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    (row,) = cli("list", "--json").json()
    result = cli("link", row["name"], "--to", "hf-cache")
    assert result.exit_code == 2 and "has no hub commit" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert not cache_root(sandbox).exists() or not any(cache_root(sandbox).iterdir())
    symlink = cli("link", row["name"], "--to", "hf-cache", "--symlink")
    assert symlink.exit_code == 2


@pytest.fixture
def gguf_repo(hub, tmp_path):
    files = {"README.md": b"# readme"}
    for label, ft in (("Q4_K_M", 15), ("Q8_0", 7)):
        files[f"Foo-7B-{label}.gguf"] = write_gguf(tmp_path / "src" / f"{label}.gguf", file_type=ft, basename="Foo",
                                                   size_label="7B", tensor_values=1000 + ft).read_bytes()
    files["mmproj-Foo-7B-f16.gguf"] = write_gguf(tmp_path / "src" / "mm.gguf", projector=True, file_type=1).read_bytes()
    hub.add_repo("bartowski/Foo-7B-GGUF", files)
    return hub


def test_gguf_quant_linked_then_cache_entry_removed_keeps_our_bytes(gguf_repo, cli, sandbox, monkeypatch):
    from huggingface_hub import scan_cache_dir

    llama = sandbox.root / "llama-cache"
    monkeypatch.setenv("LLAMA_CACHE", str(llama))
    assert cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y", "--no-aria2").exit_code == 0
    name = "foo-7b-llamacpp-gguf-q8_0"
    assert cli("link", name, "--to", "hf-cache").exit_code == 0
    hub_repo = gguf_repo.repos["bartowski/Foo-7B-GGUF"]
    placed = ["Foo-7B-Q8_0.gguf", "mmproj-Foo-7B-f16.gguf"]
    for root in (cache_root(sandbox), llama):  # llama.cpp's own root too
        folder = check_layout(root, "bartowski/Foo-7B-GGUF", hub_repo.commit, "main",
                              {p: hub_repo.files[p].data for p in placed}, hub_repo)
        assert sorted(os.listdir(folder / "snapshots" / hub_repo.commit)) == placed  # only the registered quant
        assert scan_cache_dir(root).warnings == []
    ours = sandbox.root / "models" / "weights" / "bartowski" / "Foo-7B-GGUF" / "Foo-7B-Q8_0.gguf"
    before = hashlib.sha256(ours.read_bytes()).hexdigest()
    cache_entry = next(r for r in cli("list", "--json").json() if r["metadata"].get("linked_from") == name)
    result = cli("remove", cache_entry["name"], "--delete-files", "--force")
    assert result.exit_code == 0, result.stderr
    assert not (cache_root(sandbox) / "models--bartowski--Foo-7B-GGUF").exists()
    assert not (llama / "models--bartowski--Foo-7B-GGUF").exists()
    assert hashlib.sha256(ours.read_bytes()).hexdigest() == before


def test_download_into_the_cache_beside_a_revision_huggingface_hub_wrote(st_repo, cli, sandbox, monkeypatch):
    from huggingface_hub import scan_cache_dir, snapshot_download

    root = cache_root(sandbox)
    first = st_repo.repos[REPO].commit
    real_client_download(st_repo, root, monkeypatch)  # huggingface_hub itself writes main
    st_repo.add_repo(REPO, st_files(seed=2), revisions={"v2": None})
    second = st_repo.repos[REPO].commit
    st_repo.repos[REPO].revisions["v2"] = second
    result = cli("download", f"{REPO}@v2", "-y", "--no-aria2", "--location", "hf_cache")
    assert result.exit_code == 0, result.stderr
    folder = check_layout(root, REPO, second, "v2", {p: st_files(seed=2)[p] for p in ST_FILES}, st_repo.repos[REPO])
    assert (folder / "refs" / "main").read_bytes() == first.encode()  # huggingface_hub's ref untouched
    assert not (folder / ".imageworks-download").exists()
    info = scan_cache_dir(root)
    assert info.warnings == []
    (repo,) = info.repos
    assert {r.commit_hash: set(r.refs) for r in repo.revisions} == {first: {"main"}, second: {"v2"}}
    assert snapshot_download(REPO, revision="v2", local_files_only=True, cache_dir=root) == str(folder / "snapshots" / second)
    assert hf_loads_offline(root, REPO, "v2") == "bert [2, 3, 4]"
    (row,) = [r for r in cli("list", "--json").json() if r["download_location"] == "hf_cache"]
    assert row["download_path"] == str(folder / "snapshots" / second) and sorted(row["download_files"]) == ST_FILES
    again = cli("download", f"{REPO}@v2", "-y", "--no-aria2", "--location", "hf_cache")
    assert again.exit_code == 0 and "Already downloaded" in again.stdout


def test_twins_keep_their_bytes_on_force_download_and_hf_delete(st_repo, cli, sandbox):
    from huggingface_hub import scan_cache_dir

    assert cli("download", REPO, "-y", "--no-aria2").exit_code == 0
    name = "mini-st-vllm-safetensors-fp32"
    assert cli("link", name, "--to", "hf-cache").exit_code == 0
    root = cache_root(sandbox)
    commit = st_repo.repos[REPO].commit
    blob = root / f"models--{REPO.replace('/', '--')}" / "blobs" / st_repo.repos[REPO].files["model.safetensors"].sha256
    ours = sandbox.root / "models" / "weights" / "sentence-transformers" / "mini-st" / "model.safetensors"
    assert os.stat(blob).st_ino == os.stat(ours).st_ino
    # The hub now serves other bytes under the same commit: a forced download must not write them into the blob.
    st_repo.repos[REPO].files["model.safetensors"].data = safetensors_bytes(9)
    forced = cli("download", REPO, "-y", "--no-aria2", "--force")
    assert forced.exit_code != 0  # the sha256 check refuses the changed bytes...
    assert blob.read_bytes() == st_files()["model.safetensors"]  # ...and the twin kept its bytes
    st_repo.repos[REPO].files["model.safetensors"].data = st_files()["model.safetensors"]
    assert cli("download", REPO, "-y", "--no-aria2", "--force").exit_code == 0
    assert os.stat(blob).st_ino != os.stat(ours).st_ino  # a new file renamed over, never written in place
    cache_entry = next(r["name"] for r in cli("list", "--json").json() if r["metadata"].get("linked_from") == name)
    verified = cli("verify", cache_entry)
    assert verified.exit_code == 1 and "no longer shares 1_Pooling/config.json, config.json" in verified.stdout
    assert f"with {name} (one side changed since `link`)" in verified.stdout
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == st_repo.repos[REPO].files["model.safetensors"].sha256
    before = ours.read_bytes()
    strategy = scan_cache_dir(root).delete_revisions(commit)
    strategy.execute()
    assert ours.read_bytes() == before


def test_every_discovery_path_lists_every_file_a_loader_reads(st_repo, cli, sandbox, monkeypatch):
    """The cache written by huggingface_hub itself, an ``owner/repo`` folder and ``scan``: the
    sentence-transformers files (``modules.json``, ``1_Pooling/config.json``...) are all listed."""
    real_client_download(st_repo, cache_root(sandbox), monkeypatch)
    result = cli("ingest-local-hf", program="imageworks-loader")
    assert result.exit_code == 0, result.stderr
    (cached,) = cli("list", "--json").json()
    assert sorted(cached["download_files"]) == ST_FILES and cached["download_location"] == "hf_cache"
    for base in ("weights", "scanned"):
        folder = sandbox.root / "models" / base / "sentence-transformers" / "mini-st"
        for path, data in st_files().items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
    (sandbox.root / "models" / "weights" / "sentence-transformers" / "mini-st" / ".cache").mkdir()
    assert cli("ingest-local-hf", "--root", str(sandbox.root / "models" / "weights"), program="imageworks-loader").exit_code == 0
    assert cli("scan", "--base", str(sandbox.root / "models" / "scanned")).exit_code == 0
    rows = cli("list", "--json").json()
    assert len(rows) == 3
    assert all(sorted(r["download_files"]) == ST_FILES for r in rows), [r["download_files"] for r in rows]


def test_update_of_either_twin_leaves_the_other_whole(st_repo, cli, sandbox, monkeypatch):
    from huggingface_hub import constants, scan_cache_dir

    monkeypatch.setattr(constants, "ENDPOINT", st_repo.url)
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "never")
    assert cli("download", REPO, "-y").exit_code == 0
    name = "mini-st-vllm-safetensors-fp32"
    assert cli("link", name, "--to", "hf-cache").exit_code == 0
    cache_name = next(r["name"] for r in cli("list", "--json").json() if r["metadata"].get("linked_from") == name)
    root = cache_root(sandbox)
    folder = root / f"models--{REPO.replace('/', '--')}"
    first = st_repo.repos[REPO].commit
    old_blob = folder / "blobs" / st_repo.repos[REPO].files["model.safetensors"].sha256
    old_bytes = old_blob.read_bytes()

    second = st_repo.add_repo(REPO, {**st_files(), "model.safetensors": safetensors_bytes(5)}).commit
    done = cli("update", name)
    assert done.exit_code == 0, done.stderr
    ours = sandbox.root / "models" / "weights" / "sentence-transformers" / "mini-st" / "model.safetensors"
    assert ours.read_bytes() == safetensors_bytes(5)
    assert old_blob.read_bytes() == old_bytes  # the cache's twin kept its bytes, under its hash
    assert hashlib.sha256(old_bytes).hexdigest() == old_blob.name

    st_repo.served.clear()
    done = cli("update", cache_name)
    assert done.exit_code == 0, done.stderr
    assert set(st_repo.served) == {"model.safetensors"}  # the other blobs are the same: linked, not fetched
    assert (folder / "refs" / "main").read_bytes() == second.encode()
    assert not (folder / "snapshots" / first).exists() and not old_blob.exists()
    check_layout(root, REPO, second, "main", {**{p: st_files()[p] for p in ST_FILES},
                                              "model.safetensors": safetensors_bytes(5)}, st_repo.repos[REPO])
    assert scan_cache_dir(root).warnings == []
    row = row_of(cli, cache_name)
    assert row["download_path"] == str(folder / "snapshots" / second) and row["source"]["commit"] == second
    assert ours.read_bytes() == safetensors_bytes(5)
    assert hf_loads_offline(root, REPO) == "bert [2, 3, 4]"


def test_download_into_the_cache_with_aria2c_leaves_another_tools_ref_alone(st_repo, cli, sandbox, monkeypatch):
    """The aria2c path stages and renames as the built-in one; a newer main next to the main
    huggingface_hub wrote keeps huggingface_hub's ref and says how to load ours."""
    from huggingface_hub import scan_cache_dir, snapshot_download

    root = cache_root(sandbox)
    first = st_repo.repos[REPO].commit
    real_client_download(st_repo, root, monkeypatch)
    second = st_repo.add_repo(REPO, st_files(seed=3)).commit
    st_repo.faults.cdn_host = "localhost"
    dry = cli("download", REPO, "-y", "--aria2", "--location", "hf_cache", "--dry-run")
    assert dry.exit_code == 0 and not (root / f"models--{REPO.replace('/', '--')}" / "snapshots" / second).exists()
    result = cli("download", REPO, "-y", "--aria2", "--location", "hf_cache")
    assert result.exit_code == 0, result.stderr
    folder = root / f"models--{REPO.replace('/', '--')}"
    assert (folder / "refs" / "main").read_bytes() == first.encode()
    assert f"revision={second}" in result.stderr
    for path in ST_FILES:
        pointer = folder / "snapshots" / second / path
        assert pointer.is_symlink() and pointer.read_bytes() == st_files(seed=3)[path]
    assert scan_cache_dir(root).warnings == []
    assert snapshot_download(REPO, revision=second, local_files_only=True, cache_dir=root) == str(folder / "snapshots" / second)


def test_link_copy_and_dry_run(st_repo, cli, sandbox):
    assert cli("download", REPO, "-y", "--no-aria2").exit_code == 0
    name = "mini-st-vllm-safetensors-fp32"
    root = cache_root(sandbox)
    dry = cli("link", name, "--to", "hf-cache", "--dry-run")
    assert dry.exit_code == 0 and "would link" in dry.stdout and not root.exists()
    assert cli("link", name, "--to", "hf-cache", "--copy").exit_code == 0
    commit = st_repo.repos[REPO].commit
    snap = root / f"models--{REPO.replace('/', '--')}" / "snapshots" / commit
    ours = sandbox.root / "models" / "weights" / "sentence-transformers" / "mini-st" / "model.safetensors"
    assert os.stat(snap / "model.safetensors").st_ino != os.stat(ours).st_ino  # a verified copy, not a link
    assert (snap / "model.safetensors").read_bytes() == ours.read_bytes()
    assert hf_loads_offline(root, REPO) == "bert [2, 3, 4]"


def test_a_plain_url_cannot_go_to_the_cache(cli, sandbox):
    result = cli("download", "https://example.invalid/files/Foo-Q4_K_M.gguf", "--location", "hf_cache", "-y")
    assert result.exit_code == 2 and "--location hf_cache takes a hub repo" in result.stderr


@pytest.mark.parametrize("location", [None, "hf_cache"])
def test_a_small_git_file_is_checked_against_its_git_blob_id(st_repo, cli, sandbox, location):
    """Regular git files have no sha256 on the hub: their git blob id is recomputed after download."""
    st_repo.faults.corrupt_path = "modules.json"
    result = cli("download", REPO, "-y", "--no-aria2", *(["--location", location] if location else []))
    assert result.exit_code == 1 and "modules.json: git blob id" in result.stderr
    assert cli("list", "--json").json() == []
    if location:
        assert not (cache_root(sandbox) / f"models--{REPO.replace('/', '--')}" / "refs").exists()


def test_an_interrupted_cache_download_resumes_and_cleanup_knows_its_partial(hub, cli, sandbox, monkeypatch):
    weights = random_bytes(2_000_000, seed=7)
    hub.add_repo("o/big", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": weights})
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "0")
    hub.faults.drop_after_bytes, hub.faults.drops_left = 600_000, 50
    failed = cli("download", "o/big", "-y", "--no-aria2", "--location", "hf_cache")
    assert failed.exit_code == 1
    staged = cache_root(sandbox) / "models--o--big" / ".imageworks-download"
    assert staged.is_dir()
    plan = cli("cleanup", "--json").json()
    listed = {i["path"] for i in plan["items"]} | {k["path"] for k in plan["kept"]}
    assert str(staged) in listed
    from huggingface_hub import scan_cache_dir

    assert scan_cache_dir(cache_root(sandbox)).warnings == []  # an interrupted download is no corrupted repo
    hub.faults.drops_left = 0
    hub.served.clear()
    done = cli("download", "o/big", "-y", "--no-aria2", "--location", "hf_cache")
    assert done.exit_code == 0, done.stderr
    assert 0 < hub.served["model.safetensors"] < len(weights)  # resumed, not started again
    commit = hub.repos["o/big"].commit
    blob = cache_root(sandbox) / "models--o--big" / "blobs" / hashlib.sha256(weights).hexdigest()
    assert blob.read_bytes() == weights and not staged.exists()
    assert os.readlink(cache_root(sandbox) / "models--o--big" / "snapshots" / commit / "model.safetensors") == \
        f"../../blobs/{blob.name}"
