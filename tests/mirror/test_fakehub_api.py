"""What the fake hub answers that real clients and mirrors ask for (these need no olah): the
paths-info API, HEAD on API routes, and ``outdated`` when a mirror strips the file metadata."""

import http.client
from urllib.parse import urlparse

import pytest

from imageworks_testing.fakehub import FakeHub, random_bytes


@pytest.fixture
def plain_hub(sandbox, monkeypatch):
    from huggingface_hub import constants

    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "never")
    yield server
    server.stop()


def test_paths_info_answers_as_the_hub(plain_hub):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    weights = random_bytes(5000, seed=1)
    repo = plain_hub.add_repo("acme/info", {"config.json": b"{}", "sub/model.safetensors": weights})
    infos = HfApi().get_paths_info("acme/info", ["sub/model.safetensors", "config.json", "sub", "missing.bin"],
                                   revision=repo.commit)
    by_path = {i.path: i for i in infos}
    assert set(by_path) == {"sub/model.safetensors", "config.json", "sub"}  # a missing path is left out
    model = by_path["sub/model.safetensors"]
    assert isinstance(model, RepoFile) and model.size == 5000 and model.lfs.sha256 == repo.files[model.path].sha256
    assert isinstance(by_path["config.json"], RepoFile) and by_path["config.json"].lfs is None
    assert isinstance(by_path["sub"], RepoFolder)
    assert HfApi().get_paths_info("acme/info", "config.json")[0].size == 2  # one path, and a branch name


def test_head_on_api_routes_sends_no_body(plain_hub):
    """A HEAD answered with a body would be read as the start of the next answer on a kept-alive
    connection (olah HEADs model info before asking for it)."""
    plain_hub.add_repo("acme/head", {"config.json": b"{}"})
    address = urlparse(plain_hub.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        for path in ("/api/models/acme/head", "/api/models/acme/head/revision/main", "/api/models/acme/head/tree/main"):
            connection.request("HEAD", path)
            head = connection.getresponse()
            assert head.status == 200 and head.read() == b""
            connection.request("GET", path)  # the same connection: framing intact
            get = connection.getresponse()
            assert get.status == 200 and len(get.read()) == int(head.getheader("Content-Length"))
    finally:
        connection.close()


def test_outdated_sees_a_changed_weight_when_the_answer_lacks_file_metadata(plain_hub, cli):
    """olah 0.5.4 forwards model info without ``?blobs=true``: no sizes, no sha256. The tree at the
    new commit is asked then, or a weight changed under the same name would go unnoticed."""
    plain_hub.add_repo("acme/strip", {"config.json": b"{}", "model.safetensors": random_bytes(4000, seed=2)})
    assert cli("download", "acme/strip", "-y").exit_code == 0
    plain_hub.add_repo("acme/strip", {"config.json": b"{}", "model.safetensors": random_bytes(4500, seed=3)})
    plain_hub.faults.no_file_metadata = True
    (check,) = cli("outdated", "--json").json()
    assert check["outdated"] and [(c["path"], c["change"]) for c in check["changed"]] == [("model.safetensors", "changed")]
    assert check["download_bytes"] == 4500
