"""``config.json``, ``generation_config.json``, ``tokenizer_config.json``, the quantisation side
files and ``quantization_config`` of any JSON shape, nearly right or not JSON at all. Detection
gives facts of the right types or ModelFileError naming the file; a scan or an ingest beside a
good model registers the good one and names the bad file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageworks_core.detect import ModelFileError, detect_folder
from imageworks_core.jsonio import dumps
from imageworks_testing.fixtures import write_hf_folder

from .strategies import (budget, JSON, JSON_OBJECTS, RAW_BYTES, assert_ran_clean, fresh, json_bytes, mutated, registered,
                         time_bound, warned_about)

SIDE_FILES = ["config.json", "generation_config.json", "tokenizer_config.json", "quant_config.json",
              "quantize_config.json", "chat_template.json", "model.safetensors.index.json"]
REAL_CONFIGS = [
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
     "max_position_embeddings": 8192, "text_config": {"torch_dtype": "float16"}},
    {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "vision_config": {},
     "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}},
    {"quantization_config": {"quant_method": "compressed-tensors", "format": "float-quantized",
                             "config_groups": {"g": {"weights": {"num_bits": 8, "type": "float"}}}}},
    {"quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}},
    {"quantization": {"group_size": 64, "bits": 4}, "model_type": "llama"},
    {"chat_template": "{{ messages }}", "model_max_length": 8192},
    {"w_bit": 4, "q_group_size": 128, "version": "gemm"},
]
CONTENT = (st.sampled_from(REAL_CONFIGS).flatmap(mutated).map(json_bytes) | JSON.map(json_bytes)
           | JSON_OBJECTS.map(json_bytes) | RAW_BYTES)


def _facts_are_typed(facts) -> None:
    assert facts.download_format is None or isinstance(facts.download_format, str)
    assert facts.quantization is None or isinstance(facts.quantization, str)
    assert all(isinstance(name, str) for name in facts.files)
    assert isinstance(facts.metadata.get("architecture", ""), str)
    context = facts.metadata.get("context_length", 0)
    assert isinstance(context, int) and not isinstance(context, bool)
    dumps(facts.metadata, indent=True)  # the registry can write whatever was kept


@budget(400)
@given(st.sampled_from(SIDE_FILES), CONTENT)
def test_detection_gives_typed_facts_or_names_the_file(name, content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_hf_folder(Path(tmp) / "m")
        (folder / name).write_bytes(content)
        with time_bound(10):
            try:
                facts = detect_folder(folder)
            except ModelFileError as exc:
                assert exc.path == str(folder / name) and "\n" not in exc.reason
                return
        _facts_are_typed(facts)


COMMANDS = {
    "scan": lambda cli, root: cli("scan", "--base", str(root)),
    "ingest-local-hf": lambda cli, root: cli("ingest-local-hf", "--root", str(root), program="imageworks-loader"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@budget(35)
@given(name=st.sampled_from(["config.json", "tokenizer_config.json", "quantize_config.json", "quant_config.json"]),
       content=CONTENT)
def test_a_command_beside_a_good_model(sandbox, cli, command, name, content):
    weights = sandbox.root / "models" / "weights"
    if not (weights / "Good").exists():
        write_hf_folder(weights / "Good" / "Good-Model")
    fresh(sandbox, weights / "Bad")
    bad = write_hf_folder(weights / "Bad" / "Bad-Model")
    (bad / name).write_bytes(content)
    with time_bound(30):
        result = COMMANDS[command](cli, weights)
    assert_ran_clean(result)
    paths = {r["download_path"] for r in registered(cli)}
    assert str(weights / "Good" / "Good-Model") in paths
    assert str(bad) in paths or warned_about(result, str(bad / name)), result.stderr


@budget(300)
@given(st.one_of(CONTENT, JSON.map(lambda doc: json.dumps(doc).encode()),
                 st.sampled_from([b"123456789012345678901234", b'{"n": -9223372036854775809}', b"1e400", b"NaN",
                                  b'"\\ud800"', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"[" * 2000,
                                  b'"\xed\xa0\x80"', b'{"a": 1, "a": 2}', b"-0", b"[1,]"])))
def test_loads_answers_and_fails_as_the_standard_library(data):
    """``jsonio.loads`` reads with orjson where that gives the same answer: every document gives
    the value ``json.loads`` gives (big integers stay integers), or the same error."""
    from imageworks_core.jsonio import loads

    try:
        expected = json.loads(data)
    except RecursionError:
        expected = ValueError("JSON nested too deeply")
    except ValueError as exc:
        expected = exc
    try:
        got = loads(data)
    except ValueError as exc:
        assert isinstance(expected, ValueError) and str(exc) == str(expected)
        return
    assert not isinstance(expected, ValueError)
    assert repr(got) == repr(expected) and type(got) is type(expected)
