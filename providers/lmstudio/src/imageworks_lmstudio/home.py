"""Where LM Studio keeps its models (docs/providers.md §lmstudio): its home, and the models folder inside."""

from __future__ import annotations

import json
from pathlib import Path


def lmstudio_home() -> Path | None:
    """``~/.lmstudio-home-pointer`` if present, else ``~/.lmstudio``, else legacy ``~/.cache/lm-studio``."""
    home = Path.home()
    pointer = home / ".lmstudio-home-pointer"
    try:
        target = pointer.read_text(encoding="utf-8").strip()
        if target and "\0" not in target and Path(target).expanduser().is_dir():
            return Path(target).expanduser()
    except (OSError, ValueError):  # unreadable, not UTF-8: as if absent
        pass
    for candidate in (home / ".lmstudio", home / ".cache" / "lm-studio"):
        if candidate.is_dir():
            return candidate
    return None


def models_folder(home: Path) -> Path:
    """The ``downloadsFolder`` of ``settings.json``, else ``<home>/models``."""
    try:
        settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
        folder = settings.get("downloadsFolder") if isinstance(settings, dict) else None
        if isinstance(folder, str) and folder.strip() and "\0" not in folder:
            return Path(folder).expanduser()
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested too deep: the default
        pass
    return home / "models"


def default_lmstudio_roots() -> list[Path]:
    roots: list[Path] = []
    home = lmstudio_home()
    if home is not None:
        roots.append(models_folder(home))
    legacy = Path.home() / ".cache" / "lm-studio" / "models"
    if legacy.is_dir() and legacy not in roots:
        roots.append(legacy)
    return roots
