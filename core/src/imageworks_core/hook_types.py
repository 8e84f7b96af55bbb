"""Hook inputs and outputs: what the core hands providers and what they give back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import attrs

from .entry import Artifacts, Capabilities, ChatTemplate

if TYPE_CHECKING:
    from .registry import Registry
    from .settings import Settings


@attrs.frozen
class Variant:
    """One variant a provider found or fetched. The core names it and merges it into the
    discovered layer; ``identity`` (docs/registry.md §4) decides which entry it updates."""

    provider: str
    identity: str
    family: str
    backend: str
    download_format: str | None
    quantization: str | None
    download_path: str | None
    download_files: tuple[str, ...] = ()
    download_location: str | None = None
    source: dict[str, Any] | None = None
    served_model_id: str | None = None
    model_aliases: tuple[str, ...] = ()
    artifacts: Artifacts = Artifacts()
    chat_template: ChatTemplate | None = None
    capabilities: Capabilities = Capabilities()
    metadata: dict[str, Any] = attrs.field(factory=dict)
    display_name: str | None = None
    license: str | None = None
    deprecated: bool | None = None  # None: keep whatever the entry had
    # Sizes of ``download_files`` (links followed) as the provider's walk saw them; None: the
    # core stats the files when it registers the variant.
    file_sizes: dict[str, int] | None = None


@attrs.frozen
class Location:
    """A place a provider's source keeps models (``imageworks_locations`` hook)."""

    label: str
    path: str
    provider: str | None = None
    backend: str | None = None  # serves GGUF files under it (LM Studio's folder: lmstudio)
    formats: tuple[str, ...] = ()  # downloads of these formats go here by default


@attrs.frozen
class GuiPanel:
    """A provider's panel in the GUI (``imageworks_gui_panels`` hook). ``tab``: ``acquire``
    (📥 Download & Import) or ``maintenance`` (🔧 Registry Maintenance). ``render(kit)`` draws it
    with Streamlit; ``kit`` gives the session, and runs a command showing its exact command line
    (``kit.run_and_show``), so the panel stays a twin of the CLI."""

    tab: str
    title: str
    render: Callable[[Any], None] = attrs.field(eq=False)
    order: int = 50


@attrs.frozen
class Orphan:
    """Something a store holds that nothing uses any more (``imageworks_orphans`` hook): a
    partial download, a blob no manifest or snapshot references, an empty folder."""

    store: str  # which store, as a person names it: "Ollama store /x", "Hugging Face cache /y"
    kind: str  # partial, aria2-control, incomplete-blob, unreferenced-blob, old-snapshot, broken-link, empty-folder
    path: str
    reason: str
    phase: int = 0  # deletion order within a run: lower first (a snapshot before the blobs it links to)
    depends_on: tuple[str, ...] = ()  # only a candidate when these paths go too (blobs of an old snapshot)
    locks: tuple[str, ...] = ()  # lock files a download holds while it writes this path: held -> skipped


@attrs.frozen
class GgufFile:
    """One GGUF file of an entry, as another tool would load it (``imageworks_gguf_files``)."""

    path: str  # where its bytes are now
    name: str  # the file name it gets elsewhere (``Foo-Q4_K_M.gguf``, ``mmproj-Foo-f16.gguf``)
    role: str = "model"  # model | projector
    size: int = 0
    sha256: str | None = None  # filled by the core (known, cached or hashed) before link_in


@attrs.frozen
class LinkRequest:
    """``link NAME --to TARGET`` as the target provider receives it (``imageworks_link_in``)."""

    target: str  # the provider's name: ollama, lmstudio, ...
    entry: Any  # the source Entry
    files: tuple[GgufFile, ...]
    mode: str = "hard"  # hard | symlink | copy
    model_name: str | None = None  # --as MODEL[:TAG]
    dry_run: bool = False


@attrs.frozen
class LinkResult:
    """What a link made: the paths written (the new copy's files first) and where to find it."""

    paths: tuple[str, ...]
    root: str  # the folder to rediscover so the copy is registered
    already: bool = False  # every path existed with the same content: nothing was written
    served_model_id: str | None = None


@attrs.frozen
class FileChange:
    path: str
    change: str  # added | changed | removed
    bytes: int  # what an update fetches for it (0 for removed)


@attrs.frozen
class UpdateCheck:
    """An entry's recorded commit against the hub's current one (``imageworks_check_updates``)."""

    name: str
    repo: str
    revision: str
    commit: str | None
    latest_commit: str | None
    outdated: bool | None  # None: cannot tell (no commit recorded)
    changed: tuple[FileChange, ...] = ()
    note: str | None = None

    @property
    def download_bytes(self) -> int:
        return sum(c.bytes for c in self.changed)


@attrs.frozen
class LockSource:
    """Where an entry's exact bytes can be fetched again (``imageworks_lock_source``): the lock
    file records it as ``<provider>:<source>`` with the revision and commit."""

    source: str  # the provider's own name of the source (a repo id, say)
    revision: str
    commit: str


@attrs.frozen
class CleanupRequest:
    """What ``cleanup`` asks of every provider."""

    older_than_s: float = 3600.0  # nothing newer than this is a candidate (the core checks too)


@attrs.frozen
class DiscoverRequest:
    """What a discovery command asks of the providers it names (``imageworks_discover``)."""

    roots: tuple[str, ...] = ()  # folders to look in; empty: each provider's own default places
    include_caches: bool = False  # also tools' caches (the Hugging Face cache)
    include_testing: bool = False  # also placeholder and test folders
    fallback_format: str | None = None  # format to assume when detection finds none
    dry_run: bool = False  # nothing may be written, caches included


@attrs.define
class Context:
    """What every hook gets: settings, the registry, a reporter, and the command's typed wishes
    and callbacks (the UI's progress bar and quant prompt)."""

    settings: "Settings"
    registry: "Registry"
    warnings: list[tuple[str, str]] = attrs.field(factory=list)
    on_warning: Callable[[str, str], None] | None = None
    on_progress: Callable[["Progress"], None] | None = None
    ask_quant: Callable[[list[str]], str] | None = None  # interactive quant choice (None: never ask)
    content_hash: bool = False  # verify: compare sha256 content hashes, not only sizes
    shared_files: frozenset[str] = frozenset()  # remove: real paths other entries still list

    def warn(self, item: str, reason: str) -> None:
        """Report a skipped item (a malformed manifest, an unreadable folder) and carry on."""
        self.warnings.append((item, reason))
        if self.on_warning:
            self.on_warning(item, reason)

    def progress(self, progress: "Progress") -> None:
        if self.on_progress:
            self.on_progress(progress)



@attrs.frozen
class Progress:
    """A transfer's progress, for progress bars (CLI) and progress widgets (GUI)."""

    label: str
    done_bytes: int
    total_bytes: int | None
    speed_bps: float | None = None
    eta_s: float | None = None
    finished: bool = False


@attrs.frozen
class DownloadRequest:
    """The ``download`` command's source and options (docs/commands.md)."""

    source: str
    formats: tuple[str, ...] = ()
    quant: str | None = None
    location: str | None = None
    weights: tuple[str, ...] = ()
    support_repo: str | None = None
    include_optional: bool = False
    non_interactive: bool = False
    force: bool = False
    backend: str | None = None
    dry_run: bool = False
    # Options only the claiming provider understands, by name (the download command's own flags,
    # such as hf's ``aria2``): the core passes them through untouched.
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class PlannedFile:
    path: str
    size: int | None
    sha256: str | None = None
    present: bool = False


@attrs.frozen
class DownloadResult:
    """What a download did. ``variant`` is registered by the core (not on a dry run)."""

    variant: Variant | None
    target_dir: Path
    files: tuple[PlannedFile, ...]
    bytes_transferred: int = 0
    seconds: float = 0.0
    already_present: bool = False
    dry_run: bool = False
    via: str | None = None  # how the bytes came, as a person names it (a downloader's name)


@attrs.frozen
class Finding:
    """A problem ``verify`` found with an entry's files."""

    problem: str
    path: str | None = None


@attrs.frozen
class Redetected:
    """What ``normalize`` found an entry to be now. None fields mean "could not tell"."""

    download_format: str | None = None
    quantization: str | None = None
    download_files: tuple[str, ...] | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class RemovedFiles:
    """What ``remove`` deleted, and what it kept because something else still uses it."""

    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@attrs.frozen
class SettingSpec:
    """A setting a provider declares (``imageworks_settings`` hook): its key, kind (``str``,
    ``path``, ``paths``, ``int``, ``float``, ``bool``, ``list``, ``table``,
    ``choice:a,b``), default, the environment variables other tools define for it (read after
    ``IMAGEWORKS_<KEY>``), and ``derive``: a function of the value (None when unset) that fills in
    a default found on disk (a tool's home folder). A credential is not a setting: a provider
    hands the tokens it uses to ``kit.add_secret`` so that no log line or message shows them."""

    key: str
    kind: str
    default: Any = None
    env: tuple[str, ...] = ()
    help: str = ""
    derive: Callable[[Any], Any] | None = attrs.field(default=None, eq=False)
