"""Scan speed: 10,000 model folders (mixed GGUF and safetensors, small files).

Prints scan time per 1,000 models, its ratio to a bare os.walk + lstat of the same tree, and
peak memory: for a first (cold) scan, which must open each model's header or config files, and
for a re-scan, which re-reads only folders whose files changed (the scan cache in the user cache directory). Then an HF
cache of 10,000 repos: our ingest against huggingface_hub.scan_cache_dir.
Targets (issue 16): scan under 2x os.walk, peak RSS under 150 MiB; HF cache ingest at least 2x
faster than scan_cache_dir. Medians of N runs, with min and max.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imageworks_core.cachedir import cache_path
from measure import spread, timed

MODELS = int(os.environ.get("BENCH_MODELS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def build_tree(root: Path) -> None:
    from imageworks_testing.fixtures import write_gguf, write_safetensors

    template_gguf = write_gguf(root / "_t.gguf", basename="Bench", size_label="1B")
    gguf_bytes = template_gguf.read_bytes()
    template_gguf.unlink()
    st = write_safetensors(root / "_t.safetensors")
    st_bytes = st.read_bytes()
    st.unlink()
    for i in range(MODELS):
        folder = root / f"org{i % 100}" / f"model-{i}"
        folder.mkdir(parents=True)
        if i % 2:
            (folder / f"model-{i}-Q4_K_M.gguf").write_bytes(gguf_bytes)
        else:
            (folder / "config.json").write_text('{"torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]}')
            (folder / "tokenizer_config.json").write_text("{}")
            (folder / "model.safetensors").write_bytes(st_bytes)


def build_cache(root: Path) -> None:
    for i in range(MODELS):
        repo = root / f"models--org{i % 100}--model-{i}"
        commit = f"{i:040x}"
        snapshot = repo / "snapshots" / commit
        (repo / "blobs").mkdir(parents=True)
        snapshot.mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
        for name, data in (("config.json", b'{"torch_dtype": "float16"}'), ("model.safetensors", b"\x08" + b"\0" * 7 + b"{}      ")):
            blob = repo / "blobs" / f"{hash((i, name)) & 0xffffffffffff:040x}"
            blob.write_bytes(data)
            (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))


WALK = """
import os, sys, time
t = time.perf_counter()
n = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files + dirs:
        os.lstat(os.path.join(folder, name)); n += 1
print(time.perf_counter() - t)
"""

SCAN = """
import sys, time, resource
from pathlib import Path
from imageworks_core.session import Session
from imageworks_core import DiscoverRequest
from imageworks_core.discovery import collect_variants
session = Session.open(sys.argv[2])
session.plugins  # providers load once per process; that start-up is not scanning
t = time.perf_counter()
variants, warnings = collect_variants(session, [sys.argv[3]], DiscoverRequest(roots=(sys.argv[1],)))
elapsed = time.perf_counter() - t
assert len(variants) >= int(sys.argv[4]), (len(variants), warnings[:3])
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

SCAN_CACHE_DIR = """
import sys, time
from huggingface_hub import scan_cache_dir
t = time.perf_counter()
info = scan_cache_dir(sys.argv[1])
print(time.perf_counter() - t, len(info.repos))
"""


def run(code: str, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: with .pyc
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env)
    return out.stdout.split()


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="iw-bench-scan-"))
    try:
        tree, cache, registry = tmp / "tree", tmp / "cache", tmp / "configs"
        tree.mkdir()
        os.environ["IMAGEWORKS_CACHE_DIR"] = str(tmp / "user-cache")  # the scan cache, outside the home
        cache.mkdir()
        started = time.perf_counter()
        build_tree(tree)
        build_cache(cache)
        print(f"built {MODELS} model folders and {MODELS} cache repos in {time.perf_counter() - started:.0f}s")
        # The anchor and each scan interleaved, run by run: this machine's speed drifts by 1.5x
        # over minutes, so a ratio of medians taken minutes apart says little.
        walks, cold, warm = [], [], []
        for _ in range(RUNS):
            walks.append(float(run(WALK, str(tree))[0]))
            cache_path(registry, "scan").unlink(missing_ok=True)
            cold.append(run(SCAN, str(tree), str(registry), "local_scan", str(MODELS)))
            warm.append(run(SCAN, str(tree), str(registry), "local_scan", str(MODELS)))
        walk = median(walks)
        print(f"os.walk + lstat: {spread(walks)}")
        for label, scans in (("first scan", cold), ("re-scan", warm)):
            scan = median([float(s[0]) for s in scans])
            peak_mb = max(int(s[1]) for s in scans) / 1024
            times = [float(s[0]) for s in scans]
            ratios = [float(s[0]) / w for s, w in zip(scans, walks)]
            print(f"{label}: {spread(times)} = {scan / MODELS * 1000:.3f}s per 1,000 models; "
                  f"run by run {spread(ratios, unit='x')} os.walk (target < 2x); peak memory {peak_mb:.0f} MiB "
                  f"(target < 150)")
        # The whole command as a person runs it (piped): discovery, registry write and the report.
        exe = shutil.which("imageworks-download") or "imageworks-download"
        whole = []
        for i in range(RUNS):
            fresh = tmp / f"configs-cli-{i}"
            env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(fresh), "IMAGEWORKS_LOG_DIR": str(tmp / "logs")}
            started = time.perf_counter()
            out = subprocess.run([exe, "scan", "--base", str(tree)], env=env, capture_output=True, text=True, check=True)
            whole.append(time.perf_counter() - started)
            assert out.stdout.count("\t") >= MODELS, out.stdout[-300:]
        # Start-up as this command pays it (interpreter, click, the providers): a scan of nothing.
        empty_env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(tmp / "configs-empty"), "IMAGEWORKS_LOG_DIR": str(tmp / "logs")}
        (tmp / "nothing").mkdir()
        startup = median([timed([exe, "scan", "--base", str(tmp / "nothing")], empty_env) for _ in range(RUNS)])
        first = median([float(s[0]) for s in cold])
        print(f"scan command, first scan, piped: {median(whole):.2f}s = start-up {startup:.2f}s + discovery {first:.2f}s "
              f"+ registry write and report {median(whole) - startup - first:.2f}s")
        walk_cache = median([float(run(WALK, str(cache))[0]) for _ in range(RUNS)])
        ours = median([float(run(SCAN, str(cache), str(registry), "hf", str(MODELS))[0]) for _ in range(RUNS)])
        theirs = median([float(run(SCAN_CACHE_DIR, str(cache))[0]) for _ in range(RUNS)])
        print(f"HF cache: os.walk {walk_cache:.2f}s, scan_cache_dir {theirs:.2f}s ({theirs / walk_cache:.1f}x walk), "
              f"our ingest {ours:.2f}s ({ours / walk_cache:.1f}x walk)")
        print(f"ingest / scan_cache_dir: {ours / theirs:.2f}x (issue 16: <= 0.5x, i.e. at least 2x faster)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
