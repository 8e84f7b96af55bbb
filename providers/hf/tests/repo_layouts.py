"""File listings of real Hugging Face repos, as the hub lists them (docs/providers.md hf: the repo as
published, minus other formats' weights). Contents are small stand-ins; names are the real ones."""

from __future__ import annotations

import json

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_FILES = [
    ".gitattributes", "1_Pooling/config.json", "README.md", "config.json", "config_sentence_transformers.json",
    "data_config.json", "model.safetensors", "modules.json", "onnx/model.onnx", "onnx/model_O1.onnx",
    "onnx/model_O4.onnx", "onnx/model_qint8_avx512.onnx", "onnx/model_quint8_avx2.onnx",
    "openvino/openvino_model.bin", "openvino/openvino_model.xml", "openvino/openvino_model_qint8_quantized.bin",
    "openvino/openvino_model_qint8_quantized.xml", "pytorch_model.bin", "rust_model.ot",
    "sentence_bert_config.json", "special_tokens_map.json", "tf_model.h5", "tokenizer.json",
    "tokenizer_config.json", "train_script.py", "vocab.txt",
]
MINILM_SELECTED = {
    "1_Pooling/config.json", "config.json", "config_sentence_transformers.json", "data_config.json",
    "model.safetensors", "modules.json", "sentence_bert_config.json", "special_tokens_map.json",
    "tokenizer.json", "tokenizer_config.json", "train_script.py", "vocab.txt",
}

QWEN_VL = "Qwen/Qwen2.5-VL-7B-Instruct"
QWEN_VL_FILES = [
    ".gitattributes", "README.md", "chat_template.json", "config.json", "generation_config.json", "merges.txt",
    *[f"model-0000{i}-of-00005.safetensors" for i in range(1, 6)], "model.safetensors.index.json",
    "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
]
QWEN_VL_SELECTED = set(QWEN_VL_FILES) - {".gitattributes", "README.md"}

GEMMA_GGUF = "unsloth/gemma-3-4b-it-GGUF"
GEMMA_GGUF_FILES = [
    ".gitattributes", "README.md", "gemma-3-4b-it-BF16.gguf", "gemma-3-4b-it-Q4_K_M.gguf", "gemma-3-4b-it-Q8_0.gguf",
    "gemma-3-4b-it-IQ4_XS.gguf", "gemma-3-4b-it.imatrix", "mmproj-F16.gguf", "params",
    "Q6_K/gemma-3-4b-it-Q6_K-00001-of-00002.gguf", "Q6_K/gemma-3-4b-it-Q6_K-00002-of-00002.gguf",
]

MISTRAL = "mistralai/Mistral-7B-Instruct-v0.2"
MISTRAL_FILES = [
    ".gitattributes", "README.md", "config.json", "generation_config.json",
    *[f"model-0000{i}-of-00003.safetensors" for i in range(1, 4)], "model.safetensors.index.json",
    *[f"pytorch_model-0000{i}-of-00003.bin" for i in range(1, 4)], "pytorch_model.bin.index.json",
    "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
]
MISTRAL_SELECTED = {
    "config.json", "generation_config.json", *[f"model-0000{i}-of-00003.safetensors" for i in range(1, 4)],
    "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model",
    "tokenizer_config.json",
}


def contents(paths: list[str], config: dict | None = None) -> dict[str, bytes]:
    """Small stand-in contents: valid JSON for .json files, a GGUF-looking prefix is not needed
    for selection tests (downloads write real GGUF files where they read headers)."""
    out: dict[str, bytes] = {}
    for path in paths:
        if path == "config.json":
            out[path] = json.dumps(config or {"architectures": ["BertModel"], "torch_dtype": "float32"}).encode()
        elif path.endswith(".json"):
            out[path] = json.dumps({"file": path}).encode()
        else:
            out[path] = f"stand-in bytes of {path}\n".encode() * 64
    return out
