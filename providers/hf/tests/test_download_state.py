"""The resume state is read as untrusted: any file that does not describe ranges of this very
file is no state, and the download starts the file again (never an exception, never a write at
a wrong offset)."""

import json

import pytest

from imageworks_hf.download_state import StateFile
from imageworks_hf.transfer import FileJob

SHA = "a" * 64


@pytest.fixture
def job(tmp_path):
    job = FileJob("model.safetensors", "http://127.0.0.1:1/x", tmp_path / "model.safetensors", 100, SHA)
    job.staging.parent.mkdir(parents=True, exist_ok=True)
    job.staging.write_bytes(b"\0" * 100)
    return job


def good(**change):
    doc = {"size": 100, "sha256": SHA, "segments": [[0, 50, 10], [50, 100, 0]]}
    doc.update(change)
    return doc


@pytest.mark.parametrize("doc", [
    [1, 2, 3], "text", 5, None,
    good(segments=[[0, 200, 0]]), good(segments=[[-5, 50, 0]]), good(segments=[[60, 50, 0]]),
    good(segments=[[0, 50, 51]]), good(segments=[[0, 50, -1]]), good(segments=5), good(segments=[[0, "x", 0]]),
    good(size=99), good(sha256="b" * 64),
])
def test_a_state_of_the_wrong_shape_is_no_state(tmp_path, job, doc):
    state = tmp_path / "state.json"
    state.write_text(json.dumps(doc))
    assert StateFile.load(state, job) is None


def test_a_state_nested_deep_is_no_state(tmp_path, job):
    state = tmp_path / "state.json"
    state.write_text("[" * 100_000 + "]" * 100_000)
    assert StateFile.load(state, job) is None


def test_a_good_state_is_read(tmp_path, job):
    state = tmp_path / "state.json"
    state.write_text(json.dumps(good()))
    segments = StateFile.load(state, job)
    assert [(s.start, s.end, s.done) for s in segments] == [(0, 50, 10), (50, 100, 0)]
