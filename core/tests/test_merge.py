from imageworks_core.registry.store import Registry


def test_curated_wins_field_by_field(sandbox):
    sandbox.write_layer("discovered", [
        {"name": "m", "backend": "vllm", "download_format": "awq", "quantization": "int4",
         "download_path": "/x", "roles": ["chat"],
         "metadata": {"architecture": "llama", "context_length": 8192, "identity": "hf:a/m@main:awq"},
         "capabilities": {"text": True, "vision": True}, "license": "mit"},
        {"name": "only-discovered"},
    ])
    sandbox.write_layer("curated", [
        {"name": "m", "roles": ["caption", "keywords"], "role_priority": {"caption": 5},
         "metadata": {"context_length": 4096, "note": "tuned"}, "capabilities": {"tools": True},
         "license": None},
        {"name": "only-curated", "backend": "ollama"},
    ])
    view = Registry(sandbox.registry_dir).load()
    m = view.get("m")
    assert m.backend == "vllm" and m.download_format == "awq"
    assert m.roles == ("caption", "keywords")
    assert m.metadata == {"architecture": "llama", "context_length": 4096, "identity": "hf:a/m@main:awq", "note": "tuned"}
    assert m.capabilities.text and m.capabilities.vision and m.capabilities.tools
    assert m.license is None  # explicit null in curated clears
    assert view.layer_of("m") == "both"
    assert view.layer_of("only-discovered") == "discovered"
    assert view.layer_of("only-curated") == "curated"
    assert [e.name for e in view] == ["m", "only-curated", "only-discovered"]
    assert sorted(view.shadowed["m"]) == ["license", "metadata.context_length", "roles"]
