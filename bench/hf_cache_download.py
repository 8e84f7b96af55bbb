"""`download --location hf_cache` against the same download into a weights folder.

The 1 GiB bench repo (BENCH_MIB, default 1024 MiB, in one safetensors file plus config.json) on
the loopback fake hub, fetched by the whole command with the built-in downloader, `--force`
each run; runs interleaved. Target: the cache layout within 5% of the plain folder (the extra
work is a rename into blobs/, a symbolic link and a 40-byte ref). Medians of BENCH_RUNS (3).
"""

from __future__ import annotations

import os
import statistics
import sys

from measure import scratch_hub, spread, timed

MIB = int(os.environ.get("BENCH_MIB", "1024"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def main() -> None:
    from imageworks_testing.fakehub import big_file

    with scratch_hub("iw-bench-hfcache-") as (root, hub):
        hub.faults.redirect = False
        hub.add_repo("bench/single", {"model.safetensors": big_file(root / "single.bin", MIB << 20),
                                      "config.json": b'{"torch_dtype": "bfloat16"}'})
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HOME": str(root),
               "HF_HOME": str(root / "hf_home"), "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"),
               "IMAGEWORKS_LOG_DIR": str(root / "logs"), "IMAGEWORKS_CACHE_DIR": str(root / "cache"),
               "IMAGEWORKS_MODEL_ROOT": str(root / "models")}
        for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "LLAMA_CACHE"):
            env.pop(key, None)
        program = [sys.executable, "-c", "from imageworks_core.cli.download_program import main; main()"]
        base = [*program, "download", "bench/single", "-y", "--force", "--no-aria2"]
        folder, cache = [], []
        for _ in range(RUNS):
            folder.append(timed([*base, "--location", str(root / "weights")], env))
            cache.append(timed([*base, "--location", "hf_cache"], env))
        blob_dir = root / "hf_home" / "hub" / "models--bench--single" / "blobs"
        assert blob_dir.is_dir() and any(blob_dir.iterdir()), "nothing was placed in the cache"
        plain, placed = statistics.median(folder), statistics.median(cache)
        print(f"{MIB} MiB repo, medians of {RUNS} whole commands (noisy when the machine is busy)")
        print(f"download into a weights folder: {spread(folder)}")
        print(f"download --location hf_cache: {spread(cache)} = {placed / plain:.3f}x the folder (target <= 1.05x)")


if __name__ == "__main__":
    main()
