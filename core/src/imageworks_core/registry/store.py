"""The registry directory: locked, atomic read-modify-write of the layers, backups, merged view."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import BadInputError, LockTimeoutError
from .layers import FIELD_RANK, TEMP_SUFFIX, Layer, atomic_write, read_layer, remember_valid, render_layer, unknown_fields
from .merge import MergedView, merge_layers

if TYPE_CHECKING:  # the classes are built only by commands that need them
    from ..entry import Entry

CURATED = "model_registry.curated.json"
DISCOVERED = "model_registry.discovered.json"
MERGED = "model_registry.json"
LOCK = ".model_registry.lock"


def locate_registry_dir(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> tuple[Path, str]:
    """The registry directory and why it was chosen (docs/registry.md §1): ``--registry-dir``,
    ``IMAGEWORKS_REGISTRY_DIR``, the nearest ``configs/`` holding a curated layer (walking up as
    git finds ``.git``), else the user data directory. Never the folder a command runs in."""
    if explicit:
        return Path(explicit).expanduser().absolute(), "the --registry-dir option"
    env = os.environ.get("IMAGEWORKS_REGISTRY_DIR")
    if env:
        return Path(env).expanduser().absolute(), "environment IMAGEWORKS_REGISTRY_DIR"
    start = (cwd or Path.cwd()).absolute()
    for folder in (start, *start.parents):
        if (folder / "configs" / CURATED).is_file():
            return folder / "configs", f"nearest configs/ holding {CURATED} above {start}"
    from platformdirs import user_data_dir

    return (Path(user_data_dir("imageworks", appauthor=False)),
            f"no configs/ holding {CURATED} above {start}: the user data directory")


def find_registry_dir(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    return locate_registry_dir(explicit, cwd)[0]


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Registry:
    """A registry directory. Reads need no lock (writes are atomic renames); writes take it."""

    def __init__(self, directory: Path, *, lock_timeout: float = 30.0, backups_keep: int = 20,
                 on_notice: Callable[[str], None] | None = None):
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self.backups_keep = backups_keep
        self.on_notice = on_notice  # where warnings about the files go (the CLI: stderr and the log)
        self._noticed: set[tuple[str, tuple[str, ...]]] = set()

    # -- paths
    def layer_path(self, kind: str) -> Path:
        return self.directory / (CURATED if kind == "curated" else DISCOVERED)

    @property
    def merged_path(self) -> Path:
        return self.directory / MERGED

    @property
    def lock_path(self) -> Path:
        return self.directory / LOCK

    @property
    def backups_dir(self) -> Path:
        return self.directory / "backups"

    def cache_path(self, name: str) -> Path:
        """Where this registry's cache file ``name`` lives: in the user's cache directory, never
        the registry directory (registry.md §1). Its folder may not exist yet."""
        from ..cachedir import cache_path

        return cache_path(self.directory, name)

    # -- reading
    def read(self, kind: str) -> Layer:
        layer = read_layer(self.layer_path(kind), kind)
        if layer.unknown:
            self._notice_unknown(layer)
        return layer

    def _notice_unknown(self, layer: Layer) -> None:
        """docs/registry.md §3: unknown fields are kept, and reported once (per command) with paths."""
        key = (str(layer.path), layer.unknown)
        if key in self._noticed or self.on_notice is None:
            return
        self._noticed.add(key)
        shown = ", ".join(layer.unknown[:5]) + (f" and {len(layer.unknown) - 5} more" if len(layer.unknown) > 5 else "")
        self.on_notice(f"{layer.path}: unknown fields kept as they are: {shown}")

    def load(self) -> MergedView:
        return merge_layers(self.read("curated"), self.read("discovered"))

    # -- writing
    @contextlib.contextmanager
    def transaction(self, *, backup: bool = False, dry_run: bool = False) -> Iterator["Transaction"]:
        """Hold the lock, read both layers fresh, let the caller change them, then write what
        changed (after a backup when asked). With ``dry_run`` nothing is written."""
        if dry_run:
            yield Transaction(self, self.read("curated"), self.read("discovered"), dry_run=True)
            return
        with self._lock():
            self._remove_stray_temps()
            tx = Transaction(self, self.read("curated"), self.read("discovered"))
            yield tx
            tx.commit(backup=backup)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        import filelock

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(f"cannot create registry directory {self.directory}: {exc.strerror}")
        lock = filelock.FileLock(str(self.lock_path), timeout=self.lock_timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise LockTimeoutError(
                f"timed out after {self.lock_timeout:g}s waiting for the registry lock {self.lock_path}",
                hint="another imageworks command is writing the registry; wait for it or raise lock_timeout_s",
            ) from None
        except OSError as exc:
            raise BadInputError(f"cannot lock the registry at {self.lock_path}: {exc.strerror}") from None
        try:
            yield
        finally:
            lock.release()

    def _remove_stray_temps(self) -> None:
        # Temps are only written under the lock, so any left now belong to a killed writer.
        for stray in self.directory.glob(f".*{TEMP_SUFFIX}"):
            stray.unlink(missing_ok=True)

    def backup(self, kind: str) -> Path | None:
        source = self.layer_path(kind)
        if not source.exists():
            return None
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = self.backups_dir / f"model_registry.{kind}.{stamp}.json"
        same_second = [_backup_key(p)[1] for p in self.backups(kind) if _backup_key(p)[0] == stamp]
        if same_second:  # two backups in one second keep both, in order
            target = self.backups_dir / f"model_registry.{kind}.{stamp}-{max(same_second) + 1}.json"
        atomic_write(target, source.read_bytes())
        self._prune_backups(kind)
        return target

    def backups(self, kind: str) -> list[Path]:
        """Backups of a layer, oldest first."""
        if not self.backups_dir.is_dir():
            return []
        return sorted(self.backups_dir.glob(f"model_registry.{kind}.*.json"), key=_backup_key)

    def _prune_backups(self, kind: str) -> None:
        for old in self.backups(kind)[: -self.backups_keep or None]:
            old.unlink(missing_ok=True)

    @staticmethod
    def render_merged(view: MergedView) -> bytes:
        models = [view.full_row(name) for name in view.rows]
        return render_layer(models, in_order=True)  # full rows: contract order


def _backup_key(path: Path) -> tuple[str, int]:
    stamp = path.name.split(".")[2]
    base, _, n = stamp.partition("-")
    return base, int(n or 0)


class Transaction:
    """The layers as read under the lock; edits are collected and written on commit."""

    def __init__(self, registry: Registry, curated: Layer, discovered: Layer, *, dry_run=False):
        self.registry = registry
        self.dry_run = dry_run
        self.curated_layer = curated
        self.discovered_layer = discovered
        self.discovered: dict[str, Entry] = {e.name: e for e in discovered.entries}
        self.curated: list[dict[str, Any]] = [dict(raw) for raw in curated.raw]
        self._curated_changed = False
        self._rendered: dict[str, list[dict[str, Any]]] = {}
        self._unknown: list[str] = []  # the unknown-field paths of the discovered rows last rendered
        self.backups: list[Path] = []

    # -- views
    def merged(self) -> MergedView:
        from ..converter import unstructure_entry

        curated = Layer("curated", self.curated_layer.path, tuple(self.curated), exists=True)
        rendered = self._rendered.get("discovered")  # the rows commit just rendered, if no edit since
        rows = tuple(rendered if rendered is not None else
                     (unstructure_entry(self.discovered[n]) for n in sorted(self.discovered)))
        return merge_layers(curated, Layer("discovered", self.discovered_layer.path, rows))

    def identities(self) -> dict[str, str | None]:
        """name -> identity, for every name held in either layer (for collision checks)."""
        taken: dict[str, str | None] = {raw["name"]: (raw.get("metadata") or {}).get("identity") for raw in self.curated}
        for name, entry in self.discovered.items():
            taken[name] = entry.identity or taken.get(name)
        return taken

    def find_identity(self, identity: str) -> Entry | None:
        for entry in self.discovered.values():
            if entry.identity == identity:
                return entry
        return None

    # -- edits
    def put(self, entry: Entry) -> None:
        self.discovered[entry.name] = entry
        self._rendered.pop("discovered", None)

    def delete(self, name: str) -> Entry | None:
        self._rendered.pop("discovered", None)
        return self.discovered.pop(name, None)

    def delete_curated(self, name: str) -> bool:
        before = len(self.curated)
        self.curated = [raw for raw in self.curated if raw.get("name") != name]
        self._curated_changed |= len(self.curated) != before
        return len(self.curated) != before

    def replace_curated(self, name: str, raw: dict[str, Any]) -> None:
        self.curated = [raw if r.get("name") == name else r for r in self.curated]
        self._curated_changed = True

    def rewrite_curated(self) -> None:
        """Ask for the curated layer to be written even with no entry changed (migration)."""
        self._curated_changed = True

    # -- commit
    def _discovered_bytes(self) -> bytes:
        from ..converter import unstructure_entry

        entries = [self.discovered[n] for n in sorted(self.discovered)]
        models = [unstructure_entry(e) for e in entries]
        self._rendered["discovered"] = models
        # A row's fields this version does not know are its entry's ``extra`` ones (the converter
        # writes every known field, then those): found without looking through 10,000 rows.
        self._unknown = [f"$.models[{i}].{key}" for i, e in enumerate(entries) if e.extra
                         for key in e.extra if key not in FIELD_RANK]
        return render_layer(models, in_order=True)  # the converter writes fields in class order

    def changed_layers(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        data = self._discovered_bytes()
        if _current_bytes(self.discovered_layer.path) != data and (
            self.discovered or self.discovered_layer.exists
        ):
            out["discovered"] = data
        if self._curated_changed:
            data = render_layer(self.curated)
            if _current_bytes(self.curated_layer.path) != data:
                out["curated"] = data
        return out

    def commit(self, *, backup: bool) -> list[str]:
        changed = self.changed_layers()
        if self.dry_run:
            return list(changed)
        for kind in changed:
            if backup:
                saved = self.registry.backup(kind)
                if saved:
                    self.backups.append(saved)
        # The layers go to disk on another thread while this one builds the merged view: writing
        # and flushing megabytes lets go of the GIL (a 10,000-entry layer is 14 MB, ~60 ms).
        # The merged file is written only once they are, as before.
        writing = _Writer([(self.registry.layer_path(kind), data) for kind, data in changed.items()])
        try:
            view = self.merged() if changed or not self.registry.merged_path.exists() else None
            merged = None
            if view is not None and (changed or self.curated_layer.exists or self.discovered_layer.exists):
                merged = self.registry.render_merged(view)
        finally:
            writing.wait()
        for kind, data in changed.items():
            unknown = unknown_fields(self.curated, "$.models") if kind == "curated" else self._unknown
            remember_valid(self.registry.directory, hashlib.sha256(data).hexdigest(), unknown)
        if merged is not None:
            atomic_write(self.registry.merged_path, merged)
        return list(changed)


class _Writer:
    """``atomic_write`` of each (path, data), in order, on a thread of its own when there is
    enough to write that the hand-over pays (else right here)."""

    IN_BACKGROUND = 1 << 20

    def __init__(self, files: list[tuple[Path, bytes]]):
        self.files, self.error, self.thread = files, None, None
        if sum(len(data) for _, data in files) < self.IN_BACKGROUND:
            self._run()
            return
        import threading

        self.thread = threading.Thread(target=self._run, name="registry write")
        self.thread.start()

    def _run(self) -> None:
        try:
            for path, data in self.files:
                atomic_write(path, data)
        except BaseException as exc:  # noqa: BLE001 - raised where the writes are waited for
            self.error = exc

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.error is not None:
            raise self.error


def _current_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def load_registry(registry_dir: str | os.PathLike | None = None) -> MergedView:
    """For other tools: the effective (merged) registry, found as the CLI finds it. Read-only;
    takes no lock."""
    return Registry(find_registry_dir(registry_dir)).load()
