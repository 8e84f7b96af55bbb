"""File and folder names of any bytes (Linux paths are bytes, not text). ``scan`` registers
every model whatever its name, the registry and the log stay valid UTF-8 JSON, and each path
read back from the registry is the same bytes on disk (``surrogateescape`` round trip)."""

from __future__ import annotations

import json
import os

from hypothesis import given
from hypothesis import strategies as st

from .strategies import budget, assert_ran_clean, fresh, registered, time_bound
from .test_gguf_headers import valid_gguf

NAME_BYTES = st.binary(min_size=1, max_size=24).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..") and not b.startswith(b"."))


@budget(50)
@given(st.lists(NAME_BYTES, min_size=1, max_size=3, unique=True), NAME_BYTES)
def test_scan_carries_any_name(sandbox, cli, folders, file_stem):
    weights = sandbox.root / "models" / "weights"
    fresh(sandbox, weights)
    good = weights / "good" / "Good-Q4_K_M.gguf"
    good.parent.mkdir(parents=True)
    good.write_bytes(valid_gguf())
    odd = os.path.join(os.fsencode(weights), *folders, file_stem + b"-Q4_K_M.gguf")
    os.makedirs(os.path.dirname(odd), exist_ok=True)
    with open(odd, "wb") as handle:
        handle.write(valid_gguf())
    with time_bound(30):
        result = cli("scan", "--base", str(weights))
    assert_ran_clean(result)
    on_disk = {os.fsencode(os.path.join(r["download_path"], r["download_files"][0])) for r in registered(cli)}
    assert os.fsencode(good) in on_disk
    assert odd in on_disk, result.stderr
    sandbox.layer("discovered").read_bytes().decode("utf-8")  # strict: still UTF-8
    for line in sandbox.log_file.read_bytes().decode("utf-8").splitlines():
        json.loads(line)
    with time_bound(30):
        again = cli("scan", "--base", str(weights))
    assert_ran_clean(again)
    assert "0 added, 0 updated" in again.stdout, again.stdout


@budget(300)
@given(st.dictionaries(st.text(alphabet=st.characters() | st.sampled_from(["\udcff", "\ud800", "\udc80", "\0", "\n"]),
                               max_size=12), st.integers(0, 2**70), max_size=5))
def test_directory_checksum_is_the_line_by_line_digest(sizes):
    """The checksum hashes its lines in one call: the digest of each ``rel\\0size\\n`` line
    encoded on its own, as it was, lone surrogates of any kind included."""
    import hashlib

    from imageworks_core.fileset import directory_checksum, path_bytes

    digest = hashlib.sha256()
    for rel in sorted(sizes):
        digest.update(path_bytes(f"{rel}\0{sizes[rel]}\n"))
    assert directory_checksum(sizes) == digest.hexdigest()[:16]
