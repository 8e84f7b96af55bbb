"""The Hugging Face cache as other tools and people leave it: refs of any name and content,
repo folders of odd names, snapshot entries that are links anywhere (outside the cache, to
/etc/passwd, in a loop, to nothing), files and folders. ``ingest-local-hf`` registers the good
repo, never a file reached through a link leaving the repo's blobs, and names what it skipped."""

from __future__ import annotations

import os

from hypothesis import example, given
from hypothesis import strategies as st

from imageworks_testing.fixtures import write_hf_folder

from .strategies import budget, RAW_BYTES, assert_ran_clean, fresh, registered, time_bound, warned_about
from .test_lmstudio_folders import NAME

COMMIT = "c" * 40


def _cache_repo(cache, folder_name: str, commit: str = COMMIT):
    """A repo as huggingface_hub writes it: blobs, a snapshot of links to them, refs/main."""
    repo = cache / folder_name
    snapshot = repo / "snapshots" / commit
    write_hf_folder(snapshot)
    (repo / "blobs").mkdir(parents=True)
    for path in sorted(snapshot.iterdir()):
        blob = repo / "blobs" / f"blob-{path.name}"
        path.rename(blob)
        path.symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return repo, snapshot


LINK_TARGETS = st.sampled_from([
    "/etc/passwd", "../../../../../../etc/passwd", "../../blobs/missing", "../../blobs/blob-config.json",
    "../../../models--good--Model/blobs/blob-model.safetensors", "loop", ".", "..", "../../blobs",
    "../../blobs/../../models--good--Model/blobs/blob-model.safetensors",
])


OUT_OF_THE_CACHE = ("/etc/passwd", "../../../../../../etc/passwd")


@budget(50)
@example(data=None, folder_name="x", entries=[("\udc80", "/etc/passwd"), ("\n", "../../../../../../etc/passwd")],
         refs=[]).via("a name not UTF-8 and a newline, linking out (found by this test)")
@example(data=None, folder_name="x", entries=[("model.safetensors", "/etc/passwd"), ("extra.gguf", "loop")],
         refs=[]).via("a link loop beside a link out: the listing went on past the loop (found by this test)")
@example(data=None, folder_name="x", entries=[("model.safetensors", "/etc/passwd"),
                                             ("model.safetensors", "../../blobs/blob-config.json")],
         refs=[]).via("a name linked twice: only its last link is in the snapshot (the test's own bug)")
@given(st.data(), NAME, st.lists(st.tuples(st.sampled_from(["model.safetensors", "config.json", "extra.gguf"]) | NAME,
                                           LINK_TARGETS | st.sampled_from(["file", "folder"])), max_size=4),
       st.lists(st.tuples(NAME, RAW_BYTES), max_size=3))
def test_ingest_of_any_cache(sandbox, cli, data, folder_name, entries, refs):
    cache = sandbox.root / "hf_home" / "hub"
    fresh(sandbox, cache)
    _cache_repo(cache, "models--good--Model")
    names = ["models--evil--Model", "models--", "models--a", f"models--{folder_name}--x"]
    name = data.draw(st.sampled_from(names)) if data is not None else names[0]
    if os.path.exists(cache / name):
        return
    repo, snapshot = _cache_repo(cache, name)
    for entry, target in entries:
        path = snapshot / entry
        if os.path.lexists(path):
            path.unlink() if not path.is_dir() or path.is_symlink() else None
        if os.path.lexists(path):
            continue
        if target == "file":
            path.write_bytes(b"{}")
        elif target == "folder":
            path.mkdir()
        else:
            path.symlink_to(entry if target == "loop" else target)
    for ref, content in refs:
        try:
            (repo / "refs" / ref).write_bytes(content)
        except OSError:  # a ref name that is a folder or not a valid name here
            pass
    with time_bound(30):
        result = cli("ingest-local-hf", program="imageworks-loader")
    assert_ran_clean(result)
    rows = registered(cli)
    assert any(r["download_path"] == str(cache / "models--good--Model" / "snapshots" / COMMIT) for r in rows), \
        result.stderr
    for row in rows:  # everything registered is the repo's own blobs (or a plain file of its snapshot)
        base = row["download_path"]
        repo_blobs = os.path.realpath(os.path.join(base, "..", "..", "blobs"))
        for rel in row["download_files"]:
            path = os.path.join(base, rel)
            if os.path.islink(path):
                assert os.path.dirname(os.path.realpath(path)) == repo_blobs, (path, os.readlink(path))
    if name == "models--evil--Model":  # a repo folder (the others are not one, and are not looked in)
        for entry in {entry for entry, _target in entries}:  # a name listed twice holds its last link
            if os.path.islink(snapshot / entry) and os.readlink(snapshot / entry) in OUT_OF_THE_CACHE \
                    and entry in os.listdir(snapshot) and os.path.isfile(snapshot / entry):
                assert warned_about(result, str(snapshot / entry)), result.stderr
