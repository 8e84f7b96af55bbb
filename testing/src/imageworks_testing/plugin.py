"""The pytest plugin (entry point ``pytest11``) for the core's, the providers' and third-party
providers' tests: an isolated home, registry, cache and log dir (``sandbox``), helpers to run
the CLI in-process (``cli``) or as a process (``run_process``), and the loopback fake hub
(``hub``, the one fixture every suite shares)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest


@attrs.frozen
class Sandbox:
    root: Path
    home: Path
    registry_dir: Path
    log_dir: Path
    sentinel: Path

    @property
    def log_file(self) -> Path:
        return self.log_dir / "model_downloader.log"

    def layer(self, kind: str) -> Path:
        return self.registry_dir / f"model_registry.{kind}.json"

    def write_layer(self, kind: str, models: list[dict[str, Any]] | Any) -> Path:
        path = self.layer(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"schema_version": 1, "models": models} if isinstance(models, list) else models
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return path

    def read_layer(self, kind: str) -> list[dict[str, Any]]:
        path = self.layer(kind)
        if not path.exists():
            return []
        doc = json.loads(path.read_text(encoding="utf-8"))
        return doc["models"] if isinstance(doc, dict) else doc

    def log_records(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Everything a command touches lives under tmp_path; a sentinel outside every root."""
    home = tmp_path / "home"
    home.mkdir()
    registry_dir = tmp_path / "configs"
    log_dir = tmp_path / "logs"
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("must survive\n")
    for key in list(os.environ):
        if key.startswith(("IMAGEWORKS_", "HF_", "HUGGING_FACE", "OLLAMA_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    for xdg in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(xdg, raising=False)
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(registry_dir))
    monkeypatch.setenv("IMAGEWORKS_LOG_DIR", str(log_dir))
    monkeypatch.setenv("IMAGEWORKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    monkeypatch.chdir(tmp_path)
    return Sandbox(tmp_path, home, registry_dir, log_dir, sentinel)


@attrs.frozen
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _program(name: str):
    from imageworks_core.kit import program

    return program(name)


def run_cli(*args: str, program: str = "imageworks-download", input: str | None = None) -> Result:
    """Run a command in-process (fast; the same code path as the installed script)."""
    from click.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(_program(program), list(args), input=input, catch_exceptions=False,
                           prog_name=program)
    return Result(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, program: str = "imageworks-download", env: dict[str, str] | None = None,
                timeout: float = 120, input: str | None = None) -> Result:
    """Run a command as a separate process, as a person would."""
    code = f"from imageworks_core.kit import run_main; run_main({program!r})"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, input=input if input is not None else "",
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


# The token the fake hub's gated and private repos accept: a canary that must never show up in
# output, logs or files.
HUB_TOKEN = "hf_CANARY_5f3a9c1e7d2b4a60"


def _serve_hub(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, tls: bool):
    from huggingface_hub import constants

    from .fakehub import FakeHub

    server = FakeHub(token=HUB_TOKEN, tls=tls).start()
    cache = str(sandbox.root / "hf_home" / "hub")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    if tls:
        for name, value in server.ca_environ().items():
            monkeypatch.setenv(name, value)
    return server


@pytest.fixture
def hub(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch):
    """The loopback fake hub (``fakehub.FakeHub``), started for the test and stopped after it,
    with ``HF_ENDPOINT`` and huggingface_hub pointed at it and the hub cache inside the sandbox.
    Gated and private repos need ``HUB_TOKEN``."""
    server = _serve_hub(sandbox, monkeypatch, tls=False)
    yield server
    server.stop()


@pytest.fixture
def tls_hub(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch):
    """The same hub over HTTPS (``FakeHub(tls=True)``), trusted the way a company CA is set up:
    through the environment only (REQUESTS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE all name
    its throwaway CA)."""
    server = _serve_hub(sandbox, monkeypatch, tls=True)
    yield server
    server.stop()
