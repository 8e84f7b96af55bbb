"""``visibility``: which registered copies of a model exist, from the registry and the files."""

import hashlib
import os

from imageworks_core import ArtifactFile, Artifacts, Entry
from imageworks_core.inventory import Place, visibility


def entry(name, folder, files, *, provider="local_scan", location="linux_wsl", identity=None, **metadata):
    artifacts = Artifacts(tuple(ArtifactFile(f, sha256=metadata.pop(f"sha_{i}", None)) for i, f in enumerate(files)))
    meta = {**metadata, **({"identity": identity} if identity else {})}
    return Entry(name=name, source_provider=provider, download_location=location, download_path=str(folder),
                 download_files=tuple(files), artifacts=artifacts, metadata=meta)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def names(places):
    return [p.name for p in places]


def test_a_hard_link_and_a_linked_from_copy_are_the_same_model(tmp_path):
    weights = tmp_path / "weights" / "foo"
    write(weights / "Foo-Q4_K_M.gguf", b"w" * 5000)
    write(weights / "mmproj-Foo-f16.gguf", b"p" * 100)
    ollama = tmp_path / "ollama"
    (ollama / "blobs").mkdir(parents=True)
    os.link(weights / "Foo-Q4_K_M.gguf", ollama / "blobs" / "sha256-aa")  # as `link --to ollama` places it
    write(ollama / "blobs" / "sha256-cc", b'{"config": 1}')
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    os.symlink(weights / "Foo-Q4_K_M.gguf", folder / "Foo-Q4_K_M.gguf")  # `link --to DIR --symlink`
    entries = [
        entry("foo", weights, ["Foo-Q4_K_M.gguf", "mmproj-Foo-f16.gguf"]),
        entry("foo-ollama", ollama, ["blobs/sha256-aa", "blobs/sha256-cc"], provider="ollama", location="ollama"),
        entry("foo-dir", folder, ["Foo-Q4_K_M.gguf"], location="custom"),
        entry("gone", tmp_path / "nowhere", []),
    ]
    where = visibility(entries)
    assert names(where["foo"]) == ["foo", "foo-dir", "foo-ollama"]  # its own first
    assert names(where["foo-ollama"]) == ["foo-ollama", "foo-dir", "foo"]
    assert where["foo-ollama"][0] == Place("foo-ollama", "ollama", "ollama", "unassigned", str(ollama))
    assert where["gone"] == ()  # a directory that is not there: not visible anywhere
    # linked_from alone ties a copy whose bytes are another file (a verified --copy).
    copied = tmp_path / "copied"
    write(copied / "Foo-Q4_K_M.gguf", b"w" * 5000)
    lms = entry("foo-lms", copied, ["Foo-Q4_K_M.gguf"], provider="lmstudio", location="lmstudio", linked_from="foo")
    assert names(visibility([*entries, lms])["foo"]) == ["foo", "foo-lms", "foo-dir", "foo-ollama"]
    assert names(visibility([*entries[1:], lms])["foo-lms"]) == ["foo-lms"]  # its source is not registered


def test_a_shared_projector_does_not_make_two_quants_one_model(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "Foo-Q4_K_M.gguf", b"4" * 4000)
    write(repo / "Foo-Q8_0.gguf", b"8" * 8000)
    write(repo / "mmproj.gguf", b"p" * 900)
    q4 = entry("q4", repo, ["Foo-Q4_K_M.gguf", "mmproj.gguf"])
    q8 = entry("q8", repo, ["Foo-Q8_0.gguf", "mmproj.gguf"])
    where = visibility([q4, q8])
    assert names(where["q4"]) == ["q4"] and names(where["q8"]) == ["q8"]


def test_one_copy_identity_in_two_places_and_one_recorded_sha256(tmp_path):
    data = b"s" * 3000
    digest = hashlib.sha256(data).hexdigest()
    folder = write(tmp_path / "weights" / "o" / "r" / "model.safetensors", data).parent
    cache = write(tmp_path / "hub" / "models--o--r" / "snapshots" / ("c" * 40) / "model.safetensors", data).parent
    other = write(tmp_path / "scanned" / "model.safetensors", data).parent  # same bytes, not linked
    dev = write(tmp_path / "weights" / "o" / "r@dev" / "model.safetensors", data).parent
    unrelated = write(tmp_path / "other" / "model.safetensors", b"u" * 3000).parent
    entries = [
        entry("dl", folder, ["model.safetensors"], provider="hf", identity=f"hf:o/r@main:safetensors@{folder}"),
        entry("cache", cache, ["model.safetensors"], provider="hf", location="hf_cache",
              identity=f"hf:o/r@main:safetensors@{cache}"),
        entry("scanned", other, ["model.safetensors"], sha_0=digest, identity=f"local_scan:{other}"),
        entry("recorded", dev, ["model.safetensors"], provider="hf", sha_0=digest,
              identity=f"hf:o/r@dev:safetensors@{dev}"),
        entry("unrelated", unrelated, ["model.safetensors"], identity=f"local_scan:{unrelated}"),
    ]
    where = visibility(entries)
    assert names(where["dl"]) == ["dl", "cache"]  # one identity, two copies
    # One recorded sha256 is one model even in files we did not link (the registry says so).
    assert names(where["scanned"]) == ["scanned", "recorded"]
    assert names(where["unrelated"]) == ["unrelated"]
    # Files gone: that copy is no longer usable; its model still is, in the other copy.
    (cache / "model.safetensors").unlink()
    where = visibility(entries)
    assert names(where["dl"]) == ["dl"] and names(where["cache"]) == ["dl"]
