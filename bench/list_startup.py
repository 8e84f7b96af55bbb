"""Whole-process time of ``imageworks-download list --json`` over a 10,000-entry registry, as a
ratio to ``python -c "import json; json.load(open(...))"`` on the same file, in the same run.

Target (issue 16): under 2x. Prints median, min and max of N runs of each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import spread

ENTRIES = int(os.environ.get("BENCH_ENTRIES", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def build(directory: Path) -> Path:
    weights = directory / "weights"
    models = []
    for i in range(ENTRIES):
        folder = weights / f"org{i % 50}" / f"model-{i}"
        models.append({
            "name": f"model-{i:05d}-vllm-awq-int4", "family": f"model-{i}", "backend": "vllm",
            "download_format": "awq", "quantization": "int4", "source_provider": "hf",
            "source": {"repo_id": f"org{i % 50}/model-{i}", "revision": "main"},
            "download_location": "linux_wsl", "download_path": str(folder),
            "download_files": ["config.json", "model.safetensors"], "download_size_bytes": 1234567,
            "artifacts": {"files": [{"path": "model.safetensors", "size": 1234567, "sha256": "ab" * 32}],
                          "aggregate_sha256": "cd" * 32},
            "capabilities": {"text": True, "vision": i % 3 == 0},
            "metadata": {"identity": f"hf:org{i % 50}/model-{i}@main:awq:int4", "architecture": "llama"},
        })
    registry = directory / "configs"
    registry.mkdir(parents=True)
    path = registry / "model_registry.discovered.json"
    path.write_text(json.dumps({"schema_version": 1, "models": models}, indent=2))
    return registry


def timed_runs(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, list[float]]:
    """RUNS timings of each command, interleaved so a noisy moment hits all of them alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for cmd in commands.values():
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)  # warm-up: caches, .pyc
    for _ in range(RUNS):
        for label, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times[label].append(time.perf_counter() - start)
    return times


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="iw-bench-list-"))
    try:
        registry = build(directory)
        env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(registry), "HOME": str(directory),
               "IMAGEWORKS_LOG_DIR": str(directory / "logs"), "IMAGEWORKS_CACHE_DIR": str(directory / "cache")}
        # Measure an installed tool as users run it: with byte-code caches.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        layer = registry / "model_registry.discovered.json"
        exe = shutil.which("imageworks-download") or "imageworks-download"
        times = timed_runs({
            "bare interpreter": [sys.executable, "-c", "pass"],
            "json.load baseline": [sys.executable, "-c", f"import json; json.load(open({str(layer)!r}))"],
            "list --json": [exe, "list", "--json"],
        }, env)
        print(f"entries: {ENTRIES}, runs: {RUNS}")
        for label, values in times.items():
            print(f"{label:20} median {spread(values, unit=' ms', digits=1, scale=1000)}")
        ratios = [ours / base for ours, base in zip(times["list --json"], times["json.load baseline"])]
        print(f"list --json / json.load, run by run: median {spread(ratios, unit='x')} (target < 2x)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
