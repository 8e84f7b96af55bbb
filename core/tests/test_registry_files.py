import os
from pathlib import Path
import json

import pytest

from imageworks_core.errors import RegistryFormatError
from imageworks_core.registry.layers import read_layer
from imageworks_core.registry.store import Registry


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("text, fragment", [
    ("", ":1:1:"),
    ('{"schema_version": 1, "models": [\n  {"name": "a"},\n', ":3:1:"),
    (b'{"models": [{"name": "caf\xe9"}]}', ":1:"),
    ('"a string"', "expected an object"),
    ('{"models": [{"name": "a", "download_size_bytes": NaN}]}', "NaN"),
    ('{"schema_version": 7, "models": []}', "schema_version 7"),
    ('{"models": {"name": "a"}}', "$.models must be a list"),
])
def test_unparseable_layers_name_file_and_position(tmp_path, text, fragment):
    path = write(tmp_path / "model_registry.discovered.json", text)
    with pytest.raises(RegistryFormatError) as info:
        read_layer(path, "discovered")
    assert str(path) in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("model, where", [
    ({"name": "a", "roles": "caption"}, "$.models[1].roles"),
    ({"name": "a", "download_size_bytes": "12"}, "$.models[1].download_size_bytes"),
    ({"name": "a", "deprecated": "false"}, "$.models[1].deprecated"),
    ({"name": "a", "capabilities": {"vision": True, "telepathy": True}}, "$.models[1].capabilities"),
    ({"name": "a", "role_priority": {"caption": "high"}}, "$.models[1].role_priority"),
    ({"name": "Bad Name"}, "$.models[1].name"),
    ({"name": "x" * 97}, "$.models[1].name"),
    ({"roles": []}, "$.models[1].name"),
])
def test_bad_values_are_reported_with_their_path(tmp_path, model, where):
    doc = {"schema_version": 1, "models": [{"name": "ok"}, model]}
    path = write(tmp_path / "l.json", json.dumps(doc))
    with pytest.raises(RegistryFormatError) as info:
        read_layer(path, "curated")
    assert where in str(info.value)


def test_duplicate_names_are_an_error(tmp_path):
    path = write(tmp_path / "l.json", json.dumps({"models": [{"name": "a"}, {"name": "a"}]}))
    with pytest.raises(RegistryFormatError, match="duplicate name 'a'"):
        read_layer(path, "curated")


def test_unknown_fields_are_kept_and_reported(tmp_path):
    path = write(tmp_path / "l.json", json.dumps({"models": [{"name": "a", "vendor_note": {"x": 1}}]}))
    layer = read_layer(path, "curated")
    assert layer.entries[0].extra == {"vendor_note": {"x": 1}}
    assert layer.unknown == ("$.models[0].vendor_note",)


def test_bare_list_of_earlier_versions_is_read(tmp_path):
    path = write(tmp_path / "l.json", json.dumps([{"name": "old-model", "backend": "vllm"}]))
    layer = read_layer(path, "discovered")
    assert layer.legacy and layer.entries[0].backend == "vllm"


def test_missing_layer_is_empty(tmp_path):
    layer = read_layer(tmp_path / "nope.json", "curated")
    assert layer.entries == () and not layer.exists


def test_write_is_deterministic_and_unchanged_bytes_stay(tmp_path):
    from imageworks_core import Entry

    reg = Registry(tmp_path)
    with reg.transaction() as tx:
        tx.put(Entry(name="b", metadata={"z": 1, "a": 2}))
        tx.put(Entry(name="a"))
    path = reg.layer_path("discovered")
    data = path.read_bytes()
    doc = json.loads(data)
    assert [m["name"] for m in doc["models"]] == ["a", "b"]
    assert list(doc["models"][0])[:3] == ["name", "display_name", "family"]
    assert data.endswith(b"}\n") and b'\n  "models": [\n    {\n      "name"' in data
    mtime = path.stat().st_mtime_ns
    with reg.transaction() as tx:
        tx.put(tx.discovered["a"])
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    assert reg.merged_path.exists()


def test_bad_layer_is_never_overwritten(tmp_path):
    reg = Registry(tmp_path)
    path = write(reg.layer_path("discovered"), '{"models": [')
    with pytest.raises(RegistryFormatError):
        with reg.transaction():
            pass
    assert path.read_text() == '{"models": ['


def test_backups_keep_the_newest(tmp_path):
    from imageworks_core import Entry

    reg = Registry(tmp_path, backups_keep=3)
    for i in range(6):
        with reg.transaction(backup=True) as tx:
            tx.put(Entry(name=f"m{i}"))
    backups = reg.backups("discovered")
    assert len(backups) == 3
    newest = json.loads(backups[-1].read_text())
    assert [m["name"] for m in newest["models"]] == ["m0", "m1", "m2", "m3", "m4"]


def test_dry_run_transaction_writes_nothing(tmp_path):
    from imageworks_core import Entry

    reg = Registry(tmp_path)
    with reg.transaction(dry_run=True) as tx:
        tx.put(Entry(name="a"))
    assert not reg.layer_path("discovered").exists()


def test_layer_bytes_match_the_standard_library_format():
    """orjson writes the layers; the bytes must be what json.dumps(indent=2) would write."""
    from imageworks_core.registry.layers import render_layer

    models = [{"name": "a", "metadata": {"t": "café ✓ \u2028 \x01 /", "f": [0.1, 1e20, -0.0, 3.0], "n": None,
                                         "big": 2 ** 70}}, {"name": "b", "roles": ["x"]}]
    expected = json.dumps({"schema_version": 1, "models": models}, indent=2, ensure_ascii=False) + "\n"
    assert render_layer(models) == expected.encode()
    models[0]["metadata"].pop("big")
    expected = json.dumps({"schema_version": 1, "models": models}, indent=2, ensure_ascii=False) + "\n"
    assert render_layer(models) == expected.encode()


def test_unknown_fields_are_kept_and_warned_about_once_even_when_cached(sandbox, cli):
    sandbox.write_layer("curated", [{"name": "a", "backend": "vllm", "download_path": str(sandbox.root),
                                     "team_notes": "keep me", "x_owner": "ops"}])
    for attempt in range(2):  # the second read trusts the validated-layer cache
        result = cli("list", "--json")
        assert result.exit_code == 0
        warnings = [line for line in result.stderr.splitlines() if "unknown fields" in line]
        assert len(warnings) == 1, (attempt, result.stderr)
        assert "$.models[0].team_notes" in warnings[0] and "$.models[0].x_owner" in warnings[0]
        assert str(sandbox.layer("curated")) in warnings[0]
    # A writing command reads the layers several times: still one warning; the fields survive.
    result = cli("remove", "a", "--force")
    assert result.stderr.count("unknown fields") == 1, result.stderr
    assert cli("list", "--json", "--include-logical").json()[0]["team_notes"] == "keep me"
    records = [r for r in sandbox.log_records() if r["event"] == "registry_notice"]
    assert records and "team_notes" in records[0]["message"]


def test_entry_shape_tables_match_the_entry_classes():
    """``entry_shape`` keeps the field order and defaults for start-up; the classes are the truth."""
    import attrs

    from imageworks_core import entry, entry_shape

    assert entry_shape.ENTRY_FIELDS == tuple(f.name for f in attrs.fields(entry.Entry) if f.name != "extra")
    assert json.dumps(entry_shape.entry_defaults()) == json.dumps(entry.entry_defaults())  # as JSON: key order too
    assert entry_shape.CAPABILITY_KEYS == tuple(f.name for f in attrs.fields(entry.Capabilities))


def _layer(tmp_path, name):
    return write(tmp_path / "model_registry.discovered.json",
                 json.dumps({"schema_version": 1, "models": [{"name": name}]}))


def test_an_unchanged_layer_is_trusted_by_its_stat_stamp_without_hashing(tmp_path, sandbox, monkeypatch):
    from imageworks_core.registry import layers

    monkeypatch.setattr(layers, "_STAMP_SETTLED_NS", 0)  # the test's file is seconds old, not minutes
    path = _layer(tmp_path, "alpha")
    read_layer(path, "discovered")  # validates, hashes, and records the stamp
    real_sha256, layer_bytes = layers.hashlib.sha256, path.read_bytes()

    def sha256(data=b"", **kwargs):
        if data == layer_bytes:
            pytest.fail("an unchanged layer was hashed")
        return real_sha256(data, **kwargs)

    monkeypatch.setattr(layers.hashlib, "sha256", sha256)
    assert [m["name"] for m in read_layer(path, "discovered").raw] == ["alpha"]


def test_a_layer_rewritten_in_place_with_its_old_size_and_mtime_is_validated_again(tmp_path, sandbox, monkeypatch):
    from imageworks_core.registry import layers

    monkeypatch.setattr(layers, "_STAMP_SETTLED_NS", 0)
    path = _layer(tmp_path, "alpha")
    read_layer(path, "discovered")
    before = path.stat()
    with open(path, "r+b") as handle:  # same inode, same size; mtime put back: only ctime tells
        handle.write(path.read_bytes().replace(b'"alpha"', b'"ALPHA"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(RegistryFormatError, match="ALPHA"):
        read_layer(path, "discovered")


def test_a_fresh_layer_gets_no_stamp(tmp_path, sandbox):
    """Written within the last seconds, a file could change again within the clock's granularity."""
    from imageworks_core.registry import layers

    path = _layer(tmp_path, "alpha")
    read_layer(path, "discovered")
    known = layers.validated_digests(path.parent)
    assert known and not any(key.startswith("stat:") for key in known)


def test_rows_the_converter_writes_are_already_in_contract_order():
    """``render_layer(in_order=True)`` skips reordering for converter output and full rows."""
    from imageworks_core.converter import structure_entry, unstructure_entry
    from imageworks_core.registry.layers import render_layer
    from imageworks_core.registry.merge import merge_layers
    from imageworks_core.registry.layers import Layer

    raw = {"zz_unknown": 1, "metadata": {"b": 1, "a": 2}, "roles": ["chat"], "download_path": "/m",
           "name": "m-1", "backend": "vllm", "capabilities": {"vision": True}, "aa_unknown": [1]}
    rows = [unstructure_entry(structure_entry(raw))]
    assert render_layer(rows, in_order=True) == render_layer(rows)
    view = merge_layers(Layer("curated", Path("c")), Layer("discovered", Path("d"), tuple(rows)))
    full = [view.full_row("m-1")]
    assert render_layer(full, in_order=True) == render_layer(full)


def test_the_written_out_artifacts_hook_matches_the_generated_one():
    import cattrs
    from cattrs.gen import make_dict_unstructure_fn, override

    from imageworks_core.converter import fast_converter
    from imageworks_core.entry import ArtifactFile, Artifacts

    artifacts = Artifacts((ArtifactFile("a.gguf", 10, "ab" * 32), ArtifactFile("b/c.json", None, None),
                           ArtifactFile("d.json", 3, "ef" * 32, "01" * 20)), "cd" * 32)
    generic = cattrs.Converter()
    generic.register_unstructure_hook(ArtifactFile, make_dict_unstructure_fn(
        ArtifactFile, generic, etag=override(omit_if_default=True)))
    generic.register_unstructure_hook(Artifacts, make_dict_unstructure_fn(Artifacts, generic))
    assert json.dumps(fast_converter().unstructure(artifacts)) == json.dumps(generic.unstructure(artifacts))
    assert fast_converter().structure(fast_converter().unstructure(artifacts), Artifacts) == artifacts


def test_the_written_out_entry_row_matches_the_generated_one():
    """``unstructure_entry`` is written out (no cattrs on a commit): the same rows as the hook
    cattrs generates from the class, for an entry with every field set and one with defaults."""
    from cattrs.gen import make_dict_unstructure_fn, override

    from imageworks_core.converter import _configure, unstructure_entry
    from imageworks_core.entry import Entry
    from imageworks_testing.fixtures import entry_with_every_field
    import cattrs

    generic = _configure(cattrs.Converter())
    generated = make_dict_unstructure_fn(Entry, generic, extra=override(omit=True))
    full = entry_with_every_field()
    for entry in (full, Entry(name="bare")):
        expected = generated(entry)
        expected.update(entry.extra)
        row = unstructure_entry(entry)
        assert list(row.items()) == list(expected.items())
        assert json.dumps(row) == json.dumps(expected)
        assert generic.unstructure(entry) == row
        for key in ("source", "role_priority", "backend_config", "generation_defaults", "metadata"):
            value = getattr(entry, key)
            assert row[key] is None if value is None else row[key] is not value  # copies: rows may be edited


def test_a_commit_remembers_the_unknown_fields_of_the_discovered_rows_it_wrote(tmp_path):
    """The unknown-field paths a commit records for the discovered layer (from the entries'
    ``extra``) are the ones a look through its rows finds: the next read trusts them."""
    import hashlib

    from imageworks_core.converter import structure_entry
    from imageworks_core.registry import layers
    from imageworks_core.registry.store import Registry

    registry = Registry(tmp_path / "configs")
    with registry.transaction() as tx:
        tx.put(structure_entry({"name": "b-1", "zz_note": 1, "aa_team": "x"}))
        tx.put(structure_entry({"name": "a-1"}))
        tx.put(structure_entry({"name": "c-1", "vendor": {"k": 1}}))
    data = registry.layer_path("discovered").read_bytes()
    rows = json.loads(data)["models"]
    expected = layers.unknown_fields(rows, "$.models")
    assert expected == ["$.models[1].zz_note", "$.models[1].aa_team", "$.models[2].vendor"]
    known = layers.validated_digests(registry.directory)
    assert known[hashlib.sha256(data).hexdigest()] == expected
    assert registry.read("discovered").unknown == tuple(expected)
