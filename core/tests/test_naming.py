import pytest

from imageworks_core.registry.naming import (
    entry_name, family_from_file, family_from_repo, identity_hash,
)


@pytest.mark.parametrize("repo, backend, fmt, quant, expected", [
    ("TheBloke/Llama-3-8B-AWQ", "vllm", "awq", "int4", "llama-3-8b-vllm-awq-int4"),
    ("lmstudio-community/Qwen2.5-7B-Instruct-GGUF", "lmstudio", "gguf", "q4_k_m",
     "qwen2.5-7b-instruct-lmstudio-gguf-q4_k_m"),
    ("Qwen/Qwen2.5-VL-7B-Instruct", "vllm", "safetensors", "bf16", "qwen2.5-vl-7b-instruct-vllm-safetensors-bf16"),
    ("mlx-community/Llama-3.2-1B-Instruct-4bit", "mlx", "mlx", "int4", "llama-3.2-1b-instruct-mlx-int4"),
    ("someone/Model-GPTQ-Int4", "vllm", "gptq", "int4", "model-vllm-gptq-int4"),
])
def test_names_from_repos(repo, backend, fmt, quant, expected):
    assert entry_name(family_from_repo(repo), backend, fmt, quant) == expected


def test_revision_is_appended():
    assert family_from_repo("a/Foo", "v2") == "foo-v2"
    assert family_from_repo("a/Foo", "main") == "foo"
    assert family_from_repo("a/Foo", "0123456789abcdef0123456789abcdef01234567") == "foo-0123456"


def test_loose_gguf_family():
    assert family_from_file("Qwen2.5-7B-Instruct-Q4_K_M.gguf") == "qwen2.5-7b-instruct"
    assert family_from_file("big-model-Q8_0-00001-of-00003.gguf") == "big-model"
    assert family_from_file("whatever.gguf", basename="Llama-3.2", size_label="1B") == "llama-3.2-1b"


def test_characters_and_runs_are_cleaned():
    assert entry_name("My Model!!__x", "vLLM", "AWQ", None) == "my-model-__x-vllm-awq"


def test_tokens_already_present_are_not_repeated():
    assert entry_name("foo-mlx", "mlx", "mlx", "int4") == "foo-mlx-int4"


def test_long_families_are_cut_to_96():
    name = entry_name("x" * 200, "llamacpp", "gguf", "q4_k_m")
    assert len(name) == 96 and name.endswith("-llamacpp-gguf-q4_k_m")


def test_collision_gets_identity_hash_and_reruns_are_stable():
    taken = {"foo-vllm-awq-int4": "hf:a/foo@main:awq:int4"}
    same = entry_name("foo", "vllm", "awq", "int4", identity="hf:a/foo@main:awq:int4", taken=taken)
    assert same == "foo-vllm-awq-int4"
    other_id = "hf:b/foo@main:awq:int4"
    other = entry_name("foo", "vllm", "awq", "int4", identity=other_id, taken=taken)
    assert other == f"foo-vllm-awq-int4-{identity_hash(other_id)}"
    assert entry_name("foo", "vllm", "awq", "int4", identity=other_id, taken=taken) == other


def test_collision_with_long_name_still_fits():
    first = entry_name("y" * 200, "vllm", "awq", "int4")
    second = entry_name("y" * 200, "vllm", "awq", "int4", identity="b", taken={first: "a"})
    assert len(second) <= 96 and second != first


def test_holder_without_identity_is_not_a_collision():
    assert entry_name("foo", "vllm", "awq", None, identity="x", taken={"foo-vllm-awq": None}) == "foo-vllm-awq"


def colliding_identities() -> tuple[str, str]:
    """Two identities whose first 6 hex digits of sha256 agree (found by trying: 24 bits)."""
    seen: dict[str, str] = {}
    i = 0
    while True:
        identity = f"gguf:/models/org{i % 100}/model-{i}/model-{i}-Q4_K_M.gguf"
        short = identity_hash(identity)
        if short in seen:
            return seen[short], identity
        seen[short] = identity
        i += 1


def test_a_suffixed_name_held_by_another_identity_gets_a_longer_suffix():
    # 10,000 copies of one model make such a clash likely; before, the second entry took the
    # first one's name and one of them was lost from the registry.
    first, second = colliding_identities()
    taken: dict[str, str | None] = {}
    names = []
    for identity in ("gguf:/models/the-first", first, second):
        name = entry_name("bench-1b", "llamacpp", "gguf", "q4_k_m", identity=identity, taken=taken)
        taken[name] = identity
        names.append(name)
    assert len(set(names)) == 3
    assert names[1] == f"bench-1b-llamacpp-gguf-q4_k_m-{identity_hash(first)}"
    assert names[2] == f"bench-1b-llamacpp-gguf-q4_k_m-{identity_hash(second, 8)}"
    # Each keeps its name on a re-run.
    for identity, name in zip(("gguf:/models/the-first", first, second), names):
        assert entry_name("bench-1b", "llamacpp", "gguf", "q4_k_m", identity=identity, taken=taken) == name
