"""The GGUF header reader as it was before its one-block rewrite (sequential reads through a
buffer, ``lseek`` to skip and to tell): kept as the reference the current reader is checked
against on hostile headers (``test_gguf_headers.py``). Not used by the product."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from imageworks_core.detect.gguf_header import GGUF_MAGIC, GGUFHeaderError

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_SIZES = {fmt: struct.calcsize(fmt) for fmt in (*_SCALARS.values(), "<Q", "<I")}
_STRUCTS = {fmt: (struct.Struct(fmt).unpack_from, struct.calcsize(fmt)) for fmt in _SIZES}
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_STRING, _ARRAY = 8, 9
_MAX_STRING = 64 * 1024 * 1024
_MAX_KV = 1_000_000
_MIN_TENSOR_INFO = 24
_MAX_ARRAY_DEPTH = 4


class _Reader:
    """Sequential reads from a buffer refilled in large blocks: a header has thousands of small
    fields (a vocabulary is 100,000+ strings), and one ``read`` call per field costs more than
    parsing them."""

    FIRST = 64 << 10  # most of a header without a vocabulary; one small read for small files
    BLOCK = 1 << 20

    def __init__(self, fd: int, path: Path | str):
        self.fd = fd
        self.path = path
        self.size = os.fstat(fd).st_size
        self.data = os.read(fd, self.FIRST)
        self.pos = 0

    def _fill(self, size: int) -> None:
        """Make ``size`` bytes available at ``pos``."""
        # Never read (nor allocate) more than the file still holds: a header may claim 64 MiB.
        left = max(self.size - os.lseek(self.fd, 0, os.SEEK_CUR), 0)
        if size - (len(self.data) - self.pos) > left:
            raise GGUFHeaderError(f"{self.path}: truncated GGUF header")
        want = min(max(size - (len(self.data) - self.pos), self.BLOCK), left)
        chunks = [self.data[self.pos:]]
        while want > 0:
            chunk = os.read(self.fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
            if sum(map(len, chunks)) >= size:
                break
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
        # Past the buffer: seek. Seeking beyond the end is not an error; tell() is checked.
        os.lseek(self.fd, size - buffered, os.SEEK_CUR)
        self.data, self.pos = b"", 0

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR) - (len(self.data) - self.pos)

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


def reference_read(path: str | Path) -> tuple[int, int, dict[str, Any]]:
    """The header's interesting values. Raises GGUFHeaderError (or OSError) on a bad file."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # raw reads: no buffered file object per model
    try:
        reader = _Reader(fd, path)
        if reader.take(4) != GGUF_MAGIC:
            raise GGUFHeaderError(f"{path}: not a GGUF file (bad magic)")
        version = reader.scalar("<I")
        if version not in (2, 3):
            raise GGUFHeaderError(f"{path}: unsupported GGUF version {version}")
        tensor_count = reader.scalar("<Q")
        kv_count = reader.scalar("<Q")
        if kv_count > _MAX_KV:
            raise GGUFHeaderError(f"{path}: implausible key count {kv_count}")
        size = reader.size
        # Each tensor's description takes at least 24 bytes after the keys (name length,
        # dimension count, type, offset): a count the file cannot hold is not a model's.
        if tensor_count > size // _MIN_TENSOR_INFO:
            raise GGUFHeaderError(f"{path}: implausible tensor count {tensor_count} for a {size}-byte file")
        values: dict[str, Any] = {}
        for _ in range(kv_count):
            # The common case inline (key, type and a scalar or string value all in the buffer):
            # a scan reads thousands of headers, and each field through the reader's methods
            # costs several calls. Anything else (a refill, an array, a bad length) goes the
            # general way, which also raises the errors.
            data, pos = reader.data, reader.pos
            have = len(data)
            if pos + 8 <= have:
                length = _U64.unpack_from(data, pos)[0]
                end = pos + 8 + length
                if length <= _MAX_STRING and end + 4 <= have:
                    key = data[pos + 8:end].decode("utf-8", "replace")
                    vtype = _U32.unpack_from(data, end)[0]
                    reader.pos = pos = end + 4
                    keep = _keep(key)
                    fmt = _SCALARS.get(vtype)
                    if fmt is not None:
                        unpack, width = _STRUCTS[fmt]
                        if pos + width <= have:
                            reader.pos = pos + width
                            if keep:
                                values[key] = unpack(data, pos)[0]
                            continue
                    elif vtype == _STRING and pos + 8 <= have:
                        length = _U64.unpack_from(data, pos)[0]
                        end = pos + 8 + length
                        if length <= _MAX_STRING and end <= have:
                            reader.pos = end
                            if keep:
                                values[key] = data[pos + 8:end].decode("utf-8", "replace")
                            continue
                    value = reader.value(vtype, keep)
                    if keep:
                        values[key] = value
                    continue
            key = reader.string()
            vtype = reader.scalar("<I")
            keep = _keep(key)
            value = reader.value(vtype, keep)
            if keep:
                values[key] = value
        if reader.tell() > size:  # a skip can run past the end: seeking there is no error
            raise GGUFHeaderError(f"{path}: truncated GGUF header")
    finally:
        os.close(fd)
    return version, tensor_count, values
