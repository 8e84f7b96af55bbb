"""Hashing throughput of ``verify --hash`` against ``sha256sum`` and ``openssl dgst -sha256`` on
the same files in the same run, and the second (cached) run.

Targets: one large file at least 0.9x openssl's throughput; several files at least 1.6x that on
two cores; the cached run under 1% of the first. Sizes: BENCH_GIB (default 2) in total.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from imageworks_core.cachedir import cache_path
from measure import spread, timed

GIB = float(os.environ.get("BENCH_GIB", "2"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def write_file(path: Path, size: int) -> None:
    block = os.urandom(8 << 20)
    with open(path, "wb") as handle:
        left = size
        while left:
            piece = block[: min(len(block), left)]
            handle.write(piece)
            left -= len(piece)


def in_process(configs: Path) -> float:
    from imageworks_core.maintenance import verify
    from imageworks_core.session import Session

    session = Session.open(configs)
    session.plugins  # load providers before timing: start-up is measured separately
    start = time.perf_counter()
    results = verify(session, content_hash=True)
    elapsed = time.perf_counter() - start
    assert all(r.ok for r in results), results
    return elapsed


def startup(exe: str, root: Path) -> float:
    env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(root / "empty"), "IMAGEWORKS_LOG_DIR": str(root / "logs"),
           "IMAGEWORKS_CACHE_DIR": str(root / "cache")}
    return statistics.median(timed([exe, "list", "--json"], env) for _ in range(3))


def registry_for(root: Path, folder: Path, files: list[str]) -> Path:
    configs = root / f"configs-{folder.name}"
    configs.mkdir()
    (configs / "model_registry.discovered.json").write_text(json.dumps({"schema_version": 1, "models": [
        {"name": f"bench-{folder.name}", "download_path": str(folder), "download_files": files}]}))
    return configs


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="iw-bench-verify-", dir=os.environ.get("BENCH_DIR")))
    os.environ["IMAGEWORKS_CACHE_DIR"] = str(root / "cache")  # the hash cache, outside the home
    try:
        total = int(GIB * (1 << 30))
        one = root / "one"
        many = root / "many"
        one.mkdir()
        many.mkdir()
        write_file(one / "big.safetensors", total // 2)
        for i in range(4):
            write_file(many / f"shard-{i}.safetensors", total // 8)
        exe = shutil.which("imageworks-download") or "imageworks-download"
        print(f"files: one of {total // 2 >> 20} MiB; four of {total // 8 >> 20} MiB; {RUNS} runs, medians (page cache warm)")
        for label, folder in (("one large file", one), ("four files", many)):
            files = sorted(p.name for p in folder.iterdir())
            paths = [str(folder / f) for f in files]
            size = sum(os.path.getsize(p) for p in paths)
            timed(["cat", *paths])  # warm the page cache: every tool reads from memory
            sha = statistics.median(timed(["sha256sum", *paths]) for _ in range(RUNS))
            ossl = statistics.median(timed(["openssl", "dgst", "-sha256", *paths]) for _ in range(RUNS))
            configs = registry_for(root, folder, files)
            ours = []
            for _ in range(RUNS):
                cache_path(configs, "content-hashes.json").unlink(missing_ok=True)
                ours.append(in_process(configs))
            first = statistics.median(ours)
            cached = statistics.median(in_process(configs) for _ in range(RUNS))
            # Black-box, as a person runs it: the whole command, interpreter start-up included,
            # against the whole openssl process, interleaved run by run.
            env = {**os.environ, "IMAGEWORKS_REGISTRY_DIR": str(configs), "IMAGEWORKS_LOG_DIR": str(root / "logs")}
            whole, ratios = [], []
            for _ in range(RUNS):
                cache_path(configs, "content-hashes.json").unlink(missing_ok=True)
                ours_whole = timed([exe, "verify", "--hash"], env)
                theirs = timed(["openssl", "dgst", "-sha256", *paths])
                whole.append(ours_whole)
                ratios.append(theirs / ours_whole)
            mbps = lambda t: size / t / (1 << 20)  # noqa: E731
            print(f"{label}: sha256sum {mbps(sha):.0f} MiB/s, openssl {mbps(ossl):.0f} MiB/s, "
                  f"verify --hash {mbps(first):.0f} MiB/s = {ossl / first:.2f}x openssl, {sha / first:.2f}x sha256sum; "
                  f"cached run {cached * 1000:.1f} ms = {cached / first * 100:.2f}% of the first")
            print(f"{label}, whole command vs whole openssl process: median {spread(ratios, unit='x')}; "
                  f"ours {spread(whole)}")
        print(f"(verify timed in-process, without interpreter start-up: {startup(exe, root) * 1000:.0f} ms here)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
