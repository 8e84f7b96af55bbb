"""The one place where serialisation rules live: JSON <-> attrs models, with strict types.

Two converters share the same hooks: a fast one for the common, valid case, and a detailed one
used only to explain a failure with a ``$.models[3].roles`` path.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import attrs

from .entry import ENTRY_FIELDS, ArtifactFile, Artifacts, Capabilities, ChatTemplate, Entry

if TYPE_CHECKING:
    import cattrs

_KNOWN = frozenset(ENTRY_FIELDS)


def _strict(kind: type, label: str):
    def structure(value: Any, _type: Any) -> Any:
        # bool is an int subclass and json never gives floats for ints, so check exactly.
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(f"expected {label}, got {type(value).__name__} {value!r:.40}")
        return value

    return structure


def _configure(converter: "cattrs.Converter") -> "cattrs.Converter":
    from cattrs.fns import identity
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook(float, _strict(float, "a number"))

    def structure_dict_any(value: Any, _type: Any) -> dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return dict(value)

    converter.register_structure_hook_func(lambda t: t == dict[str, Any], structure_dict_any)
    # Out, such a dict is already plain JSON: a shallow copy (C speed), not a walk over every
    # value. Nested containers are shared with the frozen entry; the rows built from it are
    # only serialised, never edited in place.
    converter.register_unstructure_hook_func(lambda t: t in (dict[str, Any], dict[str, int]), dict)
    converter.register_unstructure_hook_func(lambda t: t == tuple[str, ...], list)  # names: nothing to convert
    # A JSON scalar or None goes out as it is. cattrs' Optional hook dispatches on the value's
    # type at every call (170,000 calls for 10,000 entries); as ``identity`` the generated code
    # reads the attribute straight into the row.
    converter.register_unstructure_hook_func(lambda t: t in (str | None, int | None, float | None, bool | None), identity)

    def is_tuple(t: Any) -> bool:
        return getattr(t, "__origin__", None) is tuple

    def structure_tuple(value: Any, type_: Any) -> tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {type(value).__name__} {value!r:.40}")
        item_type = type_.__args__[0]
        if item_type is str:
            if not all(type(item) is str for item in value):
                raise TypeError(f"expected a list of strings, got {value!r:.60}")
            return tuple(value)
        hook = converter.get_structure_hook(item_type)
        return tuple(hook(item, item_type) for item in value)

    converter.register_structure_hook_func(is_tuple, structure_tuple)

    for cls in (Capabilities, ChatTemplate, Artifacts):
        converter.register_structure_hook(
            cls, make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)
        )
    base = make_dict_structure_fn(
        Entry, converter, extra=override(omit=True), _cattrs_forbid_extra_keys=False
    )

    def structure_entry(value: Any, _type: Any) -> Entry:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        entry = base(value, Entry)
        if len(value) > len(_KNOWN) or not _KNOWN.issuperset(value):
            extra = {k: v for k, v in value.items() if k not in _KNOWN}
            entry = attrs.evolve(entry, extra=extra)
        return entry

    converter.register_structure_hook(Entry, structure_entry)

    for cls in (Capabilities, ChatTemplate):
        converter.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, converter))
    converter.register_unstructure_hook(ArtifactFile, make_dict_unstructure_fn(
        ArtifactFile, converter, etag=override(omit_if_default=True)))

    converter.register_unstructure_hook(Artifacts, _unstructure_artifacts)
    converter.register_unstructure_hook(Entry, unstructure_entry)
    return converter


def _unstructure_artifacts(artifacts: Artifacts) -> dict[str, Any]:
    # Written out: cattrs' generic path dispatches per file, and every entry has files.
    # The same shape as the generated hooks (tested against them).
    return {"files": [{"path": f.path, "size": f.size, "sha256": f.sha256} if f.etag is None else
                      {"path": f.path, "size": f.size, "sha256": f.sha256, "etag": f.etag}
                      for f in artifacts.files],
            "aggregate_sha256": artifacts.aggregate_sha256}


def unstructure_entry(entry: Entry) -> dict[str, Any]:
    """Entry -> its JSON row, fields in the contract's order, unknown fields (``extra``) last.

    Written out rather than generated by cattrs: a commit turns every entry of the discovered
    layer into a row (10,000 for a first scan), and this needs neither the converter (nor cattrs
    imported) nor its per-field dispatch. The same rows as cattrs' generated hook (a test checks
    them against it): scalars as they are, tuples of names as lists, dicts shallow-copied."""
    template = entry.chat_template
    caps = entry.capabilities
    source = entry.source
    out = {
        "name": entry.name,
        "display_name": entry.display_name,
        "family": entry.family,
        "backend": entry.backend,
        "download_format": entry.download_format,
        "quantization": entry.quantization,
        "source_provider": entry.source_provider,
        "source": None if source is None else dict(source),
        "served_model_id": entry.served_model_id,
        "model_aliases": list(entry.model_aliases),
        "download_location": entry.download_location,
        "download_path": entry.download_path,
        "download_files": list(entry.download_files),
        "download_size_bytes": entry.download_size_bytes,
        "download_directory_checksum": entry.download_directory_checksum,
        "artifacts": _unstructure_artifacts(entry.artifacts),
        "chat_template": None if template is None else {
            "source": template.source, "path": template.path, "sha256": template.sha256},
        "capabilities": {"text": caps.text, "vision": caps.vision, "audio": caps.audio,
                         "embedding": caps.embedding, "tools": caps.tools, "thinking": caps.thinking},
        "roles": list(entry.roles),
        "role_priority": dict(entry.role_priority),
        "backend_config": dict(entry.backend_config),
        "generation_defaults": dict(entry.generation_defaults),
        "license": entry.license,
        "deprecated": entry.deprecated,
        "downloaded_at": entry.downloaded_at,
        "updated_at": entry.updated_at,
        "metadata": dict(entry.metadata),
    }
    if entry.extra:
        out.update(entry.extra)
    return out


@cache
def fast_converter() -> "cattrs.Converter":
    import cattrs

    return _configure(cattrs.Converter(detailed_validation=False))


@cache
def detailed_converter() -> "cattrs.Converter":
    import cattrs

    return _configure(cattrs.Converter(detailed_validation=True))


def structure_entry(raw: Any) -> Entry:
    """Raw JSON object -> Entry. Raises ValueError/TypeError/cattrs errors on bad input.

    A row of the right shape is read by hand (``_read_entry``): every command that changes the
    registry reads its layers, and this needs neither cattrs imported nor its converter built
    (~25 ms of a command's start-up) nor its per-field dispatch. Anything else goes to cattrs,
    whose answer (or error, which ``explain`` words) is the one given."""
    try:
        return _read_entry(raw)
    except _NotPlain:
        return fast_converter().structure(raw, Entry)


class _NotPlain(Exception):
    """A row the hand reader leaves to cattrs."""


_OPTIONAL_TEXT = ("display_name", "family", "download_format", "quantization", "source_provider", "served_model_id",
                  "download_location", "download_path", "download_directory_checksum", "license", "downloaded_at",
                  "updated_at")
_NAMES = ("model_aliases", "download_files", "roles")
_OBJECTS = ("backend_config", "generation_defaults", "metadata")
_CAPABILITIES = frozenset(attrs.fields_dict(Capabilities))
_TEMPLATE = frozenset(attrs.fields_dict(ChatTemplate))
_ARTIFACTS = frozenset(attrs.fields_dict(Artifacts))
_FILE = frozenset(attrs.fields_dict(ArtifactFile))


def _read_entry(raw: Any) -> Entry:
    """What the cattrs converter makes of ``raw``, for rows whose every value has exactly the type
    its field takes (a test checks the two agree on any row); ``_NotPlain`` for any other row."""
    if type(raw) is not dict or type(raw.get("name")) is not str:
        raise _NotPlain
    fields: dict[str, Any] = {"name": raw["name"]}
    get = raw.get
    for key in _OPTIONAL_TEXT:
        value = get(key)
        if value is not None:
            if type(value) is not str:
                raise _NotPlain
            fields[key] = value
    for key in _NAMES:
        if key in raw:
            fields[key] = _names(raw[key])
    for key in _OBJECTS:
        if key in raw:
            value = raw[key]
            if type(value) is not dict:
                raise _NotPlain
            fields[key] = dict(value)
    if "backend" in raw:
        fields["backend"] = _exactly(raw["backend"], str)
    if "deprecated" in raw:
        fields["deprecated"] = _exactly(raw["deprecated"], bool)
    value = get("source")
    if value is not None:
        if type(value) is not dict:
            raise _NotPlain
        fields["source"] = dict(value)
    value = get("download_size_bytes")
    if value is not None:
        fields["download_size_bytes"] = _exactly(value, int)
    if "role_priority" in raw:
        value = raw["role_priority"]
        if type(value) is not dict or any(type(k) is not str or type(v) is not int for k, v in value.items()):
            raise _NotPlain
        fields["role_priority"] = dict(value)
    if "artifacts" in raw:
        fields["artifacts"] = _artifacts(raw["artifacts"])
    value = get("chat_template")
    if value is not None:
        fields["chat_template"] = ChatTemplate(**_plain_object(value, _TEMPLATE, optional=("path", "sha256"), text=("source",)))
    if "capabilities" in raw:
        value = raw["capabilities"]
        if type(value) is not dict or not _CAPABILITIES.issuperset(value) or any(type(v) is not bool for v in value.values()):
            raise _NotPlain
        fields["capabilities"] = Capabilities(**value)
    entry = Entry(**fields)
    if len(raw) > len(_KNOWN) or not _KNOWN.issuperset(raw):
        entry = attrs.evolve(entry, extra={k: v for k, v in raw.items() if k not in _KNOWN})
    return entry


def _exactly(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise _NotPlain
    return value


def _names(value: Any) -> tuple[str, ...]:
    if type(value) is not list or any(type(item) is not str for item in value):
        raise _NotPlain
    return tuple(value)


def _plain_object(value: Any, known: frozenset[str], *, optional: tuple[str, ...] = (),
                  text: tuple[str, ...] = ()) -> dict[str, Any]:
    """A nested object with known keys only: its text fields strings, its optional ones strings
    or null (null kept out: the default)."""
    if type(value) is not dict or not known.issuperset(value):
        raise _NotPlain
    out = {}
    for key in text:
        if key in value:
            out[key] = _exactly(value[key], str)
    for key in optional:
        item = value.get(key)
        if item is not None:
            out[key] = _exactly(item, str)
    return out


def _artifacts(value: Any) -> Artifacts:
    if type(value) is not dict or not _ARTIFACTS.issuperset(value):
        raise _NotPlain
    files = value.get("files", [])
    if type(files) is not list:
        raise _NotPlain
    read = []
    for item in files:
        if type(item) is not dict or not _FILE.issuperset(item):
            raise _NotPlain
        size = item.get("size")
        read.append(ArtifactFile(_exactly(item.get("path"), str), None if size is None else _exactly(size, int),
                                 **_plain_object(item, _FILE, optional=("sha256", "etag"))))
    aggregate = value.get("aggregate_sha256")
    return Artifacts(tuple(read), None if aggregate is None else _exactly(aggregate, str))


def explain(raw: Any, path: str) -> str:
    """A one-line ``<problem> @ $.path`` explanation of why ``raw`` does not structure."""
    import cattrs

    try:
        detailed_converter().structure(raw, Entry)
    except Exception as exc:  # noqa: BLE001 - any structuring failure is what we explain
        if isinstance(exc, cattrs.BaseValidationError):
            messages = cattrs.transform_error(exc, path=path, format_exception=_format)
            return "; ".join(messages[:3])
        return f"{exc} @ {path}"
    return f"invalid value @ {path}"


def _format(exc: BaseException, _type: Any) -> str:
    import cattrs

    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field(s) {', '.join(sorted(exc.extra_fields))}"
    return str(exc) or type(exc).__name__
