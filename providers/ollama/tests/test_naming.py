import pytest

from imageworks_ollama.naming import family_from_ollama


@pytest.mark.parametrize("shown, family", [
    ("qwen3:8b", "qwen3-8b"),
    ("llama3.2:latest", "llama3.2"),
    ("hf.co/bartowski/Foo-GGUF:Q5_K_M", "foo"),
    ("user/model:tag", "model-tag"),
    ("qwen2.5vl:7b-q4_K_M", "qwen2.5vl-7b"),
])
def test_ollama_families(shown, family):
    assert family_from_ollama(shown) == family


def test_strategy_a_name():
    from imageworks_core.registry.naming import entry_name

    assert entry_name(family_from_ollama("qwen3:8b"), "ollama", "gguf", "q4_k_m") == "qwen3-8b-ollama-gguf-q4_k_m"
