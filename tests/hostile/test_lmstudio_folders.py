"""LM Studio folders as a person or a sync tool leaves them: publisher and repo names that are
not UTF-8, stray files, broken GGUFs and configs, links, a ``settings.json`` and a home pointer
of any content. ``import-lmstudio`` registers the good model and names what it skipped."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from imageworks_testing.fixtures import write_gguf, write_hf_folder

from .strategies import budget, JSON, RAW_BYTES, assert_ran_clean, fresh, json_bytes, registered, time_bound
from .test_gguf_headers import broken_gguf, valid_gguf

NAME_BYTES = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
NAME = NAME_BYTES.map(os.fsdecode) | st.sampled_from(["Repo-GGUF", "bad\udcff", "a b", "-x", ".hidden", "ünï"])
FILE = st.tuples(st.sampled_from(["m-Q4_K_M.gguf", "mmproj-f16.gguf", "config.json", "model.safetensors",
                                  "x-00001-of-00002.gguf", "notes.txt", "tokenizer_config.json"]) | NAME,
                 st.sampled_from(["gguf", "broken", "json", "raw", "link", "folder"]))


@budget(40)
@given(st.data(), st.lists(st.tuples(NAME, NAME, st.lists(FILE, max_size=4)), max_size=3),
       st.one_of(st.none(), JSON.map(json_bytes), RAW_BYTES))
def test_import_lmstudio_of_any_folder(sandbox, cli, data, repos, settings_json):
    home = sandbox.home / ".lmstudio"
    models = home / "models"
    fresh(sandbox, home, sandbox.home / ".lmstudio-home-pointer")
    write_gguf(models / "pub" / "Good-GGUF" / "Good-Q4_K_M.gguf")
    if settings_json is not None:
        (home / "settings.json").write_bytes(settings_json)
    for publisher, repo, files in repos:
        folder = models / publisher / repo
        if folder.exists():
            continue
        folder.mkdir(parents=True)
        for name, kind in files:
            path = folder / name
            if os.path.lexists(path):
                continue
            if kind == "gguf":
                path.write_bytes(valid_gguf())
            elif kind == "broken":
                path.write_bytes(data.draw(broken_gguf()))
            elif kind == "json":
                path.write_bytes(json_bytes(data.draw(JSON)))
            elif kind == "raw":
                path.write_bytes(data.draw(RAW_BYTES))
            elif kind == "link":
                path.symlink_to(data.draw(st.sampled_from(["/etc/passwd", "../../..", "nowhere", name])))
            else:
                write_hf_folder(path)
    if data.draw(st.booleans()):
        (sandbox.home / ".lmstudio-home-pointer").write_bytes(data.draw(RAW_BYTES | st.just(os.fsencode(home))))
    with time_bound(30):
        result = cli("import-lmstudio")
    assert_ran_clean(result)
    roots = cli("config", "--json").json()["lmstudio_roots"]["value"]
    rows = registered(cli)
    if str(models) in roots:  # settings.json or the pointer may name another folder: then it is not looked at
        assert any(r["download_path"] == str(models / "pub" / "Good-GGUF") for r in rows), result.stderr
