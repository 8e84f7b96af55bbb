"""`cleanup` dry run against os.walk over the same trees (issue: < 3x).

Trees: an Ollama store of BENCH_MANIFESTS (default 1,000) manifests, a Hugging Face cache of as
many repos (two snapshots each, one of them old), and BENCH_FOLDERS (default 10,000) weight
folders, a few of them with interrupted downloads. Medians of BENCH_RUNS runs, whole commands.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import spread

MANIFESTS = int(os.environ.get("BENCH_MANIFESTS", "1000"))
FOLDERS = int(os.environ.get("BENCH_FOLDERS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))

WALK = """
import os, sys
n = 0
for root in sys.argv[1:]:
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            os.lstat(os.path.join(folder, name)); n += 1
print(n)
"""


def build(root: Path) -> dict[str, Path]:
    store, cache, weights = root / "ollama", root / "hf" / "hub", root / "models" / "weights"
    (store / "blobs").mkdir(parents=True)
    for i in range(MANIFESTS):
        digests = [f"{i:060x}{k:04x}" for k in range(3)]
        for d in digests:
            (store / "blobs" / f"sha256-{d}").write_bytes(b"x")
        manifest = {"schemaVersion": 2, "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                                   "digest": f"sha256:{digests[0]}", "size": 1},
                    "layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{d}", "size": 1}
                               for d in digests[1:]]}
        path = store / "manifests" / "registry.ollama.ai" / "library" / f"m{i}" / "latest"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(manifest))
    for i in range(MANIFESTS // 10):  # a few orphans
        (store / "blobs" / f"sha256-{i:058x}ffffff").write_bytes(b"o")
    for i in range(MANIFESTS):
        repo = cache / f"models--org--m{i}"
        (repo / "blobs").mkdir(parents=True)
        (repo / "refs").mkdir()
        for s, commit in enumerate((f"{i:039x}a", f"{i:039x}b")):
            snap = repo / "snapshots" / commit
            snap.mkdir(parents=True)
            for name in ("config.json", "model.safetensors"):
                blob = repo / "blobs" / f"{i:060x}{s:02x}{len(name):02x}"
                blob.write_bytes(b"b")
                (snap / name).symlink_to(os.path.relpath(blob, snap))
        (repo / "refs" / "main").write_text(f"{i:039x}b")
    for i in range(FOLDERS):
        folder = weights / f"org{i % 100}" / f"model-{i}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"w")
        if i % 500 == 0:
            (folder / ".imageworks-partial").mkdir()
            (folder / ".imageworks-partial" / "model.safetensors").write_bytes(b"p")
    old = time.time() - 7200
    for tree in (store, cache, weights):
        for folder, dirs, files in os.walk(tree):
            for name in files + dirs:
                os.utime(os.path.join(folder, name), (old, old), follow_symlinks=False)
    return {"store": store, "cache": cache, "weights": weights}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, out.stdout


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="iw-bench-cleanup-", dir=os.environ.get("BENCH_DIR")))
    try:
        trees = build(root)
        env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"), "IMAGEWORKS_LOG_DIR": str(root / "logs"),
               "IMAGEWORKS_CACHE_DIR": str(root / "cache"), "IMAGEWORKS_MODEL_ROOT": str(root / "models"),
               "OLLAMA_MODELS": str(trees["store"]), "HF_HUB_CACHE": str(trees["cache"]), "HOME": str(root)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        walk_cmd = [sys.executable, "-c", WALK, *map(str, trees.values())]
        exe = shutil.which("imageworks-download") or "imageworks-download"
        ours_cmd = [exe, "cleanup", "--json"]
        timed(ours_cmd, env)  # warm: page cache, .pyc
        walks = [timed(walk_cmd, env)[0] for _ in range(RUNS)]
        ours = []
        for _ in range(RUNS):
            seconds, out = timed(ours_cmd, env)
            ours.append(seconds)
        plan = json.loads(out)
        walk, mine = statistics.median(walks), statistics.median(ours)
        print(f"trees: {MANIFESTS} Ollama manifests, {MANIFESTS} HF cache repos, {FOLDERS} weight folders; "
              f"{len(plan['items'])} leftovers found; medians of {RUNS}")
        print(f"os.walk + lstat (bare interpreter): {spread(walks)}")
        print(f"cleanup dry run (whole command): {spread(ours)} "
              f"= {mine / walk:.2f}x os.walk (target < 3x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--keep":  # build the trees and print the env (profiling)
        trees = build(Path(sys.argv[2]))
        print(json.dumps({k: str(v) for k, v in trees.items()}))
    else:
        main()
