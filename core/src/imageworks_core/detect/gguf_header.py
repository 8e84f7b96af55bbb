"""Read the key/value header of a GGUF file, stopping before the tensor data.

The ``gguf`` package's GGUFReader maps the whole file and parses every tensor record; a scan of
thousands of files needs only a few keys, so this reads the header sequentially and stops. The
value-type codes and the file-type names come from the ``gguf`` package.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any

import attrs

GGUF_MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_SIZES = {fmt: struct.calcsize(fmt) for fmt in (*_SCALARS.values(), "<Q", "<I")}
_STRUCTS = {fmt: (struct.Struct(fmt).unpack_from, struct.calcsize(fmt)) for fmt in _SIZES}
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_STRING, _ARRAY = 8, 9
_MAX_STRING = 64 * 1024 * 1024
_MAX_KV = 1_000_000
_MIN_TENSOR_INFO = 24
_MAX_ARRAY_DEPTH = 4  # arrays of arrays exist; deeper nesting is only a way to exhaust the stack


class GGUFHeaderError(ValueError):
    """Not a GGUF file, or a header that is truncated or malformed."""


@attrs.frozen
class GGUFInfo:
    version: int
    tensor_count: int
    values: dict[str, Any]

    @property
    def architecture(self) -> str | None:
        value = self.values.get("general.architecture")
        return value if isinstance(value, str) else None  # a header may hold any type under any key

    @property
    def file_type(self) -> int | None:
        value = self.values.get("general.file_type")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def quant(self) -> str | None:
        """llama.cpp's file-type name, lowercased (``q4_k_m``, ``bf16``, ``iq4_xs``...)."""
        return file_type_name(self.file_type)

    @property
    def context_length(self) -> int | None:
        arch = self.architecture
        value = self.values.get(f"{arch}.context_length") if arch else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def chat_template(self) -> str | None:
        value = self.values.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    def chat_template_sha256(self) -> str | None:
        template = self.chat_template
        return hashlib.sha256(template.encode("utf-8")).hexdigest() if template else None

    @property
    def is_projector(self) -> bool:
        return self.architecture == "clip" or "clip.has_vision_encoder" in self.values


# llama.cpp's file types (gguf.LlamaFileType), lowercased without MOSTLY_/ALL_. Kept here because
# importing the gguf package costs ~0.3 s (numpy) per scan; a test checks it against the package.
FILE_TYPES = {
    0: 'f32',
    1: 'f16',
    2: 'q4_0',
    3: 'q4_1',
    7: 'q8_0',
    8: 'q5_0',
    9: 'q5_1',
    10: 'q2_k',
    11: 'q3_k_s',
    12: 'q3_k_m',
    13: 'q3_k_l',
    14: 'q4_k_s',
    15: 'q4_k_m',
    16: 'q5_k_s',
    17: 'q5_k_m',
    18: 'q6_k',
    19: 'iq2_xxs',
    20: 'iq2_xs',
    21: 'q2_k_s',
    22: 'iq3_xs',
    23: 'iq3_xxs',
    24: 'iq1_s',
    25: 'iq4_nl',
    26: 'iq3_s',
    27: 'iq3_m',
    28: 'iq2_s',
    29: 'iq2_m',
    30: 'iq4_xs',
    31: 'iq1_m',
    32: 'bf16',
    36: 'tq1_0',
    37: 'tq2_0',
    38: 'mxfp4_moe',
    39: 'nvfp4',
    40: 'q1_0',
}


def file_type_name(file_type: int | None) -> str | None:
    if file_type is None:
        return None
    if file_type in FILE_TYPES:
        return FILE_TYPES[file_type]
    try:  # a type newer than this table: the gguf package knows it, when it is installed
        from gguf import LlamaFileType
    except ImportError:
        return f"type{file_type}"
    try:
        name = LlamaFileType(file_type).name
    except ValueError:
        return f"type{file_type}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()


class _Reader:
    """Reads from a buffer refilled in large blocks: a header has thousands of small fields (a
    vocabulary is 100,000+ strings), and one ``read`` call per field costs more than parsing
    them. Positional reads (``pread``) from offsets it keeps itself: no ``lseek`` to find where
    it is, nor to step over what it skips."""

    FIRST = 64 << 10  # most of a header without a vocabulary; one small read for small files
    BLOCK = 1 << 20

    def __init__(self, fd: int, path: Path | str, size: int, data: bytes):
        self.fd = fd
        self.path = path
        self.size = size
        self.data = data  # the file's bytes from offset ``base``
        self.base = 0
        self.pos = 0

    def _fill(self, size: int) -> None:
        """Make ``size`` bytes available at ``pos``."""
        # Never read (nor allocate) more than the file still holds: a header may claim 64 MiB.
        end = self.base + len(self.data)  # the file offset after the buffer
        have = len(self.data) - self.pos
        left = max(self.size - end, 0)
        if size - have > left:
            raise GGUFHeaderError(f"{self.path}: truncated GGUF header")
        want = min(max(size - have, self.BLOCK), left)
        chunks = [self.data[self.pos:]]
        got = 0
        while want > 0:
            chunk = os.pread(self.fd, want, end + got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            want -= len(chunk)
            if have + got >= size:
                break
        self.base += self.pos
        self.data = b"".join(chunks)
        self.pos = 0
        if len(self.data) < size:
            raise GGUFHeaderError(f"{self.path}: truncated GGUF header")

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            self._fill(size)
        piece = self.data[self.pos:self.pos + size]
        self.pos += size
        return piece

    def scalar(self, fmt: str) -> Any:
        unpack, size = _STRUCTS[fmt]
        if self.pos + size > len(self.data):
            self._fill(size)
        value = unpack(self.data, self.pos)[0]
        self.pos += size
        return value

    def string(self, keep: bool = True) -> str | None:
        size = self.scalar("<Q")
        if size > _MAX_STRING:
            raise GGUFHeaderError(f"{self.path}: implausible string length {size} in GGUF header")
        if not keep:
            self.skip(size)
            return None
        return self.take(size).decode("utf-8", "replace")

    def skip_strings(self, count: int) -> None:
        """Step over an array of strings (a vocabulary) in one tight loop."""
        unpack_length = _U64.unpack_from
        data, pos = self.data, self.pos
        for _ in range(count):
            if pos + 8 > len(data):
                self.pos = pos
                self._fill(8)
                data, pos = self.data, self.pos
            size = unpack_length(data, pos)[0]
            if size > _MAX_STRING:
                raise GGUFHeaderError(f"{self.path}: implausible string length {size} in GGUF header")
            pos += 8 + size
            if pos > len(data):
                self.pos = pos - size
                self.skip(size)
                data, pos = self.data, self.pos
        self.pos = pos

    def skip(self, size: int) -> None:
        buffered = len(self.data) - self.pos
        if size <= buffered:
            self.pos += size
            return
        # Past the buffer: the next read starts further on. Beyond the end is no error here;
        # tell() is checked.
        self.base += len(self.data) + (size - buffered)
        self.data, self.pos = b"", 0

    def tell(self) -> int:
        return self.base + self.pos

    def value(self, vtype: int, keep: bool, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string(keep)
        if vtype == _ARRAY:
            if depth >= _MAX_ARRAY_DEPTH:
                raise GGUFHeaderError(f"{self.path}: arrays nested deeper than {_MAX_ARRAY_DEPTH} levels")
            item_type = self.scalar("<I")
            count = self.scalar("<Q")
            if item_type in _SCALARS and not keep:
                self.skip(_SIZES[_SCALARS[item_type]] * count)
                return None
            if count > 50_000_000:
                raise GGUFHeaderError(f"{self.path}: implausible array length {count}")
            if item_type == _STRING and not keep:
                self.skip_strings(count)
                return None
            items = [self.value(item_type, keep, depth + 1) for _ in range(count)]
            return items if keep else None
        raise GGUFHeaderError(f"{self.path}: unknown GGUF value type {vtype}")


# Keys worth keeping; big arrays (the vocabulary) are skipped, not stored.
def _keep(key: str) -> bool:
    return key.startswith(("general.", "split.", "clip.")) or key in ("tokenizer.chat_template",) or (
        key.count(".") == 1 and not key.startswith("tokenizer.")
    )


_KEPT: dict[str, bool] = {}  # _keep's answers: the same few dozen keys come back in every header
_KEPT_MAX = 4096  # a hostile header's made-up keys are not remembered past this
_HEAD = struct.Struct("<4sIQQ")  # magic, version, tensor count, key count
_SCALAR_READS = {vtype: _STRUCTS[fmt] for vtype, fmt in _SCALARS.items()}


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """The header's interesting values. Raises GGUFHeaderError (or OSError) on a bad file."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # raw reads: no buffered file object per model
    try:
        size = os.fstat(fd).st_size
        reader = _Reader(fd, path, size, os.read(fd, _Reader.FIRST))
        data = reader.data
        if len(data) >= _HEAD.size and data[:4] == GGUF_MAGIC:  # the whole fixed header at hand
            _magic, version, tensor_count, kv_count = _HEAD.unpack_from(data)
            reader.pos = _HEAD.size
            if version not in (2, 3):
                raise GGUFHeaderError(f"{path}: unsupported GGUF version {version}")
        else:  # field by field: the error says what is wrong (bad magic, or truncated where)
            if reader.take(4) != GGUF_MAGIC:
                raise GGUFHeaderError(f"{path}: not a GGUF file (bad magic)")
            version = reader.scalar("<I")
            if version not in (2, 3):
                raise GGUFHeaderError(f"{path}: unsupported GGUF version {version}")
            tensor_count = reader.scalar("<Q")
            kv_count = reader.scalar("<Q")
        if kv_count > _MAX_KV:
            raise GGUFHeaderError(f"{path}: implausible key count {kv_count}")
        # Each tensor's description takes at least 24 bytes after the keys (name length,
        # dimension count, type, offset): a count the file cannot hold is not a model's.
        if tensor_count > size // _MIN_TENSOR_INFO:
            raise GGUFHeaderError(f"{path}: implausible tensor count {tensor_count} for a {size}-byte file")
        values: dict[str, Any] = {}
        unpack_u64, unpack_u32, scalar_reads, kept = _U64.unpack_from, _U32.unpack_from, _SCALAR_READS, _KEPT
        data, pos = reader.data, reader.pos
        have = len(data)
        for _ in range(kv_count):
            # The common case inline, on local variables (key, type and a scalar or string value
            # all in the buffer): a scan reads thousands of headers, and each field through the
            # reader's methods costs several calls. Anything else (a refill, an array, a bad
            # length) goes the general way, which also raises the errors.
            if pos + 8 <= have:
                length = unpack_u64(data, pos)[0]
                end = pos + 8 + length
                if length <= _MAX_STRING and end + 4 <= have:
                    key = data[pos + 8:end].decode("utf-8", "replace")
                    vtype = unpack_u32(data, end)[0]
                    pos = end + 4
                    keep = kept.get(key)
                    if keep is None:
                        keep = _keep(key)
                        if len(kept) < _KEPT_MAX:
                            kept[key] = keep
                    read = scalar_reads.get(vtype)
                    if read is not None:
                        unpack, width = read
                        if pos + width <= have:
                            if keep:
                                values[key] = unpack(data, pos)[0]
                            pos += width
                            continue
                    elif vtype == _STRING and pos + 8 <= have:
                        length = unpack_u64(data, pos)[0]
                        end = pos + 8 + length
                        if length <= _MAX_STRING and end <= have:
                            if keep:
                                values[key] = data[pos + 8:end].decode("utf-8", "replace")
                            pos = end
                            continue
                    reader.pos = pos
                    value = reader.value(vtype, keep)
                    if keep:
                        values[key] = value
                    data, pos = reader.data, reader.pos
                    have = len(data)
                    continue
            reader.pos = pos
            key = reader.string()
            vtype = reader.scalar("<I")
            keep = _keep(key)
            value = reader.value(vtype, keep)
            if keep:
                values[key] = value
            data, pos = reader.data, reader.pos
            have = len(data)
        reader.pos = pos
        if reader.tell() > size:  # a skip can run past the end: that is no error until here
            raise GGUFHeaderError(f"{path}: truncated GGUF header")
    finally:
        os.close(fd)
    return GGUFInfo(version, tensor_count, values)
