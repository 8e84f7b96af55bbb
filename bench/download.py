"""Download speed against huggingface_hub.snapshot_download (xet off), on a loopback fake hub.

Repos: one single-file repo of BENCH_MIB (default 1024) MiB, and a 10-shard repo of the same
total. Each is fetched throttled to 25 MB/s per connection and unthrottled, by
snapshot_download, by us with aria2c, and by us with the Python downloader. Then a resume: the
Python path interrupted at 50% and re-run, counting the bytes served again.
BENCH_RUNS (default 3) runs of each; medians. Targets: aria2c >= 12x throttled and >= 2x unthrottled; Python >= 4x throttled; resume
re-transfers <= 55% of the file.
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

MIB = int(os.environ.get("BENCH_MIB", "1024"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
THROTTLE = 25_000_000


def timed_run(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


SNAPSHOT = """
import os
from huggingface_hub import snapshot_download
snapshot_download(os.environ["BENCH_REPO"], local_dir=os.environ["BENCH_OUT"])
"""

OURS = """
import os, sys
from imageworks_core.cli.download_program import cli
args = ["download", os.environ["BENCH_REPO"], "-y", "--force", "--location", os.environ["BENCH_OUT"]]
if os.environ.get("BENCH_NO_ARIA2"):
    args.append("--no-aria2")
cli.main(args, standalone_mode=True)
"""


HF_TRANSFER = """
import os, sys
from hf_transfer import download
out = os.environ["BENCH_OUT"]
os.makedirs(out, exist_ok=True)
for url in sys.argv[1:]:
    # As huggingface_hub drove it: the resolved (redirected) URL, 10 MiB chunks, 100 files at once.
    download(url, os.path.join(out, url.rsplit("/", 1)[-1]), max_files=100, chunk_size=10 * 1024 * 1024,
             parallel_failures=3, max_retries=5)
"""


def hf_transfer_run(hub, repo_id: str, out: Path, env: dict[str, str]) -> float:
    """What a user who wants speed picks today: the Rust downloader, no hash check."""
    shutil.rmtree(out, ignore_errors=True)
    repo = hub.repos[repo_id]
    urls = [f"{hub.url}/cdn/{repo_id}/{repo.commit}/{path}" for path in repo.files]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", HF_TRANSFER, *urls], env={**env, "BENCH_OUT": str(out)}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def raw_aria2c(hub, repo_id: str, out: Path) -> float:
    """The ceiling: aria2c alone on the same files (16 connections, 4 files at once)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    repo = hub.repos[repo_id]
    lines = "".join(f"{hub.url}/cdn/{repo_id}/{repo.commit}/{path}\n  out={path}\n" for path in repo.files)
    start = time.perf_counter()
    subprocess.run(["aria2c", "-i", "-", "-d", str(out), "-x16", "-s16", "-k1M", "-j4", "--file-allocation=none",
                    "--console-log-level=error", "--summary-interval=0", "--download-result=hide"],
                   input=lines, text=True, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def main() -> None:
    from imageworks_testing.fakehub import FakeHub, big_file

    root = Path(tempfile.mkdtemp(prefix="iw-bench-dl-", dir=os.environ.get("BENCH_DIR")))
    hub = FakeHub().start()
    try:
        size = MIB << 20
        single = big_file(root / "single.bin", size)
        shards = {f"model-{i + 1:05d}-of-00010.safetensors": big_file(root / f"shard{i}.bin", size // 10, seed=0)
                  for i in range(10)}
        hub.add_repo("bench/single", {"model.safetensors": single, "config.json": b"{}"})
        hub.add_repo("bench/sharded", {**shards, "config.json": b"{}"})
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measure installed tools, with .pyc caches
        base = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_ENABLE_HF_TRANSFER": "0",
                "HF_HOME": str(root / "hf_home"), "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"),
                "IMAGEWORKS_LOG_DIR": str(root / "logs"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        print(f"repos: 1 x {MIB} MiB and 10 x {MIB // 10} MiB; median of {RUNS} runs each (whole-process times)")
        for throttled in (True, False):
            hub.faults.throttle_bps = THROTTLE if throttled else None
            for repo in ("bench/single", "bench/sharded"):
                out = root / "out"
                times = {}
                for label, code, extra in (("snapshot_download", SNAPSHOT, {}), ("aria2c", OURS, {}),
                                           ("python", OURS, {"BENCH_NO_ARIA2": "1"})):
                    runs = []
                    for _ in range(RUNS):
                        shutil.rmtree(out, ignore_errors=True)
                        runs.append(timed_run(code, {**base, **extra, "BENCH_REPO": repo, "BENCH_OUT": str(out)}))
                    times[label] = statistics.median(runs)
                raw = statistics.median(raw_aria2c(hub, repo, root / "raw") for _ in range(RUNS))
                rust = statistics.median(hf_transfer_run(hub, repo, root / "rust", base) for _ in range(RUNS))
                tag = "throttled 25 MB/s/conn" if throttled else "unthrottled"
                print(f"{repo:14} {tag:22} snapshot_download {times['snapshot_download']:6.1f}s | "
                      f"aria2c {times['aria2c']:6.1f}s = {times['snapshot_download'] / times['aria2c']:5.1f}x | "
                      f"python {times['python']:6.1f}s = {times['snapshot_download'] / times['python']:5.1f}x | "
                      f"bare aria2c -x16 (the tool alone, no checks) {raw:6.1f}s = {times['snapshot_download'] / raw:5.1f}x | "
                      f"hf_transfer {rust:6.1f}s = {times['snapshot_download'] / rust:5.1f}x "
                      f"(ours/hf_transfer: aria2c {rust / times['aria2c']:.2f}, python {rust / times['python']:.2f})")
        # resume: interrupt the Python path at 50% and run again
        hub.faults.throttle_bps = THROTTLE
        out = root / "out"
        shutil.rmtree(out, ignore_errors=True)
        hub.served.clear()
        env = {**base, "BENCH_REPO": "bench/single", "BENCH_OUT": str(out), "BENCH_NO_ARIA2": "1"}
        code = OURS.replace('"--force", ', "")
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while hub.served.get("model.safetensors", 0) < size // 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        first = hub.served.get("model.safetensors", 0)
        hub.faults.throttle_bps = None
        timed_run(code, env)
        again = hub.served["model.safetensors"] - first
        print(f"resume after a kill at {first / size:.0%}: re-transferred {again / size:.1%} of the file (target <= 55%)")
    finally:
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
