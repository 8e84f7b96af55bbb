"""`outdated` over 200 hub entries from 50 repos against the same 50 `HfApi.model_info` calls
made one after another in one process (the fake hub on loopback, answering with a small delay
per request as a real hub would); and `sync` of an already-satisfied lock of 20 models.
Targets: exactly 50 metadata requests and faster than the sequential calls; sync < 1 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from measure import scratch_hub, spread

REPOS = int(os.environ.get("BENCH_REPOS", "50"))
PER_REPO = int(os.environ.get("BENCH_PER_REPO", "4"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LATENCY = float(os.environ.get("BENCH_LATENCY_S", "0.05"))  # per metadata request, like a real hub

SEQUENTIAL = """
import os, sys, time
from huggingface_hub import HfApi
api = HfApi()
repos = sys.argv[1:]
t = time.perf_counter()
for repo in repos:
    api.model_info(repo, revision="main", files_metadata=True)
print(time.perf_counter() - t)
"""


def main() -> None:
    with scratch_hub("iw-bench-outdated-") as (root, hub):
        entries, repos = [], []
        for r in range(REPOS):
            repo_id = f"org/m{r}"
            repos.append(repo_id)
            files = {"config.json": b"{}", **{f"model-q{q}.gguf": bytes([q]) * (1000 + q) for q in range(PER_REPO)}}
            commit = hub.add_repo(repo_id, files).commit
            for q in range(PER_REPO):
                folder = root / "weights" / "org" / f"m{r}"
                entries.append({"name": f"m{r}-q{q}-llamacpp-gguf", "backend": "llamacpp", "download_format": "gguf",
                                "source_provider": "hf", "download_path": str(folder),
                                "download_files": [f"model-q{q}.gguf"],
                                "source": {"repo_id": repo_id, "revision": "main", "commit": commit}})
        registry = root / "configs"
        registry.mkdir()
        (registry / "model_registry.discovered.json").write_text(json.dumps({"schema_version": 1, "models": entries}))
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "IMAGEWORKS_REGISTRY_DIR": str(registry),
               "IMAGEWORKS_LOG_DIR": str(root / "logs"), "IMAGEWORKS_CACHE_DIR": str(root / "cache"), "HOME": str(root)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def with_latency(fn):
            def slow(*args, **kwargs):
                time.sleep(LATENCY)
                return fn(*args, **kwargs)
            return slow

        from imageworks_testing import fakehub as fh

        fh._Handler._api = with_latency(fh._Handler._api)  # each metadata request costs LATENCY, as over a network
        ours, theirs = [], []
        for _ in range(RUNS):
            hub.requests.clear()
            code = ("import sys, time; from imageworks_core.cli.download_program import cli; t = time.perf_counter(); "
                    "cli.main(['outdated', '--json'], standalone_mode=False); print(time.perf_counter() - t, file=sys.stderr)")
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            ours.append(float(out.stderr.strip().splitlines()[-1]))
            calls = [r for r in hub.requests if r[1].startswith("/api/models/")]
            assert len(calls) == REPOS, len(calls)
            theirs.append(float(subprocess.run([sys.executable, "-c", SEQUENTIAL, *repos], env=env, capture_output=True,
                                               text=True, check=True).stdout))
        mine, seq = statistics.median(ours), statistics.median(theirs)
        print(f"{len(entries)} entries from {REPOS} repos, {LATENCY * 1000:.0f} ms per metadata request; medians of {RUNS}")
        print(f"outdated: {REPOS} metadata requests, {spread(ours)}; "
              f"sequential HfApi.model_info x{REPOS}: {seq:.2f}s = {seq / mine:.1f}x slower (target: outdated faster)")
    sync_bench()


def sync_bench() -> None:
    """A lock of 20 models already on this machine: sync checks (hash cache warm) and fetches nothing."""
    from imageworks_testing.fakehub import random_bytes

    with scratch_hub("iw-bench-sync-") as (root, hub):
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1",
               "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"), "IMAGEWORKS_LOG_DIR": str(root / "logs"),
               "IMAGEWORKS_CACHE_DIR": str(root / "cache"), "IMAGEWORKS_MODEL_ROOT": str(root / "models"),
               "HOME": str(root), "IMAGEWORKS_USE_ARIA2": "never"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        exe = shutil.which("imageworks-download") or "imageworks-download"
        for i in range(20):
            hub.add_repo(f"org/s{i}", {"config.json": b"{}", "model.safetensors": random_bytes(4 << 20, seed=i)})
            subprocess.run([exe, "download", f"org/s{i}", "-y"], env=env, check=True, capture_output=True)
        lock = root / "models.lock"
        subprocess.run([exe, "lock", "-o", str(lock)], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([exe, "sync", str(lock)], env=env, check=True, stdout=subprocess.DEVNULL)  # warms the hash cache
        runs = []
        for _ in range(RUNS):
            hub.served.clear()
            started = time.perf_counter()
            subprocess.run([exe, "sync", str(lock)], env=env, check=True, stdout=subprocess.DEVNULL)
            runs.append(time.perf_counter() - started)
            assert not hub.served, hub.served
        print(f"sync of a satisfied lock of 20 models: {spread(runs)}; 0 bytes fetched (target < 1 s)")


if __name__ == "__main__":
    main()
