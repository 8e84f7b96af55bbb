"""Hub answers (model info, the recursive tree) of any shape, fed through huggingface_hub's own
constructors exactly as its HTTP answers are: every listing the downloader and ``outdated`` get
has safe names, possible sizes, hex digests and a 40-hex commit, or the call is one domain error."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imageworks_core import ImageworksError
from imageworks_core.kit import unsafe_path_reason

from .strategies import budget, JSON, mutated, time_bound

SHA = "ab" * 32
INFO = {"id": "acme/m", "sha": "a" * 40, "gated": False, "private": False,
        "siblings": [{"rfilename": "config.json", "size": 10},
                     {"rfilename": "model.safetensors", "size": 4096,
                      "lfs": {"sha256": SHA, "size": 4096, "pointerSize": 130}}]}
TREE = [{"type": "file", "path": "config.json", "size": 10, "oid": "1" * 40},
        {"type": "directory", "path": "sub", "size": 0, "oid": "2" * 40},
        {"type": "file", "path": "model.safetensors", "size": 4096, "oid": "3" * 40,
         "lfs": {"oid": SHA, "size": 4096, "pointerSize": 130}}]
HOSTILE_NAMES = st.sampled_from(["../../etc/passwd", "/abs", "a/../b", ".git/config", "a\\b", "C:x", "x\0y",
                                 "A" * 300, "CONFIG.json", "config.json"])


@st.composite
def answers(draw):
    info, tree = draw(mutated(INFO)), draw(mutated(TREE))
    if draw(st.booleans()):  # a hostile name where a name belongs
        (tree if isinstance(tree, list) and tree and draw(st.booleans()) else [None])[0] = {
            "type": "file", "path": draw(HOSTILE_NAMES), "size": draw(st.integers(-1, 2**70)), "oid": "x"}
    return info, tree


def _patch(monkeypatch, info, tree):
    from huggingface_hub import hf_api

    def model_info(self, repo_id, **kwargs):
        return hf_api.ModelInfo(**info)  # what HfApi.model_info does with the answer's JSON

    def list_repo_tree(self, repo_id, **kwargs):
        for item in tree:  # ... and list_repo_tree with each item of the answer
            yield hf_api.RepoFile(**item) if item["type"] == "file" else hf_api.RepoFolder(**item)

    monkeypatch.setattr(hf_api.HfApi, "model_info", model_info)
    monkeypatch.setattr(hf_api.HfApi, "list_repo_tree", list_repo_tree)


@budget(400)
@given(answers() | st.tuples(JSON, JSON))
def test_listings_are_checked_or_refused(monkeypatch, answer):
    from imageworks_hf import hub

    info, tree = answer
    with monkeypatch.context() as patch:
        _patch(patch, info, tree)
        for call in (hub.list_repo, hub.model_files):
            with time_bound(10):
                try:
                    listing = call("acme/m", "main")
                except ImageworksError as exc:
                    assert "\n" not in str(exc)
                    continue
            assert isinstance(listing.commit, str) and len(listing.commit) == 40
            for path, remote in listing.files.items():
                assert isinstance(path, str) and unsafe_path_reason(path) is None and remote.path == path
                assert remote.size is None or (isinstance(remote.size, int) and 0 <= remote.size < 1 << 44)
                assert remote.sha256 is None or (isinstance(remote.sha256, str) and len(remote.sha256) == 64)
