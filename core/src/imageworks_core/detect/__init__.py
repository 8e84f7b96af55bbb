"""Format, quantisation and facts of model files, read from headers and config files without
reading weights. Shared by every provider that looks at files (local_scan, lmstudio, ollama, hf)."""

from .folder import FolderFacts, ModelFileError, detect_folder
from .gguf_header import GGUFHeaderError, GGUFInfo, read_gguf_info
from .names import gguf_sets, quant_label_from_filename

__all__ = [
    "FolderFacts",
    "GGUFHeaderError",
    "GGUFInfo",
    "ModelFileError",
    "detect_folder",
    "gguf_sets",
    "quant_label_from_filename",
    "read_gguf_info",
]
