"""JSON in and out.

Output: orjson where it can (10-35x faster than the standard library when writing, and
byte-identical to ``json.dumps(indent=2, ensure_ascii=False)``, which a test checks), the
standard library for what orjson refuses (integers beyond 64 bits, lone surrogates).

Names that are not UTF-8: Linux paths are bytes; Python lists a byte that is not UTF-8 as a
lone surrogate (``b"bad\\xff"`` -> ``"bad\\udcff"``, PEP 383 ``surrogateescape``). Such a
character is written as its JSON escape (``"bad\\udcff"``), so every file stays valid UTF-8
JSON, and reading it gives back the same string, hence ``os.fsencode`` the same bytes.

Input from files a person or a tool wrote (``loads``): every way it can be bad, nesting too
deep for the parser included, is a ValueError the caller turns into a named warning."""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> str:
    """Lone surrogates (inside JSON strings: the only place text can hold them) as ``\\uXXXX``."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(data: Any, *, indent: bool, newline: bool = False) -> bytes:
    """UTF-8 JSON; with ``indent``, two spaces as the registry files are written; with
    ``newline``, a final newline (written by the encoder: a layer is megabytes, and adding it
    after would copy them all)."""
    import orjson

    try:
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(data, default=str, option=option | orjson.OPT_APPEND_NEWLINE if newline else option)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(data, indent=2 if indent else None, ensure_ascii=False, default=str,
                          separators=None if indent else (", ", ": "))
        return _escape_surrogates(text + "\n" if newline else text).encode("utf-8")


def dumps_line(data: Any) -> str:
    """One compact JSON line (the event log's shape), any string carried."""
    return _escape_surrogates(json.dumps(data, default=str, ensure_ascii=False))


# A run of 19 digits may be an integer beyond 64 bits, which orjson reads as a float where the
# standard library keeps an int: such a document goes the standard library's way.
_LONG_DIGITS = re.compile(rb"\d{19}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19}")


def loads(data: bytes | str) -> Any:
    """Untrusted JSON. Raises ValueError for anything that is not JSON, too deep nesting included
    (the parser recurses: ``[[[[…`` 100,000 deep would otherwise be a RecursionError).

    orjson first (a scan reads a config file or two per model folder: 5-10x faster), for the
    documents it reads exactly as the standard library does; anything it refuses (NaN, a byte
    order mark, UTF-16, a lone surrogate escape, bad JSON) is read by the standard library,
    whose answer, or error message, is then the one given, as before."""
    import orjson

    if (_LONG_DIGITS if isinstance(data, (bytes, bytearray)) else _LONG_DIGITS_TEXT).search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
