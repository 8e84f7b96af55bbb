"""docs/registry.md §1: the registry never depends on the folder a command runs in; caches and logs
stay out of the registry directory."""

import os
from pathlib import Path

from imageworks_core.registry.store import CURATED
from imageworks_testing.plugin import run_process


def _user_env(sandbox) -> dict[str, str]:
    """A person's environment: no IMAGEWORKS_* pointing anywhere, only HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEWORKS_", "XDG_"))}
    env["HOME"] = str(sandbox.home)
    return env


def _run_in(folder: Path, *args: str, env: dict[str, str]):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return run_process(*args, env=env)
    finally:
        os.chdir(cwd)


def test_without_configs_above_the_registry_is_the_user_data_dir(sandbox, monkeypatch):
    downloads = sandbox.home / "Downloads"
    downloads.mkdir()
    env = _user_env(sandbox)
    for key in ("IMAGEWORKS_REGISTRY_DIR", "IMAGEWORKS_LOG_DIR", "IMAGEWORKS_CACHE_DIR"):
        monkeypatch.delenv(key)
    where = _run_in(downloads, "config", "path", env=env)
    assert where.exit_code == 0, where.stderr
    data_dir = sandbox.home / ".local" / "share" / "imageworks"
    assert f"registry_dir: {data_dir}" in where.stdout
    assert "the user data directory" in where.stdout and str(downloads) in where.stdout
    assert f"cache_dir: {sandbox.home / '.cache' / 'imageworks'}" in where.stdout

    # A write from ~/Downloads lands in the data directory; ~/Downloads stays empty.
    model = sandbox.root / "m" / "acme" / "Tiny"
    from imageworks_testing.fixtures import write_hf_folder

    write_hf_folder(model)
    scanned = _run_in(downloads, "scan", "--base", str(sandbox.root / "m"), env=env)
    assert scanned.exit_code == 0, scanned.stderr
    assert list(downloads.iterdir()) == []
    assert (data_dir / "model_registry.discovered.json").is_file()
    # Nothing but the registry in the registry directory: logs and caches live elsewhere.
    assert {p.name for p in data_dir.iterdir()} <= {
        "model_registry.discovered.json", "model_registry.json", ".model_registry.lock"}
    listed = _run_in(downloads, "list", "--json", env=env)
    assert [e["name"] for e in listed.json()] == ["tiny-vllm-safetensors-bf16"]


def test_the_nearest_configs_with_a_curated_layer_wins(sandbox, monkeypatch):
    project = sandbox.root / "project"
    (project / "configs").mkdir(parents=True)
    (project / "configs" / CURATED).write_text('{"schema_version": 1, "models": []}\n')
    deep = project / "src" / "deeper"
    deep.mkdir(parents=True)
    monkeypatch.delenv("IMAGEWORKS_REGISTRY_DIR")
    where = _run_in(deep, "config", "path", env=_user_env(sandbox))
    assert f"registry_dir: {project / 'configs'}" in where.stdout
    assert "nearest configs/" in where.stdout
