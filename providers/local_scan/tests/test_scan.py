import json
import os
import sys

import pytest

from imageworks_core.detect import read_gguf_info
from imageworks_testing.fixtures import write_gguf, write_hf_folder, write_safetensors


@pytest.fixture
def weights(sandbox):
    return sandbox.root / "models" / "weights"


@pytest.mark.parametrize("file_type, quant", [
    (0, "f32"), (1, "f16"), (2, "q4_0"), (7, "q8_0"), (15, "q4_k_m"), (17, "q5_k_m"), (18, "q6_k"),
    (30, "iq4_xs"), (19, "iq2_xxs"), (32, "bf16"), (38, "mxfp4_moe"),
])
def test_gguf_file_types(tmp_path, file_type, quant):
    path = write_gguf(tmp_path / "m.gguf", file_type=file_type)
    assert read_gguf_info(path).quant == quant


def test_scan_registers_each_kind(weights, cli, sandbox):
    write_gguf(weights / "bartowski" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q4_K_M.gguf", file_type=15,
               basename="Qwen3", size_label="8B", chat_template="{% if tools %}{{ tools }}{% endif %}<think>")
    write_gguf(weights / "bartowski" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q8_0.gguf", file_type=7,
               basename="Qwen3", size_label="8B")
    write_hf_folder(weights / "Qwen" / "Qwen2.5-VL-7B-Instruct-AWQ", config={
        "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
        "vision_config": {}, "max_position_embeddings": 128000,
        "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}},
        dtype="I32")
    write_hf_folder(weights / "meta" / "Llama-3.1-8B-Instruct", shards=3)
    write_hf_folder(weights / "x" / "Model-GPTQ", config={"architectures": ["MistralForCausalLM"]},
                    side_files={"quantize_config.json": {"bits": 8, "group_size": 128, "desc_act": False}})
    write_hf_folder(weights / "x" / "Model-bnb", config={"quantization_config": {
        "quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}})
    write_hf_folder(weights / "x" / "Model-FP8", config={"quantization_config": {
        "quant_method": "compressed-tensors", "format": "float-quantized",
        "config_groups": {"g": {"weights": {"num_bits": 8, "type": "float"}}}}})
    write_hf_folder(weights / "mlx-community" / "Llama-3.2-1B-Instruct-4bit",
                    config={"quantization": {"group_size": 64, "bits": 4}, "model_type": "llama"})
    write_hf_folder(weights / "x" / "testmodel-tiny")
    result = cli("scan", "--base", str(weights))
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert set(rows) == {
        "qwen3-8b-llamacpp-gguf-q4_k_m", "qwen3-8b-llamacpp-gguf-q8_0",
        "qwen2.5-vl-7b-instruct-vllm-awq-int4", "llama-3.1-8b-instruct-vllm-safetensors-bf16",
        "model-vllm-gptq-int8", "model-vllm-bnb-nf4", "model-vllm-safetensors-fp8",
        "llama-3.2-1b-instruct-mlx-int4",
    }, sorted(rows)
    q4 = rows["qwen3-8b-llamacpp-gguf-q4_k_m"]
    assert q4["chat_template"]["source"] == "embedded"
    assert q4["capabilities"]["tools"] and q4["capabilities"]["thinking"]
    assert q4["metadata"]["context_length"] == 4096 and q4["metadata"]["parameter_size"] == "8B"
    assert q4["download_location"] == "linux_wsl" and q4["source_provider"] == "local_scan"
    assert q4["metadata"]["identity"] == "local_scan:" + os.path.realpath(
        weights / "bartowski" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q4_K_M.gguf")
    awq = rows["qwen2.5-vl-7b-instruct-vllm-awq-int4"]
    assert awq["capabilities"]["vision"] and awq["metadata"]["quant_details"]["group_size"] == 128
    assert awq["metadata"]["context_length"] == 128000
    llama = rows["llama-3.1-8b-instruct-vllm-safetensors-bf16"]
    assert len([f for f in llama["download_files"] if f.endswith(".safetensors")]) == 3
    assert "model.safetensors.index.json" in llama["download_files"]
    assert llama["download_size_bytes"] == sum(
        (weights / "meta" / "Llama-3.1-8B-Instruct" / f).stat().st_size for f in llama["download_files"])
    assert len(llama["download_directory_checksum"]) == 16
    # the test folder is only registered on request, and marked
    cli("scan", "--base", str(weights), "--include-testing")
    names = {r["name"] for r in cli("list", "--json", "--include-testing").json()}
    assert any(n.startswith("testmodel-tiny") for n in names)


def test_split_sets_and_projectors(weights, cli):
    repo = weights / "org" / "Big-GGUF"
    for i in range(1, 4):
        write_gguf(repo / f"Big-Q4_K_M-{i:05d}-of-00003.gguf", file_type=15, basename="Big")
    write_gguf(repo / "mmproj-Big-f16.gguf", projector=True, file_type=1)
    write_gguf(repo / "Big-Q2_K-00001-of-00002.gguf", file_type=10)  # incomplete set
    result = cli("scan", "--base", str(weights))
    assert result.exit_code == 0
    assert "incomplete split" in result.stderr
    rows = cli("list", "--json").json()
    assert len(rows) == 1
    row = rows[0]
    assert row["download_files"] == [f"Big-Q4_K_M-{i:05d}-of-00003.gguf" for i in range(1, 4)] + ["mmproj-Big-f16.gguf"]
    assert row["capabilities"]["vision"] and row["metadata"]["gguf_split_count"] == 3


def test_label_disagreement_is_flagged(weights, cli):
    write_gguf(weights / "Odd-Q8_0.gguf", file_type=15)
    cli("scan", "--base", str(weights))
    row = cli("list", "--json").json()[0]
    assert row["quantization"] == "q4_k_m"
    assert row["metadata"]["quant_label"] == "q8_0" and "q8_0" in row["metadata"]["quant_mismatch"]


def test_bad_files_are_reported_and_skipped(weights, cli, sandbox):
    good = write_gguf(weights / "good" / "Good-Q4_K_M.gguf")
    truncated = weights / "bad" / "Bad-Q4_K_M.gguf"
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(good.read_bytes()[:40])
    (weights / "bad" / "Junk-Q4_0.gguf").write_bytes(b"not a gguf at all")
    (weights / "links").mkdir()
    (weights / "links" / "gone.gguf").symlink_to(weights / "nowhere.gguf")
    locked = weights / "locked"
    locked.mkdir()
    write_gguf(locked / "L-Q4_K_M.gguf")
    locked.chmod(0)
    try:
        result = cli("scan", "--base", str(weights))
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 0
    assert result.stderr.count("truncated GGUF header") == 1 and result.stderr.count("bad magic") == 1
    assert result.stderr.count("broken symlink") == 1
    names = [r["name"] for r in cli("list", "--json").json()]
    if os.geteuid() == 0:  # root reads a chmod 0 folder anyway
        assert names == ["good-llamacpp-gguf-q4_k_m", "l-llamacpp-gguf-q4_k_m"]
    else:
        assert names == ["good-llamacpp-gguf-q4_k_m"] and "cannot read folder" in result.stderr


def test_rescan_is_idempotent_and_dry_run_writes_nothing(weights, cli, sandbox):
    write_gguf(weights / "a" / "A-Q4_K_M.gguf")
    dry = cli("scan", "--base", str(weights), "--dry-run")
    assert dry.exit_code == 0 and "would add" in dry.stdout
    assert not sandbox.layer("discovered").exists()
    cli("scan", "--base", str(weights))
    first = sandbox.layer("discovered").read_bytes()
    again = cli("scan", "--base", str(weights), "--update-existing")
    assert "0 added, 0 updated, 1 unchanged" in again.stdout
    assert sandbox.layer("discovered").read_bytes() == first
    # a changed file updates the same entry
    write_gguf(weights / "a" / "A-Q4_K_M.gguf", tensor_values=64)
    cli("scan", "--base", str(weights), "--update-existing")
    rows = sandbox.read_layer("discovered")
    assert len(rows) == 1 and rows[0]["download_size_bytes"] == (weights / "a" / "A-Q4_K_M.gguf").stat().st_size


def test_scan_marks_vanished_models(weights, cli, sandbox):
    path = write_gguf(weights / "a" / "A-Q4_K_M.gguf")
    cli("scan", "--base", str(weights))
    path.unlink()
    result = cli("scan", "--base", str(weights))
    assert "no longer in its source" in result.stderr
    assert "missing_since" in sandbox.read_layer("discovered")[0]["metadata"]


def test_fallback_format_and_pytorch_onnx(weights, cli):
    (weights / "o" / "pt").mkdir(parents=True)
    (weights / "o" / "pt" / "pytorch_model.bin").write_bytes(b"\0" * 10)
    (weights / "o" / "pt" / "config.json").write_text(json.dumps({"torch_dtype": "float16"}))
    (weights / "o" / "onnxmodel").mkdir(parents=True)
    (weights / "o" / "onnxmodel" / "model.onnx").write_bytes(b"\0" * 10)
    (weights / "o" / "raw").mkdir(parents=True)
    (weights / "o" / "raw" / "consolidated.pth").write_bytes(b"\0" * 10)
    cli("scan", "--base", str(weights), "--format", "pytorch")
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert rows["pt-vllm-pytorch-fp16"]["download_format"] == "pytorch"
    assert rows["onnxmodel-unassigned-onnx"]["download_format"] == "onnx"
    assert rows["raw-vllm-pytorch"]["metadata"]["format_from"] == "--format fallback"


def test_safetensors_dtype_from_header_when_config_is_silent(weights, cli):
    folder = weights / "o" / "plain"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    write_safetensors(folder / "model.safetensors", {"w": ("F16", [2, 2])})
    cli("scan", "--base", str(weights))
    assert cli("list", "--json").json()[0]["quantization"] == "fp16"


def test_file_type_table_matches_the_gguf_package():
    import gguf

    from imageworks_core.detect.gguf_header import FILE_TYPES

    expected = {m.value: m.name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()
                for m in gguf.LlamaFileType if m.name != "GUESSED"}
    assert FILE_TYPES == expected


def test_rescans_reuse_unchanged_folders(weights, cli, sandbox, monkeypatch):
    import imageworks_core.model_files as model_files
    from imageworks_core.cachedir import cache_path

    write_gguf(weights / "a" / "A-Q4_K_M.gguf")
    changing = write_gguf(weights / "b" / "B-Q8_0.gguf", file_type=7)
    bad = weights / "c" / "C-Q4_K_M.gguf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"GGUF\x03\x00")
    assert cli("scan", "--base", str(weights), "--dry-run").exit_code == 0
    assert not cache_path(sandbox.registry_dir, "scan").exists()  # a dry run writes nothing
    cli("scan", "--base", str(weights))
    calls = []
    real = model_files.read_gguf_info
    monkeypatch.setattr(model_files, "read_gguf_info", lambda p: calls.append(os.path.basename(p)) or real(p))
    again = cli("scan", "--base", str(weights), "--update-existing")
    assert calls == [] and "truncated GGUF header" in again.stderr  # cached, warnings included
    assert "0 added, 0 updated, 2 unchanged" in again.stdout
    write_gguf(changing, file_type=7, tensor_values=99)
    cli("scan", "--base", str(weights), "--update-existing")
    assert calls == ["B-Q8_0.gguf"]
    calls.clear()
    cli("scan", "--base", str(weights), "--include-testing")  # other options: detect afresh
    assert sorted(calls) == ["A-Q4_K_M.gguf", "B-Q8_0.gguf", "C-Q4_K_M.gguf"]
    cache_path(sandbox.registry_dir, "scan").write_bytes(b"garbage")
    assert cli("scan", "--base", str(weights)).exit_code == 0


def test_header_reader_skips_a_large_vocabulary(tmp_path):
    import gguf
    import numpy as np

    path = tmp_path / "vocab.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_file_type(15)
    writer.add_token_list([f"token-{i}" for i in range(120_000)])
    writer.add_token_scores([0.5] * 120_000)
    writer.add_chat_template("{{ messages }}")
    writer.add_context_length(32768)
    writer.add_tensor("w", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = read_gguf_info(path)
    assert info.quant == "q4_k_m" and info.chat_template == "{{ messages }}" and info.context_length == 32768
    assert "tokenizer.ggml.tokens" not in info.values  # skipped, not stored
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    import pytest as _pytest

    from imageworks_core.detect import GGUFHeaderError

    with _pytest.raises(GGUFHeaderError, match="truncated"):
        read_gguf_info(truncated)


def test_loose_ggufs_do_not_hide_the_folders_beside_them(sandbox, cli):
    """A real ~/models: loose GGUF files at the top and in an owner folder, next to model
    folders and GGUF repo folders; a model folder still owns its onnx/ and original/."""
    models = sandbox.home / "models"
    write_gguf(models / "Loose-3B-IQ4_XS.gguf", file_type=30, basename="Loose", size_label="3B")
    write_hf_folder(models / "acme" / "Plain-1B")
    write_safetensors(models / "acme" / "Plain-1B" / "original" / "consolidated.safetensors")
    (models / "acme" / "Plain-1B" / "onnx").mkdir()
    (models / "acme" / "Plain-1B" / "onnx" / "model.onnx").write_bytes(b"onnx")
    write_gguf(models / "acme" / "Foo-7B-GGUF" / "Foo-7B-Q4_K_M.gguf", basename="Foo", size_label="7B")
    write_gguf(models / "acme" / "Stray-2B-Q8_0.gguf", file_type=7, basename="Stray", size_label="2B")
    write_gguf(models / "acme" / "Foo-7B-GGUF" / "older" / "Foo-7B-Q8_0.gguf", file_type=7,
               basename="Foo", size_label="7B")
    result = cli("scan", "--base", str(models))
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert set(rows) == {
        "loose-3b-llamacpp-gguf-iq4_xs", "plain-1b-vllm-safetensors-bf16", "foo-7b-llamacpp-gguf-q4_k_m",
        "foo-7b-llamacpp-gguf-q8_0", "stray-2b-llamacpp-gguf-q8_0",
    }, sorted(rows)
    # onnx/ and original/ belong to Plain-1B: no entries of their own.
    plain = rows["plain-1b-vllm-safetensors-bf16"]
    assert plain["download_path"] == str(models / "acme" / "Plain-1B")


def test_scan_report_is_compact_when_piped_complete_with_details_and_json(weights, cli):
    for i in range(3):
        write_gguf(weights / f"o{i}" / f"M{i}-Q4_K_M.gguf", basename=f"M{i}")
    first = cli("scan", "--base", str(weights))
    lines = [line.split("\t") for line in first.stdout.splitlines() if "\t" in line]
    assert sorted(line[1] for line in lines) == [f"m{i}-llamacpp-gguf-q4_k_m" for i in range(3)]
    assert all(line[0] == "added" for line in lines)
    write_gguf(weights / "o3" / "M3-Q8_0.gguf", file_type=7, basename="M3")
    again = cli("scan", "--base", str(weights))
    assert [line.split("\t")[:2] for line in again.stdout.splitlines() if "\t" in line] == [
        ["added", "m3-llamacpp-gguf-q8_0"]]  # unchanged entries are counted, not listed
    assert "1 added, 0 updated, 0 unchanged, 3 already registered" in again.stdout
    details = cli("scan", "--base", str(weights), "--details", "--dry-run")
    assert sum("\t" in line for line in details.stdout.splitlines()) == 4
    doc = cli("scan", "--base", str(weights), "--json", "--dry-run", "--update-existing").json()
    assert doc["dry_run"] and doc["summary"]["unchanged"] == 4 and len(doc["changes"]) == 4
    assert {c["action"] for c in doc["changes"]} == {"unchanged"}


def test_interrupted_downloads_and_hidden_folders_are_not_models(weights, cli):
    write_hf_folder(weights / "acme" / "Done")
    partial = weights / "acme" / "Broken" / ".imageworks-partial"
    write_hf_folder(partial)  # an interrupted download's staging holds weights-looking files
    write_hf_folder(weights / "acme" / "Repo" / ".git" / "lfs")
    assert cli("scan", "--base", str(weights)).exit_code == 0
    assert [r["download_path"] for r in cli("list", "--json").json()] == [str(weights / "acme" / "Done")]


def test_an_unfinished_aria2c_download_is_not_a_model(weights, cli):
    """`X` beside `X.aria2` (any aria2c run left it) is named and left out; the finished quant
    beside it is registered, and so is `X` once aria2c has finished and removed its control file."""
    folder = weights / "bartowski" / "Qwen3-8B-GGUF"
    write_gguf(folder / "Qwen3-8B-Q4_K_M.gguf", file_type=15)
    partial = write_gguf(folder / "Qwen3-8B-Q8_0.gguf", file_type=7)
    control = folder / "Qwen3-8B-Q8_0.gguf.aria2"
    control.write_bytes(b"\x00\x01" + b"\x00" * 64)
    result = cli("scan", "--base", str(weights))
    assert result.exit_code == 0, result.stderr
    assert "Qwen3-8B-Q8_0.gguf" in result.stderr and "unfinished aria2c download" in result.stderr
    assert [r["quantization"] for r in cli("list", "--json").json()] == ["q4_k_m"]
    control.unlink()
    assert cli("scan", "--base", str(weights)).exit_code == 0
    assert sorted(r["quantization"] for r in cli("list", "--json").json()) == ["q4_k_m", "q8_0"]
    assert partial.exists()


def test_keys_after_a_large_vocabulary_are_read_as_the_gguf_package_reads_them(tmp_path):
    """The vocabulary (strings of every length, multi-byte UTF-8 included) spans many of the
    reader's buffers; every key after it must still come out right."""
    import gguf

    from imageworks_core.kit import read_gguf_info
    from imageworks_testing.fixtures import write_gguf

    vocabulary = [("▁tok" * (i % 37)) + f"é{i}" + ("x" * (i % 300)) for i in range(120_000)]
    path = write_gguf(tmp_path / "Vocab-7B-Q4_K_M.gguf", vocabulary=vocabulary, basename="Vocab",
                      size_label="7B", chat_template="{{ messages }} tools")
    info = read_gguf_info(path)
    theirs = gguf.GGUFReader(str(path))
    for key in ("general.basename", "general.size_label", "tokenizer.chat_template", "llama.context_length"):
        field = theirs.fields[key]
        expected = field.contents()
        assert info.values[key] == expected, key
    assert info.quant == "q4_k_m" and "tokenizer.ggml.tokens" not in info.values


def test_identities_are_real_paths_through_links(sandbox):
    """A variant's identity is its file's (or folder's) real path, whatever way the walk came to
    it: a base named through a link, a GGUF that is a link to elsewhere, folders the walk knows
    are not links without asking the disk."""
    from imageworks_core import DiscoverRequest, Session
    from imageworks_core.discovery import collect_variants

    real = sandbox.root / "disk" / "models"
    for i in range(4):
        write_gguf(real / f"org{i}" / f"M{i}-GGUF" / f"M{i}-Q4_K_M.gguf")
    write_hf_folder(real / "org0" / "Plain-7B")
    elsewhere = write_gguf(sandbox.root / "elsewhere" / "Target-Q8_0.gguf", file_type=7)
    (real / "org1" / "Linked-GGUF").mkdir()
    (real / "org1" / "Linked-GGUF" / "Linked-Q8_0.gguf").symlink_to(elsewhere)
    via = sandbox.root / "via"
    via.symlink_to(real)
    (real / "org2" / "loop").symlink_to(real)  # a link to a folder: not followed, and not "broken"

    session = Session.open(sandbox.registry_dir)
    variants, warnings = collect_variants(session, ["local_scan"], DiscoverRequest(roots=(str(via),)))
    assert warnings == [(f"{via}/org2/loop", "link to a folder, not followed: scan its target with --base")]
    identities = {v.download_path.replace(str(via), "<via>"): v.identity for v in variants}
    assert identities == {
        **{f"<via>/org{i}/M{i}-GGUF": f"local_scan:{real.resolve()}/org{i}/M{i}-GGUF/M{i}-Q4_K_M.gguf" for i in range(4)},
        "<via>/org0/Plain-7B": f"local_scan:{real.resolve()}/org0/Plain-7B",
        "<via>/org1/Linked-GGUF": f"local_scan:{elsewhere.resolve()}",
    }


@pytest.mark.parametrize("shift", range(0, 48, 3))
def test_fields_across_the_first_buffer_are_read_as_the_gguf_package_reads_them(tmp_path, shift):
    """The reader's first buffer ends inside a key, a type or a value, at every offset a field
    can straddle: each value still equals what the gguf package reads."""
    import gguf

    from imageworks_core.kit import read_gguf_info
    from imageworks_core.detect.gguf_header import _Reader
    from imageworks_testing.fixtures import write_gguf

    # A chat template long enough that the fields after it (basename, size label, context
    # length, extras) fall across the end of the first read, shifted byte by byte.
    template = "t" * (_Reader.FIRST - 400 + shift)
    path = write_gguf(tmp_path / "Edge-7B-Q4_K_M.gguf", chat_template=template, basename="Edge", size_label="7B",
                      extra={f"general.note{i}": "é" * i for i in range(12)})
    info = read_gguf_info(path)
    theirs = gguf.GGUFReader(str(path))
    for key, field in theirs.fields.items():
        if key in info.values:
            assert info.values[key] == field.contents(), key
    assert info.values["general.basename"] == "Edge" and info.values["general.note11"] == "é" * 11
    assert info.context_length == 4096 and info.quant == "q4_k_m"


def test_the_walks_sizes_reach_the_registry_without_another_stat(weights, cli, monkeypatch):
    """The sizes the walk read travel in the variant: registering stats no file again, and the
    entry's size and checksum are what a stat gives."""
    import imageworks_core.registry.register as register
    from imageworks_core.fileset import directory_checksum

    gguf = write_gguf(weights / "a" / "A-Q4_K_M.gguf")
    folder = weights / "b" / "Model"
    write_hf_folder(folder)

    def no_stat(*_args):
        raise AssertionError("the registry stat the files again")

    monkeypatch.setattr(register, "stat_sizes", no_stat)
    assert cli("scan", "--base", str(weights)).exit_code == 0
    rows = {r["download_path"]: r for r in cli("list", "--json").json()}
    assert rows[str(gguf.parent)]["download_size_bytes"] == gguf.stat().st_size
    held = {name: (folder / name).stat().st_size for name in rows[str(folder)]["download_files"]}
    assert rows[str(folder)]["download_size_bytes"] == sum(held.values())
    assert rows[str(folder)]["download_directory_checksum"] == directory_checksum(held)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a scan is shared with a forked child on Linux")
def test_a_scan_shared_with_a_forked_child_finds_what_one_process_finds(weights, cli, sandbox, monkeypatch):
    """The sub-trees a forked child walks come back in the walk's order, with their warnings and
    their scan-cache records: the registry, the report and the cache are the ones a scan in one
    process makes, names of clashing copies included."""
    import threading

    import imageworks_core.forked as forked
    import imageworks_local_scan.plugin as plugin
    from imageworks_core.cachedir import cache_path

    for i in range(40):
        # The same model in many places: which copy gets the plain name depends on the order.
        write_gguf(weights / f"org{i % 7}" / f"copy-{i}" / f"Same-Q4_K_M.gguf", basename="Same", size_label="1B")
        write_hf_folder(weights / f"org{i % 7}" / f"model-{i}")
    (weights / "org3" / "copy-3" / "gone.gguf").symlink_to(weights / "nowhere.gguf")
    (weights / "org5" / "bad").mkdir()
    (weights / "org5" / "bad" / "Bad-Q4_0.gguf").write_bytes(b"not a gguf at all")
    (weights / "deep" / "a" / "b").mkdir(parents=True)
    write_gguf(weights / "deep" / "a" / "b" / "Deep-Q8_0.gguf", file_type=7)

    pids = sandbox.root / "pids"
    real_detect = plugin.detect

    def detect(*args, **kwargs):
        with open(pids, "a") as handle:  # O_APPEND: both processes' lines land whole
            handle.write(f"{os.getpid()}\n")
        return real_detect(*args, **kwargs)

    monkeypatch.setattr(plugin, "detect", detect)
    monkeypatch.setattr(forked, "usable_cores", lambda: 2)  # share even on a one-core runner

    def scan(share_at: int, registry: str):
        monkeypatch.setattr(plugin, "SHARE_AT", share_at)
        monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(sandbox.root / registry))
        pids.unlink(missing_ok=True)
        result = cli("scan", "--base", str(weights), "--json")
        assert result.exit_code == 0, result.stderr
        layer = json.loads((sandbox.root / registry / "model_registry.discovered.json").read_text())
        for row in layer["models"]:
            row.pop("downloaded_at"), row.pop("updated_at")
        cache = cache_path(sandbox.root / registry, "scan").read_bytes()
        return result.stdout, result.stderr, layer, cache, set(pids.read_text().split())

    assert threading.active_count() == 1, [t.name for t in threading.enumerate()]  # else nothing forks
    alone = scan(10**9, "alone")
    shared = scan(4, "shared")
    assert alone[4] == {str(os.getpid())}
    assert len(shared[4]) == 2  # the child did read folders
    assert shared[0] == alone[0] and shared[1] == alone[1] and shared[2] == alone[2]
    assert "broken symlink" in shared[1] and "bad magic" in shared[1]
    import marshal

    assert marshal.loads(shared[3])["folders"] == marshal.loads(alone[3])["folders"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a scan is shared with a forked child on Linux")
def test_ctrl_c_to_the_process_group_stops_a_shared_scan_and_its_child(sandbox):
    """A terminal's Ctrl-C reaches the scan and its forked child at once: the command ends with
    130 within seconds, the child is gone, and nothing is registered."""
    import signal
    import subprocess
    import time

    from imageworks_testing.fixtures import CTRL_C_AS_IN_A_TERMINAL

    tree = sandbox.root / "models" / "many"
    template = write_gguf(sandbox.root / "template.gguf").read_bytes()
    for i in range(400):
        folder = tree / f"org{i % 80}" / f"m{i}"
        folder.mkdir(parents=True)
        (folder / f"M{i}-Q4_K_M.gguf").write_bytes(template)
    # Each folder read takes 20 ms here, so the walk is still going when the signal comes.
    code = CTRL_C_AS_IN_A_TERMINAL + (
        "import time, imageworks_local_scan.plugin as p; real = p.detect\n"
        "p.detect = lambda *a, **k: (time.sleep(0.02), real(*a, **k))[1]\n"
        "import sys; from imageworks_core.cli.download_program import main; sys.argv[0] = 'imageworks-download'; main()")
    proc = subprocess.Popen([sys.executable, "-c", code, "scan", "--base", str(tree)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        children: list[str] = []
        deadline = time.monotonic() + 30
        while not children and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            try:
                with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as handle:
                    children = handle.read().split()
            except OSError:
                pass
        assert children, "the scan never forked"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does with Ctrl-C: the whole group
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{child}") for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{child}") for child in children)
    assert not sandbox.layer("discovered").exists()
