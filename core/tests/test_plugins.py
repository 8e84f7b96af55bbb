"""The plugin manager: entry points, a broken provider reported by name, in-process plugins."""

import importlib.metadata

from imageworks_core import Variant, hookimpl
from imageworks_core.plugins import add_plugin, build_plugin_manager, remove_plugin


def test_broken_provider_is_reported_and_others_load(monkeypatch):
    real = importlib.metadata.entry_points

    def entry_points(group=None, **kw):
        eps = list(real(group=group, **kw))
        if group == "imageworks":
            eps.append(importlib.metadata.EntryPoint("broken", "imageworks_no_such_module.plugin", "imageworks"))
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    plugins = build_plugin_manager()
    failed = {i.name: i.error for i in plugins.failed}
    assert "broken" in failed and "ModuleNotFoundError" in failed["broken"]
    loaded = {i.name for i in plugins.infos if not i.error}
    assert {"hf", "ollama", "lmstudio", "local_scan"} <= loaded


class ThirdParty:
    """A provider as a third party writes it: only the public API."""

    @hookimpl
    def imageworks_discover(self, request, ctx):
        folder = ctx.settings.model_root
        return [Variant(provider="thirdparty", identity="thirdparty:one", family="One Model",
                        backend="llamacpp", download_format="gguf", quantization="q8_0",
                        download_path=folder, download_files=())]

    @hookimpl
    def imageworks_register_commands(self, group, program):
        import click

        @group.group("thirdparty")
        def thirdparty():
            """Commands of the third-party provider."""

        @thirdparty.command("hello")
        def hello():
            click.echo(f"hello from {program}")


def test_in_process_plugin_discovers_and_adds_commands(sandbox, cli):
    add_plugin("thirdparty", ThirdParty())
    try:
        (sandbox.root / "models").mkdir()
        result = cli("discover-all", program="imageworks-loader")
        assert result.exit_code == 0, result.stderr
        rows = cli("list", "--json").json()
        assert [r["name"] for r in rows] == ["one-model-llamacpp-gguf-q8_0"]
        assert cli("thirdparty", "hello").stdout.strip() == "hello from imageworks-download"
        assert "thirdparty" in {r["name"] for r in cli("plugins", "--json").json()}
    finally:
        remove_plugin("thirdparty")


def test_discover_all_accepts_the_earlier_spellings_for_any_provider(sandbox, cli, tmp_path):
    """--skip-NAME and --NAME-root (the earlier --skip-ollama, --hf-root) work for every provider,
    without the core naming one."""
    seen = []

    class Recorder(ThirdParty):
        @hookimpl
        def imageworks_discover(self, request, ctx):
            seen.append(request.roots)
            return []

    add_plugin("thirdparty", Recorder())
    try:
        (tmp_path / "here").mkdir()
        result = cli("discover-all", "--skip-thirdparty", "--json", program="imageworks-loader")
        assert result.exit_code == 0, result.stderr
        assert seen == []
        result = cli("discover-all", "--thirdparty-root", str(tmp_path / "here"), "--skip-ollama",
                     program="imageworks-loader")
        assert result.exit_code == 0, result.stderr
        assert seen == [(str(tmp_path / "here"),)]
    finally:
        remove_plugin("thirdparty")


def test_a_command_for_a_missing_provider_does_not_exist(sandbox, tmp_path):
    """With only core and hf loaded, scan and import-ollama do not exist (docs/providers.md): click's
    "No such command", exit 2, naming the distribution to install; download still does."""
    from imageworks_testing.plugin import run_process

    (tmp_path / "w").mkdir()
    env = {"IMAGEWORKS_LOAD_PLUGINS": "hf"}
    for args, dist in ((("scan", "--base", str(tmp_path / "w")), "imageworks-local-scan"),
                       (("import-ollama",), "imageworks-ollama")):
        result = run_process(*args, env=env)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert "No such command" in result.stderr and dist in result.stderr and "Traceback" not in result.stderr
    listed = run_process("--help", env=env).stdout
    assert "download" in listed and "import-ollama" not in listed and " scan " not in listed
    assert run_process("download", "--help", env=env).exit_code == 0
    loader = run_process("rebuild-ollama", program="imageworks-loader", env=env)
    assert loader.exit_code == 2 and "imageworks-ollama" in loader.stderr


def test_precedence_is_declared_not_alphabetical(monkeypatch):
    """Providers are asked in ascending IMAGEWORKS_PRECEDENCE, then by name: a provider named
    ``aaa`` does not step ahead of one that declares a lower precedence."""
    import importlib.metadata
    import types

    from imageworks_core import hookimpl
    from imageworks_core.plugins import build_plugin_manager

    def provider(name, precedence=None):
        module = types.ModuleType(name)
        if precedence is not None:
            module.IMAGEWORKS_PRECEDENCE = precedence
        module.imageworks_download = hookimpl(lambda request, ctx: name)
        return module

    modules = {"aaa": provider("aaa"), "zzz": provider("zzz", 10), "mmm": provider("mmm")}

    class FakeEntryPoint:
        def __init__(self, name):
            self.name, self.dist = name, None

        def load(self):
            return modules[self.name]

    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [FakeEntryPoint(n) for n in ("mmm", "aaa", "zzz")])
    plugins = build_plugin_manager()
    assert plugins.hook.imageworks_download(request=None, ctx=None) == "zzz"
    callers = plugins.manager.hook.imageworks_download.get_hookimpls()
    assert [impl.plugin_name for impl in reversed(callers) if impl.plugin_name != "default"] == ["zzz", "aaa", "mmm"]


_WHICH_COMMAND_MODULES = """
import sys
from imageworks_core.cli import download_program, loader_program
from imageworks_core.plugins import get_plugins
program = {"imageworks-download": download_program.cli, "imageworks-loader": loader_program.cli}[sys.argv[1]]
try:
    program.main(sys.argv[2:], prog_name=sys.argv[1], standalone_mode=False)
except SystemExit:
    pass
sys.stdout.flush()
print("MODULES", *sorted(m for m in sys.modules if m.startswith("imageworks_") and m.endswith(".commands")))
print("PROVIDERS", *get_plugins().providers)
"""


def _command_modules(sandbox, *args):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _WHICH_COMMAND_MODULES, *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()
             if line.startswith(("MODULES", "PROVIDERS"))}
    return set(lines["MODULES"]), set(lines["PROVIDERS"])


def test_a_provider_command_imports_only_its_own_providers_commands(sandbox, tmp_path):
    """``scan`` asks local_scan alone for its commands (the catalogue says whose it is): the
    other providers' command modules (hf's imports much of hf) are not imported. Every provider
    is still loaded: settings and locations come from all of them."""
    (tmp_path / "w").mkdir()
    modules, providers = _command_modules(sandbox, "imageworks-download", "scan", "--base", str(tmp_path / "w"))
    assert modules == {"imageworks_local_scan.commands"}
    assert providers == {"hf", "lmstudio", "local_scan", "ollama"}
    modules, _ = _command_modules(sandbox, "imageworks-loader", "ingest-local-hf", "--root", str(tmp_path / "w"),
                                  "--dry-run")
    assert modules == {"imageworks_hf.commands"}


def test_every_providers_commands_are_still_reachable(sandbox, cli):
    """Each built-in provider command of the catalogue runs (its --help), each alone in a fresh
    program state; help lists them all; ``plugins`` lists every provider."""
    import json
    from importlib.resources import files

    from imageworks_core.cli import download_program, loader_program

    catalogue = json.loads(files("imageworks_core.cli").joinpath("catalogue.json").read_text("utf-8"))
    groups = {"imageworks-download": download_program.cli, "imageworks-loader": loader_program.cli}
    for program, commands in catalogue.items():
        if not isinstance(commands, dict):
            continue
        for command in commands:
            groups[program]._plugins_loaded = None  # as a new process would start
            result = cli(command, "--help", program=program)
            assert result.exit_code == 0, (program, command, result.stderr)
            assert "Usage:" in result.stdout
        listed = cli("--help", program=program).stdout
        assert all(command in listed for command in commands), (program, listed)
    rows = cli("plugins", "--json").json()
    assert {"hf", "lmstudio", "local_scan", "ollama"} <= {row["name"] for row in rows}


def test_a_command_a_third_party_provider_brings_is_found_beside_the_catalogue(sandbox, cli, tmp_path):
    """With a provider the catalogue does not know installed, every provider is asked (it might
    add or replace any command): its commands and the built-in ones all work."""
    add_plugin("thirdparty", ThirdParty())
    try:
        from imageworks_core.cli import download_program

        download_program.cli._plugins_loaded = None
        (tmp_path / "w").mkdir()
        assert cli("scan", "--base", str(tmp_path / "w")).exit_code == 0
        assert cli("thirdparty", "hello").stdout.strip() == "hello from imageworks-download"
    finally:
        remove_plugin("thirdparty")
