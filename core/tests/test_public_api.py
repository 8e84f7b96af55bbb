"""The public API (docs/architecture.md, "Three tiers"): the package root is the contract,
``imageworks_core.kit`` the provider toolkit, everything else private. Providers, the GUI, the
test plugin and the examples import nothing else; both export tables agree with their
type-checking imports; every hook is documented (as datasette's test_plugin_hooks_are_documented)."""

import ast
import inspect
import re
from pathlib import Path

import imageworks_core
from imageworks_core import hookspecs, kit
from imageworks_core.plugins import HOOK_NAMES

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"imageworks_core": set(imageworks_core.__all__), "imageworks_core.kit": set(kit.__all__)}


def _imports_of(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imageworks_core"):
            yield node.module, [alias.name for alias in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("imageworks_core"):
                    yield alias.name, [], node.lineno
    # Code run in a child process (``python -c "from imageworks_core... import ..."``).
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for module in re.findall(r"from (imageworks_core[\w.]*) import", node.value):
                yield module, [], node.lineno


def _outside_sources():
    sources = []
    for pattern in ("providers/*/src/**/*.py", "gui/src/**/*.py", "testing/src/**/*.py", "examples/**/*.py",
                    "scripts/*.py"):
        sources += sorted(ROOT.glob(pattern))
    # Not build output (an in-tree ``pip install`` of the example leaves a build/ copy behind).
    return [path for path in sources if not {"build", ".venv"} & set(path.relative_to(ROOT).parts)]


def test_outside_code_imports_only_the_root_and_the_kit():
    sources = _outside_sources()
    assert {"providers", "gui", "testing", "examples"} <= {p.relative_to(ROOT).parts[0] for p in sources}
    problems = []
    for path in sources:
        for module, names, line in _imports_of(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module not in PUBLIC:
                problems.append(f"{where}: imports from {module} (only imageworks_core and imageworks_core.kit are public)")
                continue
            for name in names:
                if name not in PUBLIC[module]:
                    problems.append(f"{where}: {name} is not exported by {module}")
    assert problems == []


def test_the_root_is_the_contract_only():
    assert len(imageworks_core.__all__) <= 50
    assert not set(imageworks_core._EXPORTS) & set(kit.KIT)  # each public name has one home


def _type_checking_imports(module) -> dict[str, str]:
    checked = {}
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                for alias in stmt.names:
                    where = stmt.module if alias.asname is None else f"{stmt.module}:{alias.name}"
                    checked[alias.asname or alias.name] = where
    return checked


def test_export_tables_and_type_checking_blocks_agree():
    assert _type_checking_imports(imageworks_core) == imageworks_core._EXPORTS
    assert _type_checking_imports(kit) == {name: module for name, (module, _doc) in kit.KIT.items()}
    for name in imageworks_core._EXPORTS:
        assert getattr(imageworks_core, name) is not None, name
    for name, (_module, doc) in kit.KIT.items():
        assert getattr(kit, name) is not None, name
        assert len(doc) > 10, f"kit.{name} needs its one-line purpose"
    assert kit.__doc__ and "toolkit" in kit.__doc__


def test_every_hook_is_documented():
    """Like pytest's hookspec.py: when it is called, each argument (``:param name:``), what it
    returns (annotated and ``:return:``), and firstresult stated where it applies."""
    assert set(HOOK_NAMES) >= {"imageworks_discover", "imageworks_download", "imageworks_verify",
                               "imageworks_normalize", "imageworks_remove", "imageworks_register_commands",
                               "imageworks_settings", "imageworks_locations", "imageworks_roots",
                               "imageworks_lock_source", "imageworks_locked_download"}
    problems = []
    for name in HOOK_NAMES:
        function = getattr(hookspecs, name)
        doc = inspect.getdoc(function) or ""
        signature = inspect.signature(function)
        if "Called" not in doc:
            problems.append(f"{name}: does not say when it is called")
        for parameter in signature.parameters:
            if f":param {parameter}:" not in doc:
                problems.append(f"{name}: :param {parameter}: missing")
        if signature.return_annotation is inspect.Signature.empty or ":return:" not in doc:
            problems.append(f"{name}: return type or :return: missing")
        firstresult = getattr(function, "imageworks_spec")["firstresult"]
        if firstresult != ("firstresult" in doc):
            problems.append(f"{name}: firstresult={firstresult} but the docstring {'does not say' if firstresult else 'says'} so")
    assert problems == []
    # ... and named in the architecture document a provider author reads.
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for name in HOOK_NAMES:
        assert f"`{name}" in architecture, name
