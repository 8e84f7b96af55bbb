"""Reading and writing one layer file: strict parsing with positions, deterministic output."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataclasses

from ..cachedir import cache_path, ensure_cache_dir
from ..errors import RegistryFormatError

if TYPE_CHECKING:  # the classes are built only by commands that need them
    from ..entry import Entry
from ..entry_shape import ENTRY_FIELDS, SCHEMA_VERSION, name_problem

_FIELD_RANK = {name: i for i, name in enumerate(ENTRY_FIELDS)}
FIELD_RANK = _FIELD_RANK  # the known fields, for ``store``


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer as read: the raw objects (what a person wrote), validated.

    ``entries`` are built on first use: read-only commands such as ``list --json`` work on the
    validated raw objects and never pay for building 10,000 objects they only print.
    """

    kind: str
    path: Path
    raw: tuple[dict[str, Any], ...] = ()
    legacy: bool = False  # a bare JSON array, as earlier ImageWorks versions wrote
    exists: bool = False
    unknown: tuple[str, ...] = ()  # ``$.models[i].field`` paths of fields this version does not know

    @functools.cached_property
    def entries(self) -> tuple[Entry, ...]:
        from ..converter import structure_entry

        return tuple(structure_entry(clean(raw)) for raw in self.raw)

def unknown_fields(models: list[Any], prefix: str) -> list[str]:
    return [f"{prefix}[{i}].{key}" for i, raw in enumerate(models) for key in raw if key not in _FIELD_RANK]


def clean(raw: dict[str, Any]) -> dict[str, Any]:
    """An explicit null means "not set" (in curated: "clear the discovered value")."""
    return {k: v for k, v in raw.items() if v is not None}


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def parse_layer_text(data: bytes, path: Path) -> tuple[list[Any], bool]:
    """Bytes of a layer file -> (list of raw model objects, legacy?). Errors name file:line:col."""
    import orjson

    from ..gc_policy import paused

    # Parsing builds ~20 containers per entry, none in a cycle; the cyclic GC would walk them all
    # several times over (measured: 81 ms -> 43 ms for 10,000 entries with it paused).
    with paused():
        try:  # the fast parser ...
            return _layer_shape(orjson.loads(data), path)
        except orjson.JSONDecodeError:
            pass  # ... and for anything it refuses, the standard library, whose errors give line and column
        return _layer_shape(_parse_slowly(data, path), path)


def _parse_slowly(data: bytes, path: Path) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data[: exc.start].decode("utf-8", "replace"), exc.start)
        raise RegistryFormatError(f"{path}:{line}:{col}: invalid UTF-8 byte") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RegistryFormatError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # NaN / Infinity
        raise RegistryFormatError(f"{path}: {exc}") from None
    except RecursionError:  # [[[[… deeper than the parser recurses (orjson stops at 1024 levels)
        raise RegistryFormatError(f"{path}: JSON nested too deeply") from None
    return doc


def _layer_shape(doc: Any, path: Path) -> tuple[list[Any], bool]:
    if isinstance(doc, list):
        return doc, True
    if not isinstance(doc, dict):
        raise RegistryFormatError(
            f"{path}: expected an object with 'models' (or a list), got {type(doc).__name__}"
        )
    version = doc.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int or version > SCHEMA_VERSION or version < 1:
        raise RegistryFormatError(
            f"{path}: schema_version {version!r} is not supported by this version "
            f"(it reads {SCHEMA_VERSION}); upgrade imageworks"
        )
    models = doc.get("models", [])
    if not isinstance(models, list):
        raise RegistryFormatError(f"{path}: $.models must be a list")
    return models, False


def validate_raw(raw: Any, index: int, path: Path, *, prefix: str) -> Entry:
    """Validate one raw model object; errors carry its ``$.models[i].field`` path."""
    where = f"{prefix}[{index}]"
    if not isinstance(raw, dict):
        raise RegistryFormatError(f"{path}: {where} must be an object")
    name = raw.get("name")
    if not isinstance(name, str):
        raise RegistryFormatError(f"{path}: {where}.name is required and must be a string")
    problem = name_problem(name)
    if problem:
        raise RegistryFormatError(f"{path}: {problem} @ {where}.name")
    from ..converter import explain, structure_entry

    cleaned = clean(raw)
    try:
        return structure_entry(cleaned)
    except Exception:  # noqa: BLE001 - re-explained with a path below
        raise RegistryFormatError(f"{path}: {explain(cleaned, where)}") from None


def read_layer(path: Path, kind: str) -> Layer:
    """Read and validate one layer. A missing file is an empty layer."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
            stamp = _stamp(os.fstat(handle.fileno()))
    except FileNotFoundError:
        return Layer(kind=kind, path=path)
    except OSError as exc:
        raise RegistryFormatError(f"{path}: cannot read: {exc.strerror}") from None
    models, legacy = parse_layer_text(data, path)
    prefix = "$" if legacy else "$.models"
    known = validated_digests(path.parent)
    stamped = known.get(_STAMP_PREFIX + path.name)
    if stamped and stamped[:-1] == stamp:
        digest = stamped[-1]  # the same bytes as when last hashed: skip reading them again
    else:
        digest = hashlib.sha256(data).hexdigest()
    trusted = digest in known
    seen: dict[str, int] = {}
    for i, raw in enumerate(models):
        if not trusted:
            validate_raw(raw, i, path, prefix=prefix)
        name = raw["name"]
        if name in seen:
            raise RegistryFormatError(
                f"{path}: duplicate name {name!r} at {prefix}[{seen[name]}] and {prefix}[{i}]"
            )
        seen[name] = i
    unknown = known[digest] if trusted else unknown_fields(models, prefix)
    remember_valid(path.parent, digest, unknown, stamp=(path.name, stamp))
    return Layer(kind, path, tuple(models), legacy, True, tuple(unknown))


# A layer file whose exact bytes were validated before need not be validated again: validating
# 10,000 entries costs several times what parsing them does. The cache holds sha256 digests of
# layer bytes known valid (written after a successful validation, and by our own writes), and per
# layer file a stat stamp (size, mtime, ctime, inode) with its digest, so an unchanged file is not
# even hashed. As git's index does, a stamp is trusted only when taken a while after the file's
# last change: a file rewritten within the clock's granularity could otherwise keep its stamp.
VALIDATED_CACHE = "validated-layers"
_VALIDATED_KEEP = 8
_STAMP_PREFIX = "stat:"
_STAMP_SETTLED_NS = 2_000_000_000


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def validated_digests(directory: Path) -> dict[str, list[Any]]:
    """digest of layer bytes known valid -> the unknown-field paths that layer holds; and
    ``stat:<file name>`` -> that layer's stat stamp followed by its digest."""
    try:
        doc = json.loads(cache_path(directory, VALIDATED_CACHE).read_bytes())
    except (OSError, ValueError, RecursionError):  # a cache: unreadable means empty
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, list)
            and (all(isinstance(p, str) for p in v) if not k.startswith(_STAMP_PREFIX) else
                 len(v) == 6 and all(type(n) is int for n in v[:5]) and isinstance(v[5], str))}


def remember_valid(directory: Path, digest: str, unknown: list[str] | tuple[str, ...] = (),
                   *, stamp: tuple[str, list[int]] | None = None) -> None:
    import time

    known = validated_digests(directory)
    changed = digest not in known
    if changed:
        known[digest] = list(unknown)
    if stamp is not None:
        name, values = stamp
        key = _STAMP_PREFIX + name
        settled = time.time_ns() - max(values[1], values[2]) > _STAMP_SETTLED_NS
        if settled and known.get(key) != [*values, digest]:
            known[key] = [*values, digest]
            changed = True
    if not changed:
        return
    digests = [k for k in known if not k.startswith(_STAMP_PREFIX)][-_VALIDATED_KEEP:]
    known = {k: v for k, v in known.items() if k in digests or k.startswith(_STAMP_PREFIX)}
    try:  # best effort: a read-only cache simply validates every time
        ensure_cache_dir(directory)
        atomic_write(cache_path(directory, VALIDATED_CACHE), json.dumps(known).encode("utf-8"), durable=False)
    except OSError:
        pass


def ordered(raw: dict[str, Any]) -> dict[str, Any]:
    """Fields in the contract's order; unknown fields after them, in their own order."""
    known = sorted((k for k in raw if k in _FIELD_RANK), key=_FIELD_RANK.__getitem__)
    return {**{k: raw[k] for k in known}, **{k: v for k, v in raw.items() if k not in _FIELD_RANK}}


def render_layer(models: list[dict[str, Any]], *, in_order: bool = False) -> bytes:
    """A layer file's bytes. ``in_order``: the rows already have the contract's field order
    (rows our converter made, or full rows), so they are written as they are."""
    from ..jsonio import dumps

    doc = {"schema_version": SCHEMA_VERSION, "models": models if in_order else [ordered(m) for m in models]}
    return dumps(doc, indent=True, newline=True)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TEMP_SUFFIX = ".tmp-imageworks"


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Write ``data`` to ``path`` so a crash leaves the old or the new file. False if unchanged.

    ``durable=False`` is for caches: readers still see the old or the new file, but nothing is
    flushed to the disk, so after a power cut the file may be empty (a cache reads that as
    empty). The flushes cost 30-70 ms a write, more than ``verify --hash`` of a small model."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        _before_replace_hook(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return True


def _before_replace_hook(tmp: Path, path: Path) -> None:
    """Fault-injection point for crash tests (IMAGEWORKS_TEST_CRASH_BEFORE_REPLACE)."""
    if os.environ.get("IMAGEWORKS_TEST_CRASH_BEFORE_REPLACE") == path.name:
        os._exit(99)
