"""Installed like a tool: the workspace's wheels, built now, installed with ``uv tool install`` into
a fresh environment in tmp_path, put the three programs on PATH, and they work from a folder
outside the checkout with every provider loaded.

Offline: the third-party dependencies come from uv's cache at the versions of ``uv.lock``.
``.ci/fill-uv-cache`` (run by ``.ci/run``) resolves those pins once beforehand: ``uv sync``
installs from the lock without caching the metadata a resolution reads. Runs in the workspace venv only (``.ci/minimal-install``
runs ``tests/install`` in a core + hf venv, which has no ``imageworks`` distribution to build from)."""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ("imageworks-download", "imageworks-loader", "imageworks-gui")
PROVIDERS = {"hf", "ollama", "lmstudio", "local_scan"}
STEP_TIMEOUT_S = 120

try:
    importlib.metadata.distribution("imageworks-ollama")
except importlib.metadata.PackageNotFoundError:
    pytestmark = pytest.mark.skip(reason="a core + hf venv (.ci/minimal-install): the workspace venv runs this")
else:
    pytestmark = pytest.mark.skipif(shutil.which("uv") is None or not (ROOT / "imageworks" / "pyproject.toml").is_file(),
                                    reason="needs uv and the workspace checkout")


def _uv(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["uv", *args], capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                          env=env, cwd=cwd or ROOT)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> tuple[Path, Path, str]:
    """The workspace's wheels, the lock's pins as constraints, and uv's cache folder (resolved
    here, before a test's sandbox moves HOME)."""
    out = tmp_path_factory.mktemp("wheels")
    built = _uv("build", "--all-packages", "--wheel", "--offline", "-q", "-o", str(out))
    assert built.returncode == 0, built.stderr
    constraints = out / "constraints.txt"
    exported = _uv("export", "--frozen", "--package", "imageworks", "--no-emit-workspace", "--no-dev",
                   "--no-hashes", "-q", "-o", str(constraints))
    assert exported.returncode == 0, exported.stderr
    cache = _uv("cache", "dir").stdout.strip()
    return out, constraints, cache


def test_uv_tool_install_puts_the_three_programs_on_path(wheelhouse, sandbox, tmp_path):
    wheels, constraints, uv_cache = wheelhouse
    tool_dir, bin_dir, outside = tmp_path / "tools", tmp_path / "bin", tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")}
    env.update(UV_CACHE_DIR=uv_cache, UV_TOOL_DIR=str(tool_dir), UV_TOOL_BIN_DIR=str(bin_dir),
               PATH=os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]))
    # The interpreter this suite runs on (not a download): the tool gets its own venv from it.
    installed = _uv("tool", "install", "--offline", "--python", sys.executable, "--find-links", str(wheels),
                    "-c", str(constraints), "imageworks", env={**env, "PATH": os.environ["PATH"]}, cwd=outside)
    assert installed.returncode == 0, (
        "uv tool install failed offline. If uv's cache lacks a dependency at the locked version, fill it once "
        "with network access: bash .ci/fill-uv-cache (.ci/run does).\n"
        + installed.stderr)
    for program in PROGRAMS:
        assert (bin_dir / program).exists(), f"{program} not installed; uv said:\n{installed.stderr}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=STEP_TIMEOUT_S, env=env, cwd=outside)

    for program in ("imageworks-download", "imageworks-loader"):
        version = run(program, "--version")
        assert version.returncode == 0 and f"{program}, version" in version.stdout, version.stderr
    gui = run("imageworks-gui", "--help")
    assert gui.returncode == 0 and "--port" in gui.stdout, gui.stdout + gui.stderr

    plugins = run("imageworks-download", "plugins", "--json")
    assert plugins.returncode == 0, plugins.stderr
    loaded = json.loads(plugins.stdout)
    assert {p["name"] for p in loaded} == PROVIDERS
    # The code runs from the tool's own environment, not from this checkout, and the GUI's
    # Streamlit came along (its --help above does not import it).
    where = run(str(tool_dir / "imageworks" / "bin" / "python"), "-c",
                "import importlib.util as u, imageworks_core, imageworks_hf; "
                "print(imageworks_core.__file__, imageworks_hf.__file__, u.find_spec('streamlit').origin)")
    assert where.returncode == 0 and str(ROOT) not in where.stdout and str(tool_dir) in where.stdout, where
    # Shell completion as the README documents it (click's own), providers' commands included.
    script = subprocess.run(["imageworks-download"], capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                            env={**env, "_IMAGEWORKS_DOWNLOAD_COMPLETE": "bash_source"}, cwd=outside)
    assert "complete -o nosort -F _imageworks_download_completion imageworks-download" in script.stdout, script
    words = subprocess.run(["imageworks-loader"], capture_output=True, text=True, timeout=STEP_TIMEOUT_S, cwd=outside,
                           env={**env, "_IMAGEWORKS_LOADER_COMPLETE": "bash_complete",
                                "COMP_WORDS": "imageworks-loader in", "COMP_CWORD": "1"})
    assert words.stdout.split() == ["plain,ingest-local-hf"], words
    listed = run("imageworks-download", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
    assert not (outside / "configs").exists() and os.listdir(outside) == []
