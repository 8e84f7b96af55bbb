"""`link` against `cp` of the same GGUF, `link --to hf-cache` against `cp -r` of a repo, and
`dupes` over 2,000 entries.

A BENCH_GIB (default 4) GiB GGUF is registered by a scan and its sha256 recorded by
`verify --hash` (not timed: a download records it from the hub for free). Then
`link --to ollama` and `link --to lmstudio` are timed against `cp` of the same file: target
< 1% of cp. Then a 10-file repo of BENCH_GIB GiB (9 safetensors shards and config.json),
registered as a hub download (commit, sha256 and etags recorded), is placed in a fresh Hugging
Face cache by `link --to hf-cache` against `cp -r` of its folder: target < 1%. Then `dupes` over BENCH_ENTRIES (default 2,000) registered models whose files
all differ in size (nothing to hash): target < 2 s. Medians of BENCH_RUNS runs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import spread, timed

GIB = float(os.environ.get("BENCH_GIB", "4"))
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "2000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def big_gguf(path: Path, size: int) -> None:
    from imageworks_testing.fixtures import write_gguf

    head = write_gguf(path.with_suffix(".head"), basename="Big", size_label="7B").read_bytes()
    path.with_suffix(".head").unlink()
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        handle.write(head)
        written = len(head)
        while written < size:
            handle.write(block)
            written += len(block)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="iw-bench-link-", dir=os.environ.get("BENCH_DIR")))
    exe = shutil.which("imageworks-download") or "imageworks-download"
    try:
        env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"), "IMAGEWORKS_LOG_DIR": str(root / "logs"),
               "IMAGEWORKS_CACHE_DIR": str(root / "cache"), "IMAGEWORKS_MODEL_ROOT": str(root / "models"),
               "OLLAMA_MODELS": str(root / "ollama"), "HOME": str(root)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        (root / ".lmstudio" / "models").mkdir(parents=True)
        model = root / "models" / "weights" / "acme" / "Big-7B-GGUF" / "Big-7B-Q4_K_M.gguf"
        model.parent.mkdir(parents=True)
        big_gguf(model, int(GIB * (1 << 30)))
        subprocess.run([exe, "scan"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([exe, "verify", "--hash"], env=env, check=True, stdout=subprocess.DEVNULL)
        name = json.loads(subprocess.run([exe, "list", "--json"], env=env, check=True, capture_output=True).stdout)[0]["name"]
        cps = []
        for i in range(RUNS):
            cps.append(timed(["cp", str(model), str(root / f"copy{i}.gguf")], env))
            (root / f"copy{i}.gguf").unlink()
        ollama, lmstudio = [], []
        for i in range(RUNS):
            shutil.rmtree(root / "ollama", ignore_errors=True)
            shutil.rmtree(root / ".lmstudio" / "models" / "imageworks", ignore_errors=True)
            ollama.append(timed([exe, "link", name, "--to", "ollama", "--as", f"big:run{i}"], env))
            lmstudio.append(timed([exe, "link", name, "--to", "lmstudio"], env))
        in_process = []
        code = ("import sys, time; from imageworks_core import Session; from imageworks_core.linking import link; "
                "s = Session.open(); s.plugins; link(s, sys.argv[1], 'ollama', model_name=sys.argv[2] + 'w'); "
                "t = time.perf_counter(); "
                "link(s, sys.argv[1], 'ollama', model_name=sys.argv[2]); print(time.perf_counter() - t)")
        for i in range(RUNS):
            out = subprocess.run([sys.executable, "-c", code, name, f"big:inproc{i}"], env=env, check=True,
                                 capture_output=True, text=True).stdout
            in_process.append(float(out.split()[-1]))
        cp = statistics.median(cps)
        print(f"{GIB:g} GiB GGUF; medians of {RUNS}: cp {cp:.2f}s")
        for label, runs in (("link --to ollama", ollama), ("link --to lmstudio", lmstudio)):
            mid = statistics.median(runs)
            print(f"{label}: {spread(runs, digits=3)} = {mid / cp * 100:.2f}% of cp "
                  f"(target < 1%; whole command, start-up included)")
        mid = statistics.median(in_process)
        print(f"link --to ollama, the link itself (in-process, modules loaded): {mid * 1000:.1f} ms = "
              f"{mid / cp * 100:.2f}% of cp (target < 1%)")
        hf_cache_row(root, env, exe)
        # dupes over many entries, nothing to hash (every size unique)
        many = root / "many"
        for i in range(ENTRIES):
            folder = many / f"org{i % 50}" / f"m{i}"
            folder.mkdir(parents=True)
            (folder / f"m{i}-Q4_K_M.gguf").write_bytes(b"GGUF" + b"\0" * (100 + i))
        layer = {"schema_version": 1, "models": [
            {"name": f"m{i}-llamacpp-gguf-q4_k_m", "backend": "llamacpp", "download_format": "gguf",
             "download_path": str(many / f"org{i % 50}" / f"m{i}"), "download_files": [f"m{i}-Q4_K_M.gguf"]}
            for i in range(ENTRIES)]}
        registry = root / "configs-many"
        registry.mkdir()
        (registry / "model_registry.discovered.json").write_text(json.dumps(layer))
        denv = {**env, "IMAGEWORKS_REGISTRY_DIR": str(registry)}
        timed([exe, "dupes", "--json"], denv)  # warm
        runs = [timed([exe, "dupes", "--json"], denv) for _ in range(RUNS)]
        print(f"dupes over {ENTRIES} entries, nothing to hash: {spread(runs)} (target < 2 s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def hf_cache_row(root: Path, env: dict[str, str], exe: str) -> None:
    """A 10-file repo registered as downloaded from the hub, linked into a fresh cache each run."""
    import hashlib

    folder = root / "models" / "weights" / "acme" / "Big-10"
    folder.mkdir(parents=True)
    files = []
    shard = int(GIB * (1 << 30)) // 9
    block = os.urandom(1 << 20)
    for i in range(9):
        path = folder / f"model-{i + 1:05d}-of-00009.safetensors"
        digest = hashlib.sha256()
        with open(path, "wb") as handle:
            for n in range(max(1, shard >> 20)):
                piece = i.to_bytes(8, "little") + block[8:] if n == 0 else block  # each shard its own bytes
                handle.write(piece)
                digest.update(piece)
        files.append({"path": path.name, "size": path.stat().st_size, "sha256": digest.hexdigest(),
                      "etag": digest.hexdigest()})
    config = b'{"torch_dtype": "bfloat16"}'
    (folder / "config.json").write_bytes(config)
    files.append({"path": "config.json", "size": len(config), "sha256": hashlib.sha256(config).hexdigest(),
                  "etag": hashlib.sha1(b"blob %d\0" % len(config) + config).hexdigest()})
    registry = root / "configs-hf"
    registry.mkdir()
    (registry / "model_registry.discovered.json").write_text(json.dumps({"schema_version": 1, "models": [{
        "name": "big-10", "backend": "vllm", "download_format": "safetensors", "source_provider": "hf",
        "source": {"repo_id": "acme/Big-10", "revision": "main", "commit": "c0ffee" * 6 + "c0ff"},
        "download_path": str(folder), "download_files": [f["path"] for f in files],
        "artifacts": {"files": files, "aggregate_sha256": None}}]}))
    cps, links = [], []
    for i in range(RUNS):
        cps.append(timed(["cp", "-r", str(folder), str(root / f"copy-r{i}")], env))
        shutil.rmtree(root / f"copy-r{i}")
        henv = {**env, "IMAGEWORKS_REGISTRY_DIR": str(registry), "HF_HUB_CACHE": str(root / f"hub{i}")}
        henv.pop("LLAMA_CACHE", None)
        links.append(timed([exe, "link", "big-10", "--to", "hf-cache"], henv))
        assert len(list((root / f"hub{i}" / "models--acme--Big-10" / "blobs").iterdir())) == 10
    cp = statistics.median(cps)
    mid = statistics.median(links)
    print(f"10-file {GIB:g} GiB repo: cp -r {spread(cps)}; link --to hf-cache {spread(links, digits=3)} = "
          f"{mid / cp * 100:.2f}% of cp -r (target < 1%; whole command, start-up included)")


if __name__ == "__main__":
    main()
