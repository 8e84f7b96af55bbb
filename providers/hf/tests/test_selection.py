"""File selection on real repo layouts (docs/providers.md hf): the repo as published, minus the
weights of other formats and quants."""

import os
import sys
from pathlib import Path

import pytest

from imageworks_hf.selection import choose

sys.path.insert(0, str(Path(__file__).parent))
import repo_layouts as layouts  # noqa: E402


def pick(paths, config=None, **kw):
    options = dict(config=config, formats=(), preferred=("awq", "gptq", "safetensors", "gguf"), quant=None,
                   preferred_quants=("q4_k_m",), weights=(), include_optional=False)
    options.update(kw)
    return choose(paths, **options)


def test_sentence_transformers_repo_keeps_its_modules():
    chosen = pick(layouts.MINILM_FILES, {"architectures": ["BertModel"]})
    assert chosen.download_format == "safetensors"
    assert set(chosen.files) == layouts.MINILM_SELECTED
    assert chosen.missing_support == ()


def test_vision_language_repo_keeps_processor_and_template():
    chosen = pick(layouts.QWEN_VL_FILES, {"architectures": ["Qwen2_5_VLForConditionalGeneration"]})
    assert set(chosen.files) == layouts.QWEN_VL_SELECTED
    with_docs = pick(layouts.QWEN_VL_FILES, {}, include_optional=True)
    assert "README.md" in with_docs.files


def test_gguf_repo_takes_one_quant_and_its_projector():
    chosen = pick(layouts.GEMMA_GGUF_FILES, quant="q8_0")
    assert chosen.files[0] == "gemma-3-4b-it-Q8_0.gguf"
    assert set(chosen.files) == {"gemma-3-4b-it-Q8_0.gguf", "mmproj-F16.gguf", "params"}
    split = pick(layouts.GEMMA_GGUF_FILES, quant="q6_k")
    assert set(split.files) == {"Q6_K/gemma-3-4b-it-Q6_K-00001-of-00002.gguf",
                                "Q6_K/gemma-3-4b-it-Q6_K-00002-of-00002.gguf", "mmproj-F16.gguf", "params"}
    assert pick(layouts.GEMMA_GGUF_FILES).quantization == "q4_k_m"


def test_bin_beside_safetensors_stays_behind():
    chosen = pick(layouts.MISTRAL_FILES, {"architectures": ["MistralForCausalLM"]})
    assert set(chosen.files) == layouts.MISTRAL_SELECTED
    pytorch = pick(layouts.MISTRAL_FILES, {}, formats=("pytorch",))
    assert {f for f in pytorch.files if "model" in f and "token" not in f} == {
        *[f"pytorch_model-0000{i}-of-00003.bin" for i in range(1, 4)], "pytorch_model.bin.index.json"}


def test_mistral_consolidated_copy_stays_behind():
    files = ["consolidated.safetensors", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
             "model.safetensors.index.json", "params.json", "tokenizer.model.v3", "config.json"]
    chosen = pick(files, {})
    assert "consolidated.safetensors" not in chosen.files and "params.json" in chosen.files


@pytest.mark.parametrize("backend", ["--no-aria2", None])
def test_sentence_transformers_download_arrives_loadable(hub, cli, sandbox, backend):
    hub.add_repo(layouts.MINILM, layouts.contents(layouts.MINILM_FILES))
    result = cli("download", layouts.MINILM, "-y", *([backend] if backend else []))
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "sentence-transformers" / "all-MiniLM-L6-v2"
    on_disk = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}
    assert on_disk == layouts.MINILM_SELECTED
    (row,) = cli("list", "--json").json()
    assert set(row["download_files"]) == layouts.MINILM_SELECTED


def test_two_copies_of_one_repo_are_two_entries(hub, cli, sandbox):
    """Downloaded into the weights folder, then the same repo lands in the HF cache (written by
    huggingface_hub itself); ingest keeps both copies, names stable, the cache one labelled."""
    import subprocess

    hub.add_repo(layouts.MINILM, layouts.contents(layouts.MINILM_FILES))
    assert cli("download", layouts.MINILM, "-y", "--no-aria2").exit_code == 0
    (first,) = cli("list", "--json").json()
    # huggingface_hub reads HF_ENDPOINT at import: a fresh process, as transformers would run.
    code = ("import sys; from huggingface_hub import snapshot_download; "
            "print(snapshot_download(sys.argv[1], allow_patterns=sys.argv[2:]))")
    proc = subprocess.run([sys.executable, "-c", code, layouts.MINILM, *sorted(layouts.MINILM_SELECTED)],
                          capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "HF_HUB_CACHE": str(sandbox.root / "hf_home" / "hub")})
    snapshot = Path(proc.stdout.strip().splitlines()[-1])
    assert snapshot.is_relative_to(sandbox.root / "hf_home")
    result = cli("ingest-local-hf", program="imageworks-loader")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert len(rows) == 2, sorted(rows)
    assert rows[first["name"]]["download_path"] == first["download_path"]  # not re-pointed
    (cached,) = [r for r in rows.values() if r["name"] != first["name"]]
    assert cached["download_location"] == "hf_cache"
    assert cached["download_path"] == str(snapshot)
    assert cached["name"].startswith(first["name"] + "-")
    assert cached["metadata"]["identity"].endswith("@" + os.path.realpath(snapshot))
    again = cli("ingest-local-hf", program="imageworks-loader")
    assert sorted(r["name"] for r in cli("list", "--json").json()) == sorted(rows)
    assert "2 unchanged" in again.stdout or again.stdout.count("unchanged") >= 1


def test_earlier_identities_are_rekeyed_in_place(hub, cli, sandbox):
    """Entries written before identities named a copy keep their names; the next ingest re-keys
    them to the copy at their download_path."""
    import json

    hub.add_repo(layouts.MINILM, layouts.contents(layouts.MINILM_FILES))
    assert cli("download", layouts.MINILM, "-y", "--no-aria2").exit_code == 0
    layer = sandbox.layer("discovered")
    doc = json.loads(layer.read_text())
    (entry,) = doc["models"]
    new_identity = entry["metadata"]["identity"]
    entry["metadata"]["identity"] = new_identity.split("@/")[0]  # the earlier form
    entry["name"] = "my-minilm"  # a name an earlier version gave
    layer.write_text(json.dumps(doc, indent=2))
    assert cli("ingest-local-hf", "--root", str(sandbox.root / "models" / "weights"),
               program="imageworks-loader").exit_code == 0
    (row,) = cli("list", "--json").json()
    assert row["name"] == "my-minilm" and row["metadata"]["identity"] == new_identity
