"""The hooks every provider may implement. The core calls them with keyword arguments.

A provider is a module (or object) with functions marked ``@imageworks_core.hookimpl`` whose
names are the hooks below. Built-in sources ship as plugins through these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:
    import click

    from .entry import Entry
    from .hook_types import SettingSpec
    from .settings import Settings
    from .hook_types import (CleanupRequest, Context, UpdateCheck, DiscoverRequest, GgufFile, LinkRequest, LinkResult, Orphan, DownloadRequest, DownloadResult, Finding, GuiPanel, Location,
                        Redetected, RemovedFiles, Variant)

PROJECT = "imageworks"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def imageworks_discover(request: "DiscoverRequest", ctx: "Context") -> "Iterable[Variant] | None":
    """Find the variants this provider's source holds.

    Called by ``discover-all`` for every installed provider, and by a provider's own commands
    (``scan``, ``import-ollama``...) for that provider only: the core asks only the providers a
    command names, so an implementation needs no "is this for me?" check. ``request`` says where
    to look (``roots``; empty means the provider's own default places), whether to include tools'
    caches, test folders, a fallback format, and whether this is a dry run (write no cache).

    :param request: a :class:`DiscoverRequest`.
    :param ctx: settings, registry and a reporter.
    :return: an iterable of :class:`Variant`, or None when the provider has nothing to say.

    A source that cannot be reached, or an item that cannot be read, is reported with
    ``ctx.warn(item, reason)`` and skipped; raising aborts the whole command, so raise only
    for bad input the person must fix (an ``ImageworksError``).
    """


@hookspec(firstresult=True)
def imageworks_download(request: "DownloadRequest", ctx: "Context") -> "DownloadResult | None":
    """Fetch the model named by ``request.source``.

    Called by ``download``; the first provider to return non-None claims the source.
    Return None for a source that is not yours. On ``request.dry_run`` plan without writing.

    :return: a :class:`DownloadResult`; its ``variant`` is registered by the core.

    Raise ``DownloadError`` (exit 1) for a failed fetch, ``BadInputError`` (exit 2) for a
    malformed source. Never register a partial download: the core registers only what you return.
    """


@hookspec
def imageworks_verify(entry: "Entry", ctx: "Context") -> "Iterable[Finding] | None":
    """Check provider-specific facts of an entry this provider owns.

    Called by ``verify`` for every installed entry, on the entry's own provider only (its
    ``source_provider``), after the core's own checks (files exist, sizes, and with
    ``ctx.content_hash`` content hashes).

    :return: the problems found (:class:`Finding` or strings; empty if none), or None.
    """


@hookspec(firstresult=True)
def imageworks_normalize(entry: "Entry", ctx: "Context") -> "Redetected | None":
    """Re-detect format, quantisation and files of an entry this provider owns.

    Called by ``normalize-formats`` once per entry, on the entry's own provider, then on the
    core's default plugin (which reads the GGUF header or the folder): the first non-None answer
    is used. Must not write anything.

    :return: a :class:`Redetected`, or None to let the default answer.
    """


@hookspec(firstresult=True)
def imageworks_remove(entry: "Entry", delete_files: bool, ctx: "Context") -> "RemovedFiles | None":
    """Delete the files of an entry this provider owns, safely.

    Called by ``remove --delete-files`` (``delete_files`` True) before the entry is changed, on
    the entry's own provider, then on the core's default plugin, which deletes the entry's
    listed files: the first non-None answer wins. Use ``safe_delete`` / ``delete_entry_files``
    so that nothing outside the configured roots is deleted and no symlink is followed, and keep
    the files in ``ctx.shared_files`` (other entries list them).

    :return: a :class:`RemovedFiles`, or None to let the default delete the listed files.
    """


@hookspec
def imageworks_register_commands(group: "click.Group", program: str) -> None:
    """Add commands to ``imageworks-download`` or ``imageworks-loader`` (``program``).

    Called the first time a command not built into the core is looked up (or help lists
    them), so that start-up stays fast. A provider should add at most one subgroup, named after
    itself. Return nothing; raising breaks the program, so catch what you can.
    """


@hookspec
def imageworks_settings() -> "Iterable[SettingSpec] | None":
    """Declare this provider's settings (LM Studio's roots, the Ollama store and host, the hub
    endpoint...).

    Called once per process, the first time a setting that is not the core's is needed (never
    for ``list`` or ``stats``). Values come, lowest first, from the spec's default, the user
    file, the project file, ``IMAGEWORKS_<KEY>`` then the spec's own environment variables, and
    command options; then ``derive`` may fill in a default found on disk. ``config show`` lists
    them with their sources like the core's.

    :return: an iterable of :class:`SettingSpec`, or None.
    """


@hookspec
def imageworks_locations(settings: "Settings") -> "Iterable[Location] | None":
    """Name the places this provider's source keeps models, as location labels.

    Called right after the settings above are resolved (``settings`` holds every value). A
    location is a root for safe deletion, a ``--location`` label, and may say which ``backend``
    serves GGUF files under it and which ``formats`` it is the default download home for. A
    label the user configured wins over a provider's.

    :return: an iterable of :class:`Location`, or None.
    """


@hookspec
def imageworks_roots(settings: "Settings") -> "Iterable[str] | None":
    """Name other directories this provider may delete inside (its store, such as Ollama's).

    Called with the locations above. Nothing outside the configured roots is ever deleted.

    :return: an iterable of directory paths, or None.
    """


@hookspec
def imageworks_gui_panels() -> "Iterable[GuiPanel] | None":
    """Add this provider's panels to the GUI (the twins of its commands).

    Called by the GUI (``imageworks-gui``) each time the Models page is drawn. A panel's
    ``render(kit)`` uses Streamlit and ``kit.run_and_show(program, args, key=..., label=...)`` so
    that it shows and runs the exact command a terminal would.

    :return: an iterable of :class:`GuiPanel`, or None.
    """


@hookspec
def imageworks_orphans(request: "CleanupRequest", ctx: "Context") -> "Iterable[Orphan] | None":
    """Report what this provider's store holds that nothing uses: partial downloads, blobs no
    manifest or snapshot references, snapshots no ref points to, empty folders.

    Called by ``cleanup`` for every installed provider. Only report; never delete. The core
    drops every candidate that a registry entry lists (curated or discovered), that changed in
    the last ``request.older_than_s`` seconds, whose ``locks`` a download holds, or that lies
    outside the configured roots; it counts the bytes deleting really frees (0 for a file with
    other hard links, allocated blocks for sparse partials), and with ``--apply`` deletes in
    ``phase`` order through safe deletion, dropping candidates whose ``depends_on`` stayed.

    :return: an iterable of :class:`Orphan`, or None.
    """


@hookspec(firstresult=True)
def imageworks_gguf_files(entry: "Entry", ctx: "Context") -> "list[GgufFile] | None":
    """The GGUF files of an entry this provider owns, as another tool would load them.

    Called by ``link`` on the entry's own provider, then on the core's default plugin (which
    takes the entry's ``.gguf`` files: main weights, shards, ``mmproj`` projectors). A store that
    keeps GGUF bytes under other names (Ollama's blobs) answers with the paths and the file
    names they should get elsewhere.

    :return: a list of :class:`GgufFile`, or None to let the default answer.
    """


@hookspec(firstresult=True)
def imageworks_link_in(request: "LinkRequest", ctx: "Context") -> "LinkResult | None":
    """Make ``request.files`` usable by this provider's tool without copying bytes.

    Called by ``link NAME --to TARGET`` on the provider named TARGET only (or the provider that
    declared TARGET with ``imageworks_link_targets``: then ``request.files`` is empty, read
    ``request.entry``, and return the new copy as ``LinkResult.variant``). Place each file with
    ``place_file`` (hard link, or ``request.mode`` symlink/copy), write whatever the tool needs
    to see the model (Ollama: blob, config blob, manifest, each written atomically, the manifest
    last), and on ``request.dry_run`` write nothing. Linking twice must be a no-op. The core then
    rediscovers ``LinkResult.root`` and registers the copy with ``metadata.linked_from``.

    :return: a :class:`LinkResult`.
    """


@hookspec
def imageworks_link_targets() -> "Iterable[str] | None":
    """Names other than the provider's own that ``link --to`` accepts, placed by this provider.

    Called by ``link`` to route ``--to NAME``. Such a target takes a registered entry of any
    format (the hf provider's ``hf-cache``: the Hugging Face cache layout): ``imageworks_link_in``
    is then called on this provider with ``request.target`` set to the name and ``request.files``
    empty; it reads ``request.entry``.

    :return: the target names, or None.
    """


@hookspec(firstresult=True)
def imageworks_check_updates(entries: "list[Entry]", ctx: "Context") -> "list[UpdateCheck] | None":
    """Compare these entries' recorded commits with what their source serves now.

    Called by ``outdated`` and ``update`` with the entries this provider owns (the core groups
    them). Make at most one metadata request per repo and revision, in parallel, bounded; never
    download. An entry pinned to a commit is never outdated. A source that cannot be reached is
    an error (``DownloadError``: one line, exit 1).

    :return: one :class:`UpdateCheck` per entry, or None when this provider has no remote source.
    """


@hookspec(firstresult=True)
def imageworks_update(entry: "Entry", check: "UpdateCheck", dry_run: bool, ctx: "Context"):
    """Bring one outdated entry this provider owns to ``check.latest_commit``.

    Called by ``update`` on the entry's own provider. Reuse unchanged files locally (no bytes
    fetched), fetch and verify changed and new ones, leave removed ones out, and switch
    atomically (stage beside, then swap): a kill at any point leaves a whole copy at the entry's
    path. On ``dry_run`` write nothing and return None.

    :return: ``(variant, bytes_fetched)``: the core registers the variant (same identity, new
        commit), or None.
    """
