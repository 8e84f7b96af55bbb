"""Whole commands, as a user runs them: ``scan`` and ``ingest-local-hf``, each a fresh process
(interpreter, providers, discovery, the registry write of every new entry, the report).

- ``scan --base`` of N model folders (half GGUF, half safetensors) against an ``os.walk`` +
  ``lstat`` process over the same tree: a first scan (new registry, no scan cache) and a re-scan
  (the same registry and cache, nothing new). Goal (issue 24): first scan < 3x the walk.
- ``ingest-local-hf --root`` of a Hugging Face cache of N repos, laid out as huggingface_hub
  lays it out (``blobs/`` named by sha1 or sha256, ``refs/main``, relative snapshot links),
  against a process running ``huggingface_hub.scan_cache_dir()`` on it. Goal: ours >= 2x faster.

Each row runs interleaved with its anchor, run by run (this machine's speed drifts over
minutes), and prints median, min and max of the times and of the run-by-run ratios, plus peak
memory. ``BENCH_MODELS`` (default 10000) and ``BENCH_RUNS`` (default 5) make it small:
``BENCH_MODELS=500 BENCH_RUNS=2 uv run python bench/scan.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import spread

MODELS = int(os.environ.get("BENCH_MODELS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
EXE = shutil.which("imageworks-download") or "imageworks-download"
LOADER = shutil.which("imageworks-loader") or "imageworks-loader"


def build_tree(root: Path) -> None:
    """``org<k>/model-<i>``: odd ones a loose GGUF quant, even ones a safetensors model folder."""
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


def build_hf_cache(root: Path) -> None:
    """``models--org--name`` repos as huggingface_hub writes them: each file's content once in
    ``blobs/`` (named by its git sha1, or sha256 for LFS files such as weights), the commit in
    ``refs/main``, and ``snapshots/<commit>/<file>`` a relative link to its blob."""
    weights = b"\x08" + b"\0" * 7 + b"{}      "  # a valid, empty safetensors file
    for i in range(MODELS):
        repo = root / f"models--org{i % 100}--model-{i}"
        commit = hashlib.sha1(f"commit {i}".encode()).hexdigest()
        snapshot = repo / "snapshots" / commit
        (repo / "blobs").mkdir(parents=True)
        (repo / "refs").mkdir()
        snapshot.mkdir(parents=True)
        (repo / "refs" / "main").write_text(commit)
        files = {"config.json": (f'{{"torch_dtype": "float16", "model": {i}}}'.encode(), False),
                 "generation_config.json": (b'{"do_sample": true}', False),
                 "model.safetensors": (weights + str(i).encode().ljust(8), True)}
        for name, (data, lfs) in files.items():
            blob_name = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            (repo / "blobs" / blob_name).write_bytes(data)
            (snapshot / name).symlink_to(f"../../blobs/{blob_name}")


WALK = """
import os, sys
n = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files + dirs:
        os.lstat(os.path.join(folder, name)); n += 1
print(n)
"""

SCAN_CACHE_DIR = """
import sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(sys.argv[1])
print(len(info.repos), sum(len(r.revisions) for r in info.repos))
"""


def run(cmd: list[str], env: dict[str, str], out: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one whole process; its
    output to ``out`` (as a user's redirect would); a failure raises. The CPU time is the steadier
    figure on a loaded machine: a process waiting for a core loses wall time, not CPU time."""
    errors = out.with_suffix(".err")  # a file, not a pipe: a full pipe would stall the child
    with open(out, "wb") as sink, open(errors, "wb") as err_sink:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=err_sink)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own CPU time and peak RSS
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = errors.read_text(errors="replace")
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def report(label: str, row: tuple[list, list, list], anchor: tuple[list, list, list], anchor_label: str,
           goal: str) -> None:
    times, cpu, peaks = row
    ratios = [t / a for t, a in zip(times, anchor[0])]
    cpu_ratios = [t / a for t, a in zip(cpu, anchor[1])]
    print(f"{label}: {spread(times)}; run by run {spread(ratios, unit='x')} {anchor_label} ({goal}); "
          f"CPU {spread(cpu)} = {spread(cpu_ratios, unit='x')}; peak memory {max(peaks):.0f} MiB")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="iw-bench-scan-"))
    try:
        tree, cache, out = tmp / "tree", tmp / "hf-cache", tmp / "out.txt"
        tree.mkdir()
        cache.mkdir()
        started = time.perf_counter()
        build_tree(tree)
        build_hf_cache(cache)
        print(f"built {MODELS} model folders and a {MODELS}-repo Hugging Face cache in "
              f"{time.perf_counter() - started:.0f}s; {RUNS} runs of each, interleaved")
        base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: .pyc
        base_env.update(IMAGEWORKS_LOG_DIR=str(tmp / "logs"), HF_HOME=str(tmp / "hf-home"),
                        HF_HUB_DISABLE_TELEMETRY="1")

        def env_for(name: str) -> dict[str, str]:
            return {**base_env, "IMAGEWORKS_REGISTRY_DIR": str(tmp / name / "configs"),
                    "IMAGEWORKS_CACHE_DIR": str(tmp / name / "cache")}

        walk_cmd = [sys.executable, "-c", WALK, str(tree)]
        theirs_cmd = [sys.executable, "-c", SCAN_CACHE_DIR, str(cache)]
        # Warm-up: the trees into the page cache, .pyc files written.
        run(walk_cmd, base_env, out)
        run([EXE, "scan", "--base", str(tree), "--dry-run"], env_for("warm-up"), out)
        run(theirs_cmd, base_env, out)
        run([LOADER, "ingest-local-hf", "--root", str(cache), "--dry-run"], env_for("warm-up"), out)
        rows: dict[str, tuple[list[float], list[float], list[float]]] = {
            k: ([], [], []) for k in ("walk", "first", "rescan", "theirs", "ingest", "startup")}

        def record(key: str, result: tuple[float, float, float]) -> None:
            for series, value in zip(rows[key], result):
                series.append(value)

        (tmp / "nothing").mkdir()
        for i in range(RUNS):
            record("walk", run(walk_cmd, base_env, out))
            record("first", run([EXE, "scan", "--base", str(tree)], env_for(f"scan-{i}"), out))
            lines = out.read_text().count("\n")
            assert lines >= MODELS, f"scan reported {lines} lines for {MODELS} models"
            record("rescan", run([EXE, "scan", "--base", str(tree)], env_for(f"scan-{i}"), out))
            record("startup", run([EXE, "scan", "--base", str(tmp / "nothing")], env_for(f"empty-{i}"), out))
            record("theirs", run(theirs_cmd, base_env, out))
            record("ingest", run([LOADER, "ingest-local-hf", "--root", str(cache)], env_for(f"ingest-{i}"), out))
            lines = out.read_text().count("\n")
            assert lines >= MODELS, f"ingest-local-hf reported {lines} lines for {MODELS} repos"
        walk, theirs = rows["walk"], rows["theirs"]
        print(f"os.walk + lstat process: {spread(walk[0])}, CPU {spread(walk[1])}")
        report("scan, first (whole command)", rows["first"], walk, "os.walk", "goal < 3x")
        report("scan, re-scan (whole command)", rows["rescan"], walk, "os.walk", "no goal")
        print(f"  start-up (a scan of an empty folder): {spread(rows['startup'][0])}, CPU {spread(rows['startup'][1])}")
        print(f"scan_cache_dir() process: {spread(theirs[0])}, CPU {spread(theirs[1])}")
        report("ingest-local-hf (whole command)", rows["ingest"], theirs, "scan_cache_dir",
               "goal <= 0.5x, i.e. at least 2x faster")
        speedups = [t / o for t, o in zip(theirs[0], rows["ingest"][0])]
        cpu_speedups = [t / o for t, o in zip(theirs[1], rows["ingest"][1])]
        print(f"  ingest-local-hf is {spread(speedups, unit='x')} faster than scan_cache_dir() "
              f"(CPU: {spread(cpu_speedups, unit='x')})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
