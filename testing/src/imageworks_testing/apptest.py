"""The GUI's Models page driven with Streamlit's AppTest: its real script, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def models_page() -> Any:
    """The page after its first run; an exception in the script fails the test."""
    import imageworks_gui
    from streamlit.testing.v1 import AppTest

    page = Path(imageworks_gui.__file__).parent / "pages" / "2_🎯_Models.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at, key: str):
    return next(b for b in at.button if b.key == key)


def codes(at) -> list[str]:
    """Every command line the page shows."""
    return [c.value for c in at.code]
