"""Settings (docs/commands.md §Settings): defaults < user file < project file < environment < options,
with the source of every value kept for ``config show``."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from .errors import BadInputError

PROJECT_FILE = "imageworks.toml"
# The label of ``<model_root>/weights``, where downloads and scans go when nothing says otherwise
# (the name earlier ImageWorks registries use).
DEFAULT_LOCATION = "linux_wsl"


# The core's own settings: key -> (kind, default). Provider settings are declared by providers.
SCHEMA: dict[str, tuple[str, Any]] = {
    "model_root": ("path", "~/ai-models"),
    "locations": ("table", {}),
    "log_dir": ("path", None),
    "backups_keep": ("int", 20),
    "lock_timeout_s": ("float", 30.0),
    "cache_dir": ("path", None),
}


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


class Settings:
    """Effective settings: ``values[key]`` is the value, ``sources[key]`` where it came from.

    The core's settings are resolved at once; providers' settings, the locations they add and
    the roots they own are resolved on first use, so that commands that need none of them (``list``,
    ``stats``) never load a provider."""

    default_location = DEFAULT_LOCATION  # the label of <model_root>/weights

    def __init__(self, values: dict[str, Any], sources: dict[str, str], registry_dir: Path,
                 raw: list[tuple[str, dict[str, Any]]] | None = None, overrides: dict[str, Any] | None = None):
        self._core_values = values
        self._core_sources = sources
        self.registry_dir = registry_dir
        self._raw = raw or []
        self._overrides = dict(overrides or {})
        self._full: tuple[dict[str, Any], dict[str, str]] | None = None
        self._provider_roots: list[str] | None = None
        self.location_backends: dict[str, str] = {}  # label -> backend for GGUF files under it
        self.location_formats: dict[str, tuple[str, ...]] = {}  # label -> formats it is the default home of

    # -- values
    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key in self._core_values and key != "locations":
            return self._core_values[key]
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def values(self) -> dict[str, Any]:
        return self._resolve()[0]

    @property
    def sources(self) -> dict[str, str]:
        return self._resolve()[1]

    @property
    def core_sources(self) -> dict[str, str]:
        return self._core_sources

    def _resolve(self) -> tuple[dict[str, Any], dict[str, str]]:
        if self._full is None:
            self._full = _resolve_providers(self)
        return self._full

    # -- places
    def location_dir(self, label_or_path: str | None) -> tuple[str, Path]:
        """A location label or a directory -> (label, directory). Unknown labels are an error."""
        label = label_or_path or DEFAULT_LOCATION
        locations = self.values["locations"]
        if label in locations:
            return label, Path(locations[label])
        if os.sep in label or label.startswith((".", "~")):
            return "custom", Path(label).expanduser().absolute()
        known = ", ".join(sorted(locations)) or "none"
        raise BadInputError(f"unknown location {label!r} (known: {known}; or give a directory path)")

    def default_location_for(self, download_format: str | None) -> str:
        """The label a download of ``download_format`` goes to when none is given: a location a
        provider declares as that format's home (LM Studio's folder for GGUF) if its directory
        exists, else the default location (``<model_root>/weights``)."""
        self._resolve()
        for label, formats in self.location_formats.items():
            if download_format in formats and Path(self.values["locations"][label]).is_dir():
                return label
        return DEFAULT_LOCATION

    def backend_at(self, path: str | os.PathLike) -> str | None:
        """The backend a provider declared for the location holding ``path`` (LM Studio's folder
        serves GGUF files with LM Studio), or None."""
        self._resolve()
        if not self.location_backends:  # no provider declared one: asked for every GGUF of a scan
            return None
        locations = self.values["locations"]
        text = os.path.join(os.path.abspath(path), "")
        for root, backend in _backend_prefixes(tuple((locations[label], backend)
                                                     for label, backend in self.location_backends.items())):
            if text.startswith(root):  # deepest first
                return backend
        return None

    def roots(self) -> list[Path]:
        """Every directory under which files may be deleted: the model root, every location, and
        the stores providers own (the Ollama store)."""
        values = self.values
        roots = [Path(values["model_root"])]
        roots += [Path(p) for p in values["locations"].values()]
        roots += [Path(p) for p in self._provider_roots or ()]
        return roots


@functools.lru_cache(maxsize=8)
def _backend_prefixes(backends: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """(directory with a trailing separator, backend), deepest first; of two equal directories
    the one declared first."""
    prefixes = [(os.path.join(os.path.abspath(directory), ""), backend) for directory, backend in backends]
    return sorted(prefixes, key=lambda item: -len(item[0]))


def _resolve_providers(settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """Add the settings, locations and roots that the installed providers declare."""
    from .plugins import get_plugins

    values = dict(settings._core_values)
    sources = dict(settings._core_sources)
    hook = get_plugins().hook
    specs = [spec for found in hook.imageworks_settings() for spec in (found or ())]
    for spec in specs:
        value, source = spec.default, "default"
        for origin, table in settings._raw:
            if spec.key in table:
                value, source = _parse(spec.key, spec.kind, table[spec.key], origin), origin
        for env in (f"IMAGEWORKS_{spec.key.upper()}", *spec.env):
            if os.environ.get(env):
                value, source = _parse(spec.key, spec.kind, os.environ[env], f"environment {env}"), f"environment {env}"
                break
        if settings._overrides.get(spec.key) is not None:
            value, source = _parse(spec.key, spec.kind, settings._overrides[spec.key], "option"), "option"
        if spec.kind in ("path", "paths") and value is not None:
            value = [_expand(p) for p in value] if spec.kind == "paths" else _expand(value)
        if spec.derive is not None:
            derived = spec.derive(value)
            if value is None and derived not in (None, [], ""):
                source = f"default ({spec.help or 'found on disk'})"
            value = derived
        values[spec.key] = value
        sources[spec.key] = source
    # The view providers see while declaring locations and roots: every value, resolved.
    settings._full = (values, sources)
    locations = dict(values["locations"])
    for found in hook.imageworks_locations(settings=settings):
        for location in found or ():
            if location.label not in locations:
                locations[location.label] = _expand(location.path)
                sources.setdefault(f"locations.{location.label}", f"provider {location.provider or '?'}")
            if location.backend:
                settings.location_backends[location.label] = location.backend
            if location.formats:
                settings.location_formats[location.label] = tuple(location.formats)
    values["locations"] = locations
    settings._provider_roots = [_expand(p) for found in hook.imageworks_roots(settings=settings) for p in (found or ())]
    return values, sources


def _expand(path: str | os.PathLike) -> str:
    return str(Path(path).expanduser().absolute())


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise BadInputError(f"{path}: nested too deeply") from None
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
            if key in SCHEMA:  # other keys belong to providers (checked when they are resolved)
                values[key] = _parse(key, SCHEMA[key][0], value, origin)
                sources[key] = origin
    for key, (kind, _default) in SCHEMA.items():
        env = f"IMAGEWORKS_{key.upper()}"
        if os.environ.get(env):
            values[key] = _parse(key, kind, os.environ[env], f"environment {env}")
            sources[key] = f"environment {env}"
    for key, value in (overrides or {}).items():
        if value is not None and key in SCHEMA:
            values[key] = _parse(key, SCHEMA[key][0], value, "option")
            sources[key] = "option"
    _derive(values, sources, registry_dir)
    return Settings(values, sources, registry_dir, layers, overrides)


def _derive(values: dict[str, Any], sources: dict[str, str], registry_dir: Path) -> None:
    expand = lambda p: str(Path(p).expanduser().absolute())  # noqa: E731
    values["model_root"] = expand(values["model_root"])
    if values["log_dir"] is None:
        # A project's configs/ keeps its logs beside it; any other registry directory (the user
        # data directory, a shared folder) holds the registry and nothing else (docs/registry.md §1).
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
    locations.setdefault(DEFAULT_LOCATION, str(Path(values["model_root"]) / "weights"))
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
        kinds = {k: kind for k, (kind, _d) in SCHEMA.items()}
        if key not in kinds:
            from .plugins import get_plugins

            kinds.update({spec.key: spec.kind for found in get_plugins().hook.imageworks_settings()
                          for spec in (found or ())})
        if key not in kinds:
            raise BadInputError(f"unknown setting {key!r} (known: {', '.join(sorted(kinds))})")
        kind = kinds[key]
        value = _parse(key, kind, raw_value, "config set")
        path = registry_dir / PROJECT_FILE
        table = _read_toml(path)
        table[key] = value
    from .registry.layers import atomic_write

    registry_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tomli_w.dumps(table).encode("utf-8"))
    return path

