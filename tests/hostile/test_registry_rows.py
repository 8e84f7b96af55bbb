"""Registry rows of any shape: the hand reader (``converter._read_entry``, no cattrs) makes of a
row exactly what the cattrs converter makes of it, or leaves the row to cattrs; and the rows
the registry itself writes never need cattrs."""

from __future__ import annotations

import attr  # the classic namespace: asdict that keeps tuples as tuples
import attrs
from hypothesis import given
from hypothesis import strategies as st

from imageworks_core.converter import _NotPlain, _read_entry, fast_converter, unstructure_entry
from imageworks_core.entry import Entry
from imageworks_core.entry_shape import CAPABILITY_KEYS
from imageworks_testing.fixtures import entry_with_every_field

from .strategies import JSON, budget, mutated

FULL = unstructure_entry(entry_with_every_field())

TEXT = st.text(max_size=8)
OPTIONAL_TEXT = st.none() | TEXT
NAMES = st.lists(TEXT, max_size=3)
OBJECT = st.dictionaries(TEXT, JSON, max_size=3)
FILE = st.fixed_dictionaries({"path": TEXT}, optional={"size": st.none() | st.integers(0, 2**40),
                                                      "sha256": OPTIONAL_TEXT, "etag": OPTIONAL_TEXT})
# Each field: a value of its type (what the registry writes), or any JSON at all.
FIELDS = {
    "display_name": OPTIONAL_TEXT, "family": OPTIONAL_TEXT, "backend": TEXT, "download_format": OPTIONAL_TEXT,
    "quantization": OPTIONAL_TEXT, "source_provider": OPTIONAL_TEXT, "source": st.none() | OBJECT,
    "served_model_id": OPTIONAL_TEXT, "model_aliases": NAMES, "download_location": OPTIONAL_TEXT,
    "download_path": OPTIONAL_TEXT, "download_files": NAMES, "download_size_bytes": st.none() | st.integers(0, 2**50),
    "download_directory_checksum": OPTIONAL_TEXT,
    "artifacts": st.fixed_dictionaries({}, optional={"files": st.lists(FILE, max_size=2),
                                                     "aggregate_sha256": OPTIONAL_TEXT}),
    "chat_template": st.none() | st.fixed_dictionaries({}, optional={"source": TEXT, "path": OPTIONAL_TEXT,
                                                                      "sha256": OPTIONAL_TEXT}),
    "capabilities": st.fixed_dictionaries({}, optional={key: st.booleans() for key in CAPABILITY_KEYS}),
    "roles": NAMES, "role_priority": st.dictionaries(TEXT, st.integers(-5, 5), max_size=2),
    "backend_config": OBJECT, "generation_defaults": OBJECT, "license": OPTIONAL_TEXT, "deprecated": st.booleans(),
    "downloaded_at": OPTIONAL_TEXT, "updated_at": OPTIONAL_TEXT, "metadata": OBJECT,
}


@st.composite
def rows(draw, hostile: bool):
    """A row of the right shape; ``hostile``: with one known field's value any JSON at all (one,
    so that the check of that field is what decides)."""
    row = {"name": draw(TEXT)}
    for key, values in FIELDS.items():
        if draw(st.booleans()):
            row[key] = draw(values)
    if draw(st.booleans()):  # a field this version does not know
        row[draw(TEXT.filter(lambda key: key != "name" and key not in FIELDS))] = draw(JSON)
    if hostile:
        row[draw(st.sampled_from(["name", *FIELDS]))] = draw(JSON)
    return row


def _whole(entry: Entry) -> dict:
    return {**attr.asdict(entry, retain_collection_types=True), "types": _types(entry)}


def _types(value):
    if attrs.has(type(value)):
        return (type(value).__name__, [_types(getattr(value, f.name)) for f in attrs.fields(type(value))])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_types(v) for v in value])
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__


def _same_as_cattrs(raw) -> bool:
    """True when the hand reader read ``raw`` (then cattrs must agree); False when it left it."""
    try:
        mine = _read_entry(raw)
    except _NotPlain:
        return False
    theirs = fast_converter().structure(raw, Entry)  # must not raise: the row was of the right shape
    assert _whole(mine) == _whole(theirs)
    return True


@budget(300)
@given(rows(hostile=False))
def test_rows_of_the_right_shape_are_read_by_hand_as_cattrs_reads_them(raw):
    assert _same_as_cattrs(raw)  # every such row is read by hand: the fast path is the common one


@budget(600)
@given(rows(hostile=True) | mutated(FULL) | JSON)
def test_any_row_is_read_as_cattrs_reads_it_or_left_to_cattrs(raw):
    _same_as_cattrs(raw)


def test_rows_the_registry_writes_are_read_by_hand():
    assert _same_as_cattrs(FULL)
    assert _same_as_cattrs(unstructure_entry(Entry(name="bare")))
    assert _same_as_cattrs({"name": "n", "display_name": None, "chat_template": None, "source": None})
