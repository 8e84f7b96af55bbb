"""Settings (cli.md §Settings): defaults < user file < project file < environment < options,
with the source of every value kept for ``config show``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from .errors import BadInputError

PROJECT_FILE = "imageworks.toml"

# key -> (kind, default). Defaults that depend on other values are filled in by ``_derive``.
SCHEMA: dict[str, tuple[str, Any]] = {
    "model_root": ("path", "~/ai-models"),
    "locations": ("table", {}),
    "lmstudio_roots": ("paths", None),
    "ollama_models": ("path", None),
    "ollama_host": ("str", None),
    "hf_endpoint": ("str", None),
    "connections": ("int", 16),
    "concurrent_downloads": ("int", 4),
    "retries": ("int", 5),
    "timeout_s": ("float", 60.0),
    "use_aria2": ("choice:auto,always,never", "auto"),
    "preferred_formats": ("list", ["awq", "gptq", "safetensors", "gguf"]),
    "preferred_quants": ("list", ["q4_k_m"]),
    "include_optional": ("bool", False),
    "log_dir": ("path", None),
    "backups_keep": ("int", 20),
    "lock_timeout_s": ("float", 30.0),
    "cache_dir": ("path", None),
}
# Environment variables that other tools define and users expect us to honour.
FOREIGN_ENV = {"ollama_models": "OLLAMA_MODELS", "ollama_host": "OLLAMA_HOST", "hf_endpoint": "HF_ENDPOINT"}


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "imageworks" / "config.toml"


def _parse(key: str, kind: str, value: Any, origin: str) -> Any:
    """Coerce a value from a TOML file, the environment or an option to the key's kind."""
    try:
        if value is None:
            return None
        if kind in ("str", "path"):
            if not isinstance(value, str):
                raise TypeError("expected a string")
            return value
        if kind == "int":
            if isinstance(value, bool):
                raise TypeError("expected an integer")
            number = int(value)
            if number < 0:
                raise ValueError("must not be negative")
            return number
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind in ("list", "paths"):
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
            raise TypeError("expected a list of strings")
        if kind == "table":
            if isinstance(value, str):
                pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ValueError("expected label=dir pairs separated by commas")
                return {k.strip(): v.strip() for k, v in pairs}
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return dict(value)
            raise TypeError("expected a table of label = directory")
        if kind.startswith("choice:"):
            choices = kind.split(":", 1)[1].split(",")
            if value not in choices:
                raise ValueError(f"expected one of {', '.join(choices)}")
            return value
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"setting {key} from {origin}: {exc} (got {value!r})") from None
    raise AssertionError(kind)


@attrs.frozen
class Settings:
    """Effective settings. ``values[key]`` is the value, ``sources[key]`` where it came from."""

    values: dict[str, Any]
    sources: dict[str, str]
    registry_dir: Path

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    def location_dir(self, label_or_path: str | None) -> tuple[str, Path]:
        """A location label or a directory -> (label, directory). Unknown labels are an error."""
        label = label_or_path or "linux_wsl"
        locations = self.values["locations"]
        if label in locations:
            return label, Path(locations[label])
        if os.sep in label or label.startswith((".", "~")):
            return "custom", Path(label).expanduser().absolute()
        known = ", ".join(sorted(locations)) or "none"
        raise BadInputError(f"unknown location {label!r} (known: {known}; or give a directory path)")

    def roots(self) -> list[Path]:
        """Every directory under which files may be deleted."""
        roots = [Path(self.values["model_root"])]
        roots += [Path(p) for p in self.values["locations"].values()]
        roots += [Path(p) for p in self.values["lmstudio_roots"]]
        if self.values["ollama_models"]:
            roots.append(Path(self.values["ollama_models"]))
        return roots


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(registry_dir: Path, overrides: dict[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, (_kind, default) in SCHEMA.items():
        values[key] = default
        sources[key] = "default"
    layers = [
        (f"user file {user_config_path()}", _read_toml(user_config_path())),
        (f"project file {registry_dir / PROJECT_FILE}", _read_toml(registry_dir / PROJECT_FILE)),
    ]
    for origin, table in layers:
        for key, value in table.items():
            if key not in SCHEMA:
                raise BadInputError(f"{origin}: unknown setting {key!r}")
            values[key] = _parse(key, SCHEMA[key][0], value, origin)
            sources[key] = origin
    for key, (kind, _default) in SCHEMA.items():
        for env in (f"IMAGEWORKS_{key.upper()}", FOREIGN_ENV.get(key)):
            if env and os.environ.get(env):
                values[key] = _parse(key, kind, os.environ[env], f"environment {env}")
                sources[key] = f"environment {env}"
                break
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _parse(key, SCHEMA[key][0], value, "option")
            sources[key] = "option"
    _derive(values, sources, registry_dir)
    return Settings(values, sources, registry_dir)


def _derive(values: dict[str, Any], sources: dict[str, str], registry_dir: Path) -> None:
    expand = lambda p: str(Path(p).expanduser().absolute())  # noqa: E731
    values["model_root"] = expand(values["model_root"])
    if values["lmstudio_roots"] is None:
        from .lmstudio_home import default_lmstudio_roots

        values["lmstudio_roots"] = [str(p) for p in default_lmstudio_roots()]
    else:
        values["lmstudio_roots"] = [expand(p) for p in values["lmstudio_roots"]]
    if values["ollama_models"] is None:
        home = Path.home() / ".ollama" / "models"
        system = Path("/usr/share/ollama/.ollama/models")
        values["ollama_models"] = str(system if not home.exists() and system.exists() else home)
    else:
        values["ollama_models"] = expand(values["ollama_models"])
    if values["log_dir"] is None:
        # A project's configs/ keeps its logs beside it; any other registry directory (the user
        # data directory, a shared folder) holds the registry and nothing else (registry.md §1).
        if registry_dir.name == "configs":
            values["log_dir"] = str(registry_dir.parent / "logs")
            sources["log_dir"] = "default (beside the configs/ registry directory)"
        else:
            from platformdirs import user_log_dir

            values["log_dir"] = user_log_dir("imageworks", appauthor=False)
            sources["log_dir"] = "default (the user log directory)"
    else:
        values["log_dir"] = expand(values["log_dir"])
    from . import cachedir

    if values["cache_dir"] is None:
        values["cache_dir"] = str(cachedir.default_cache_base())
        sources["cache_dir"] = "default (the user cache directory)"
    else:
        values["cache_dir"] = expand(values["cache_dir"])
    cachedir.configure(values["cache_dir"])
    locations = {label: expand(path) for label, path in values["locations"].items()}
    locations.setdefault("linux_wsl", str(Path(values["model_root"]) / "weights"))
    if values["lmstudio_roots"]:
        locations.setdefault("windows_lmstudio", values["lmstudio_roots"][0])
    values["locations"] = locations


def set_project_value(registry_dir: Path, key: str, raw_value: str) -> Path:
    """``config set``: validate and write one key of the project file with tomli-w."""
    import tomli_w

    if key.startswith("locations."):
        label = key.split(".", 1)[1]
        path = registry_dir / PROJECT_FILE
        table = _read_toml(path)
        table.setdefault("locations", {})[label] = raw_value
    else:
        if key not in SCHEMA:
            raise BadInputError(f"unknown setting {key!r} (known: {', '.join(SCHEMA)})")
        kind = SCHEMA[key][0]
        value = _parse(key, kind, raw_value, "config set")
        path = registry_dir / PROJECT_FILE
        table = _read_toml(path)
        table[key] = value
    from .registry.layers import atomic_write

    registry_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tomli_w.dumps(table).encode("utf-8"))
    return path


def settings_as_json(settings: Settings) -> str:
    return json.dumps({k: {"value": v, "source": settings.sources[k]} for k, v in settings.values.items()}, indent=2)
