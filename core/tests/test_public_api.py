"""The public API is the whole API (providers.md): built-in providers import only names the
package root exports, the export table and the type-checking imports agree, every hook is
documented (as datasette's test_plugin_hooks_are_documented)."""

import ast
import re
from pathlib import Path

import imageworks_core
from imageworks_core import hookspecs
from imageworks_core.plugins import HOOK_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _imports_of(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imageworks_core"):
            yield node.module, [alias.name for alias in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("imageworks_core"):
                    yield alias.name, [], node.lineno


def test_built_in_providers_import_only_public_names():
    sources = sorted((ROOT / "providers").glob("*/src/**/*.py"))
    assert len(sources) > 10
    problems = []
    for path in sources:
        for module, names, line in _imports_of(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module != "imageworks_core":
                problems.append(f"{where}: imports from {module} (only the package root is public)")
            for name in names:
                if name not in imageworks_core.__all__:
                    problems.append(f"{where}: {name} is not exported by imageworks_core")
    assert problems == []


def test_export_table_and_type_checking_block_agree():
    source = Path(imageworks_core.__file__).read_text()
    tree = ast.parse(source)
    checked = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                for alias in stmt.names:
                    checked[alias.name] = stmt.module
    assert checked == imageworks_core._EXPORTS
    for name in imageworks_core._EXPORTS:
        assert getattr(imageworks_core, name) is not None, name


def test_every_hook_is_documented():
    assert set(HOOK_NAMES) >= {"imageworks_discover", "imageworks_download", "imageworks_verify",
                               "imageworks_normalize", "imageworks_remove", "imageworks_register_commands",
                               "imageworks_settings", "imageworks_locations", "imageworks_roots"}
    for name in HOOK_NAMES:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Called" in doc and re.search(r"return", doc, re.I), name
    # ... and named in the architecture document a provider author reads.
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for name in HOOK_NAMES:
        assert f"`{name}" in architecture, name
