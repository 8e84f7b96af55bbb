"""Download speed over HTTPS (what users get from the Hub) and plain HTTP (a LAN mirror), on the
loopback fake hub; whole processes, each row's contenders interleaved run by run.

Repos: one file of BENCH_MIB (default 1024) MiB, and 10 shards of the same total. Each row is
one transport (https: the hub's throwaway CA trusted through REQUESTS_CA_BUNDLE, SSL_CERT_FILE
and CURL_CA_BUNDLE only, as a company CA is; http), one repo, throttled to 25 MB/s per
connection or not. Contenders: ``snapshot_download`` (the anchor: every ratio is its median
over the contender's, measured in the same row), ours (the default downloader), ours through
requests instead of the socket client (what the socket client gains), ``--aria2``,
``hf_transfer`` driven as huggingface_hub 0.x drove it (the repo's info, a HEAD per file, then
hf_transfer on the redirect target: the whole command a user ran), the same transfers alone
given the resolved URLs (``hf_transfer_only``: no metadata, no start-up), and one ``curl``
stream (the files one after the other on one connection: the machine's limit for one stream,
checking no hash). Then a resume (ours SIGKILLed once the hub has served half the file, run
again; the bytes served in all) and start-up (a whole ``download`` of a 1 MiB repo against
``hf download`` of it into a folder).

Knobs: BENCH_MIB, BENCH_RUNS (3), BENCH_TRANSPORTS (``https,http``), BENCH_TOOLS (any of
``ours,requests,aria2,hf_transfer,hf_transfer_only,curl``; snapshot_download always runs),
BENCH_ROWS (e.g. ``single``, ``unthrottled``), BENCH_DIR (where files are written; the same disk
for every contender; default the temporary folder's disk, as a user's downloads are).
Small and quick: ``BENCH_MIB=128 BENCH_RUNS=1 uv run python bench/download.py``.
Targets (issue 24), over HTTPS: ours not slower than hf_transfer on any row, >= 10x
snapshot_download throttled, >= 1.5x unthrottled, >= 0.8x one curl stream; resume <= 1.05x.
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

from measure import spread

MIB = int(os.environ.get("BENCH_MIB", "1024"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TRANSPORTS = [t for t in os.environ.get("BENCH_TRANSPORTS", "https,http").split(",") if t]
TOOLS = set(filter(None, os.environ.get("BENCH_TOOLS", "").split(",")))
ROWS = set(filter(None, os.environ.get("BENCH_ROWS", "").split(",")))  # single, sharded, throttled, unthrottled, resume, startup
THROTTLE = 25_000_000
ANCHOR = "snapshot_download"

SNAPSHOT = """
import os
from huggingface_hub import snapshot_download
snapshot_download(os.environ["BENCH_REPO"], local_dir=os.environ["BENCH_OUT"])
"""

OURS = """
import os, sys
if os.environ.get("BENCH_REQUESTS"):  # every body through requests: what the socket client gains
    from imageworks_hf.socket_http import SocketHttp
    SocketHttp.handles = lambda self, url: False
from imageworks_core.kit import run_main
# The installed script's path: its error boundary, its garbage-collection policy and its fast
# exit (python -c with cli.main would time an interpreter teardown no user waits for).
sys.argv = ["imageworks-download", "download", os.environ["BENCH_REPO"], "-y", "--location", os.environ["BENCH_OUT"],
            *os.environ.get("BENCH_ARGS", "--force").split()]
run_main("imageworks-download")
"""

HF_TRANSFER = """
import os
from concurrent.futures import ThreadPoolExecutor
from hf_transfer import download
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
# As huggingface_hub 0.x's snapshot_download drove it (HF_HUB_ENABLE_HF_TRANSFER=1): the repo's
# info, then 8 files at a time, each a HEAD for its metadata and hf_transfer on the URL it
# redirects to, 10 MiB chunks, 100 at once, into a temporary name renamed when done.
repo, out = os.environ["BENCH_REPO"], os.environ["BENCH_OUT"]
info = HfApi().repo_info(repo)
def fetch(name):
    meta = get_hf_file_metadata(hf_hub_url(repo, name, revision=info.sha))
    target = os.path.join(out, name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    download(meta.location, target + ".incomplete", max_files=100, chunk_size=10 * 1024 * 1024,
             parallel_failures=3, max_retries=5)
    os.replace(target + ".incomplete", target)
with ThreadPoolExecutor(8) as pool:
    list(pool.map(fetch, [s.rfilename for s in info.siblings]))
"""

HF_TRANSFER_ONLY = """
import os, sys
from hf_transfer import download
out = os.environ["BENCH_OUT"]
os.makedirs(out, exist_ok=True)
for url in sys.argv[1:]:  # the transfers alone: the resolved URLs given, no metadata round trips
    download(url, os.path.join(out, url.rsplit("/", 1)[-1]), max_files=100, chunk_size=10 * 1024 * 1024,
             parallel_failures=3, max_retries=5)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """One whole run's seconds. A run that fails is said (with its last words) and run again,
    once: a contender's failure is a finding, not a reason to lose the row."""
    for attempt in (1, 2):
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        took = time.perf_counter() - start
        if done.returncode == 0:
            return took
        last = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        print(f"    a run failed (exit {done.returncode}, attempt {attempt}): {last[:300]}", flush=True)
    raise SystemExit("the same run failed twice: stopping")


def python(code: str, env: dict[str, str], *args: str) -> float:
    return timed([sys.executable, "-c", code, *args], env)


def wanted(name: str, group: set[str]) -> bool:
    """BENCH_ROWS empty: every row. Else a row runs when BENCH_ROWS names some of its group
    (repos and throttling make the grid; resume and startup are rows of their own) and, where
    it names any in a dimension, this one."""
    if not ROWS:
        return True
    grid = {"single", "sharded", "throttled", "unthrottled"}
    if group <= grid:
        return bool(ROWS & grid) and (not ROWS & group or name in ROWS)
    return name in ROWS


def cdn_urls(hub, repo_id: str) -> list[str]:
    repo = hub.repos[repo_id]
    return [f"{hub.url}/cdn/{repo_id}/{repo.commit}/{path}" for path in repo.files]


def contenders(hub, repo_id: str, env: dict[str, str], out: Path) -> dict:
    run_env = {**env, "BENCH_REPO": repo_id, "BENCH_OUT": str(out)}
    urls = cdn_urls(hub, repo_id)
    curl = ["curl", "-sS", "--fail"]
    for url in urls:  # one process, one connection, the files one after the other
        curl += ["-o", str(out / url.rsplit("/", 1)[-1]), url]
    runners = {
        ANCHOR: lambda: python(SNAPSHOT, run_env),
        "ours": lambda: python(OURS, run_env),
        "ours via requests": lambda: python(OURS, {**run_env, "BENCH_REQUESTS": "1"}),
        "ours --aria2": lambda: python(OURS, {**run_env, "BENCH_ARGS": "--force --aria2"}),
        "hf_transfer": lambda: python(HF_TRANSFER, run_env),
        "hf_transfer transfers only": lambda: python(HF_TRANSFER_ONLY, run_env, *urls),
        "curl": lambda: out.mkdir(parents=True, exist_ok=True) or timed(curl, run_env),
    }
    keys = {"ours via requests": "requests", "ours --aria2": "aria2",  # BENCH_TOOLS names
            "hf_transfer transfers only": "hf_transfer_only"}
    return {k: v for k, v in runners.items() if k == ANCHOR or not TOOLS or keys.get(k, k) in TOOLS}


def row(label: str, runners: dict, out: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(RUNS):
        for name, runner in runners.items():
            shutil.rmtree(out, ignore_errors=True)
            times[name].append(runner())
    shutil.rmtree(out, ignore_errors=True)
    anchor = statistics.median(times[ANCHOR])
    cells = [f"{name} {spread(t)}" + ("" if name == ANCHOR else f" = {anchor / statistics.median(t):.2f}x")
             for name, t in times.items()]
    print(f"{label}: " + " | ".join(cells), flush=True)
    ours = statistics.median(times["ours"]) if "ours" in times else None
    for peer in ("hf_transfer", "hf_transfer transfers only", "curl", "ours via requests"):
        if ours and peer in times:
            print(f"    ours / {peer} speed: {statistics.median(times[peer]) / ours:.2f}", flush=True)
    return times


def resume(hub, env: dict[str, str], out: Path, size: int, transport: str) -> None:
    """SIGKILL ours once the hub has served half the file, run the same command again, and count
    the bytes served in all: what a kill costs is what sat in the connections at that instant."""
    served, refetched = [], []
    for _ in range(RUNS):
        hub.faults.throttle_bps = THROTTLE
        shutil.rmtree(out, ignore_errors=True)
        hub.served.clear()
        run_env = {**env, "BENCH_REPO": "bench/single", "BENCH_OUT": str(out), "BENCH_ARGS": ""}
        proc = subprocess.Popen([sys.executable, "-c", OURS], env=run_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while hub.served.get("model.safetensors", 0) < size // 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        first = hub.served.get("model.safetensors", 0)
        hub.faults.throttle_bps = None
        python(OURS, run_env)
        again = hub.served["model.safetensors"] - first
        served.append((first + again) / size)
        refetched.append(again / size)
    shutil.rmtree(out, ignore_errors=True)
    print(f"{transport} resume after a SIGKILL at half served, {RUNS} rounds: the re-run fetched "
          f"{spread(refetched, unit='x', digits=3)} of the file; served in all {spread(served, unit='x', digits=3)} "
          f"(target <= 1.05)", flush=True)


def startup(hub, env: dict[str, str], root: Path, transport: str) -> None:
    """A whole `download` of a 1 MiB repo against `hf download` of it into a folder, interleaved."""
    hf = shutil.which("hf", path=str(Path(sys.executable).parent)) or "hf"
    ours_out, hf_out = root / "tiny-ours", root / "tiny-hf"
    tiny = {**env, "BENCH_REPO": "bench/tiny", "BENCH_OUT": str(ours_out)}
    ours, theirs = [], []
    for _ in range(max(RUNS, 5)):
        shutil.rmtree(ours_out, ignore_errors=True)
        ours.append(python(OURS, tiny))
        shutil.rmtree(hf_out, ignore_errors=True)
        theirs.append(timed([hf, "download", "bench/tiny", "--local-dir", str(hf_out)], env))
    print(f"{transport} start-up, a 1 MiB repo, whole commands interleaved: download {spread(ours)} | "
          f"hf download --local-dir {spread(theirs)} | ratio {statistics.median(ours) / statistics.median(theirs):.2f} "
          f"(target <= 1)", flush=True)


def main() -> None:
    from imageworks_testing.fakehub import FakeHub, big_file

    root = Path(tempfile.mkdtemp(prefix="iw-bench-dl-", dir=os.environ.get("BENCH_DIR")))
    size = MIB << 20
    files = {"single": {"model.safetensors": big_file(root / "single.bin", size), "config.json": b"{}"},
             "sharded": {**{f"model-{i + 1:05d}-of-00010.safetensors": big_file(root / f"shard{i}.bin", size // 10)
                            for i in range(10)}, "config.json": b"{}"},
             "tiny": {"model.safetensors": big_file(root / "tiny.bin", 1 << 20), "config.json": b"{}"}}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measure installed tools, with .pyc caches
    print(f"repos: 1 x {MIB} MiB and 10 x {MIB // 10} MiB; {RUNS} runs of each, interleaved; whole-process "
          f"times, median (min, max); each ratio is {ANCHOR}'s median over the contender's, same row. "
          f"Files written under {root}. Noisy on a shared machine: compare ratios, not seconds.", flush=True)
    try:
        for transport in TRANSPORTS:
            hub = FakeHub(tls=transport == "https").start()
            try:
                for name, content in files.items():
                    hub.add_repo(f"bench/{name}", content)
                env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1",
                       "HF_HUB_ENABLE_HF_TRANSFER": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                       "HF_HOME": str(root / "hf_home"), "IMAGEWORKS_REGISTRY_DIR": str(root / "configs"),
                       "IMAGEWORKS_LOG_DIR": str(root / "logs")}
                if hub.tls:
                    env.update(hub.ca_environ())  # trusted the way a company CA is: the environment only
                out = root / "out"
                for throttled in (True, False):
                    if not wanted("throttled" if throttled else "unthrottled", {"throttled", "unthrottled"}):
                        continue
                    hub.faults.throttle_bps = THROTTLE if throttled else None
                    for repo in ("single", "sharded"):
                        if wanted(repo, {"single", "sharded"}):
                            label = f"{transport} {repo} {'throttled 25 MB/s/conn' if throttled else 'unthrottled'}"
                            row(label, contenders(hub, f"bench/{repo}", env, out), out)
                hub.faults.throttle_bps = None
                if wanted("resume", {"resume"}):
                    resume(hub, env, out, size, transport)
                if wanted("startup", {"startup"}) and transport == TRANSPORTS[0]:
                    startup(hub, env, root, transport)
            finally:
                hub.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
