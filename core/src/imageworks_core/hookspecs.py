"""The hooks every provider may implement (the reference, as pytest's ``hookspec.py``).

A provider is a module (or object) with functions marked ``@imageworks_core.hookimpl`` whose
names are the hooks below; it may implement any subset, with any subset of each hook's
arguments. The core calls hooks with keyword arguments. Built-in sources ship as plugins
through these same hooks, and the core's own defaults (``default_plugin.py``) answer last.

Who is asked: hooks about one entry are asked of the entry's own provider (its
``source_provider``) and then the core's default plugin; hooks about a source or a command are
asked of every installed provider, in precedence order (``plugins.py``: ascending
``IMAGEWORKS_PRECEDENCE``, then name). "firstresult" marks a hook whose first non-None answer is
used, the others not being asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:
    import click

    from .entry import Entry
    from .hook_types import (CleanupRequest, Context, DiscoverRequest, DownloadRequest, DownloadResult, Finding,
                             GgufFile, GuiPanel, LinkRequest, LinkResult, Location, LockSource, Orphan, Redetected,
                             RemovedFiles, SettingSpec, UpdateCheck, Variant)
    from .settings import Settings

PROJECT = "imageworks"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ----------------------------------------------------------------------------- declaring
@hookspec
def imageworks_settings() -> "Iterable[SettingSpec] | None":
    """Declare this provider's settings (its store's folder, a host, download knobs...).

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

    Called right after the settings above are resolved. A location is a root for safe deletion,
    a ``--location`` label, and may say which ``backend`` serves GGUF files under it and which
    ``formats`` it is the default download home for. A label the user configured wins over a
    provider's.

    :param settings: every setting's value, the providers' included.
    :return: an iterable of :class:`Location`, or None.
    """


@hookspec
def imageworks_roots(settings: "Settings") -> "Iterable[str] | None":
    """Name other directories this provider may delete inside (its store, a tool's cache).

    Called right after the locations above. Nothing outside the configured roots is ever
    deleted.

    :param settings: every setting's value, with the locations.
    :return: an iterable of directory paths, or None.
    """


@hookspec
def imageworks_register_commands(group: "click.Group", program: str) -> None:
    """Add commands to ``imageworks-download`` or ``imageworks-loader``.

    Called the first time a command not built into the core is looked up (or help lists
    them), so that start-up stays fast. A built-in provider's command (``cli/catalogue.json``)
    is looked up by asking only the provider that brings it, unless a provider the catalogue
    does not know is installed; help, and a name the catalogue does not list, ask every
    provider. A provider should add its commands under names that say whose they are. Raising
    breaks the program, so catch what you can.

    :param group: the program's click group; call ``group.add_command``.
    :param program: ``"imageworks-download"`` or ``"imageworks-loader"``.
    :return: nothing.
    """


@hookspec
def imageworks_gui_panels() -> "Iterable[GuiPanel] | None":
    """Add this provider's panels to the GUI (the twins of its commands).

    Called by the GUI (``imageworks-gui``) each time the Models page is drawn. A panel's
    ``render(kit)`` uses Streamlit and ``kit.run_and_show(program, args, key=..., label=...)`` so
    that it shows and runs the exact command a terminal would.

    :return: an iterable of :class:`GuiPanel`, or None.
    """


# ----------------------------------------------------------------------------- finding and fetching
@hookspec
def imageworks_discover(request: "DiscoverRequest", ctx: "Context") -> "Iterable[Variant] | None":
    """Find the variants this provider's source holds.

    Called by ``discover-all`` for every installed provider, and by a provider's own commands
    for that provider only: the core asks only the providers a command names, so an
    implementation needs no "is this for me?" check. Answers are merged in precedence order: of
    two providers seeing the same files, the one asked first registers them.

    A source that cannot be reached, or an item that cannot be read, is reported with
    ``ctx.warn(item, reason)`` and skipped; raising aborts the whole command, so raise only
    for bad input the person must fix (an ``ImageworksError``).

    :param request: where to look (``roots``; empty means the provider's own default places),
        whether to include tools' caches and test folders, a fallback format, and whether this
        is a dry run (write no cache).
    :param ctx: settings, registry and a reporter.
    :return: an iterable of :class:`Variant`, or None when the provider has nothing to say.
    """


@hookspec(firstresult=True)
def imageworks_download(request: "DownloadRequest", ctx: "Context") -> "DownloadResult | None":
    """Fetch the model named by ``request.source``.

    Called by ``download`` (and ``sync``, on the provider a lock file names). firstresult: the
    first provider, in precedence order, to return non-None claims the source; return None for a
    source that is not yours. On ``request.dry_run`` plan without writing. Raise
    ``DownloadError`` (exit 1) for a failed fetch, ``BadInputError`` (exit 2) for a malformed
    source. Never register a partial download: the core registers only what you return.

    :param request: the source, the wanted formats, quantisation, files and location, and
        ``options`` only the claiming provider understands.
    :param ctx: settings, registry, the progress callback and the interactive quant prompt.
    :return: a :class:`DownloadResult` (its ``variant`` is registered by the core), or None.
    """


@hookspec(firstresult=True)
def imageworks_lock_source(entry: "Entry", ctx: "Context") -> "LockSource | None":
    """Where an entry this provider owns can be fetched again, byte for byte.

    Called by ``lock`` for each entry it writes, and by ``sync`` to find an installed copy already
    at a locked commit, on the entry's own provider only (firstresult). The lock file records the
    answer as ``<provider>:<source>`` with its revision and commit. Must not touch the network.

    :param entry: an entry this provider owns.
    :param ctx: settings, registry and a reporter.
    :return: a :class:`LockSource`, or None when the entry cannot be fetched again (no commit
        recorded, a local-only copy): ``lock`` then leaves it out with a warning.
    """


@hookspec(firstresult=True)
def imageworks_locked_download(source: str, commit: str) -> "str | None":
    """The ``download`` source that fetches ``source`` at exactly ``commit``.

    Called by ``sync`` for each locked model that is missing here, on the provider the lock file
    names (``<provider>:<source>``) only (firstresult); ``sync`` then runs that provider's
    ``imageworks_download`` with the answer and checks every file's sha256 against the lock.

    :param source: the provider's own name of the source, as its ``imageworks_lock_source`` gave it.
    :param commit: the commit the lock file pins.
    :return: a source string this provider's ``imageworks_download`` accepts, or None when it
        cannot fetch by commit.
    """


@hookspec(firstresult=True)
def imageworks_check_updates(entries: "list[Entry]", ctx: "Context") -> "list[UpdateCheck] | None":
    """Compare these entries' recorded commits with what their source serves now.

    Called by ``outdated`` and ``update`` with the entries this provider owns (the core groups
    them; firstresult). Make at most one metadata request per repo and revision, in parallel,
    bounded; never download. An entry pinned to a commit is never outdated. A source that cannot
    be reached is an error (``DownloadError``: one line, exit 1).

    :param entries: the entries of this provider to check.
    :param ctx: settings, registry and a reporter.
    :return: one :class:`UpdateCheck` per entry, or None when this provider has no remote source.
    """


@hookspec(firstresult=True)
def imageworks_update(entry: "Entry", check: "UpdateCheck", dry_run: bool,
                      ctx: "Context") -> "tuple[Variant, int] | None":
    """Bring one outdated entry this provider owns to ``check.latest_commit``.

    Called by ``update`` on the entry's own provider (firstresult). Reuse unchanged files locally
    (no bytes fetched), fetch and verify changed and new ones, leave removed ones out, and switch
    atomically (stage beside, then swap): a kill at any point leaves a whole copy at the entry's
    path.

    :param entry: the outdated entry.
    :param check: what ``imageworks_check_updates`` found for it (the changed files).
    :param dry_run: write nothing and return None.
    :param ctx: settings, registry and the progress callback.
    :return: ``(variant, bytes_fetched)``: the core registers the variant (same identity, new
        commit); or None.
    """


# ----------------------------------------------------------------------------- one entry
@hookspec
def imageworks_verify(entry: "Entry", ctx: "Context") -> "Iterable[Finding | str] | None":
    """Check provider-specific facts of an entry this provider owns.

    Called by ``verify`` for every installed entry, on the entry's own provider only, after the
    core's own checks (files exist, sizes, and with ``ctx.content_hash`` content hashes).

    :param entry: the entry to check.
    :param ctx: settings, registry, and ``content_hash`` (compare sha256s, not only sizes).
    :return: the problems found (:class:`Finding` or strings; empty if none), or None.
    """


@hookspec(firstresult=True)
def imageworks_normalize(entry: "Entry", ctx: "Context") -> "Redetected | None":
    """Re-detect format, quantisation and files of an entry this provider owns.

    Called by ``normalize-formats`` once per entry, on the entry's own provider, then on the
    core's default plugin (which reads the GGUF header or the folder); firstresult. Must not
    write anything.

    :param entry: the entry to look at again.
    :param ctx: settings, registry and a reporter.
    :return: a :class:`Redetected`, or None to let the default answer.
    """


@hookspec(firstresult=True)
def imageworks_remove(entry: "Entry", delete_files: bool, ctx: "Context") -> "RemovedFiles | None":
    """Delete the files of an entry this provider owns, safely.

    Called by ``remove --delete-files`` before the entry is changed, on the entry's own
    provider, then on the core's default plugin, which deletes the entry's listed files;
    firstresult. Use ``kit.safe_delete`` / ``kit.delete_entry_files`` so that nothing outside the
    configured roots is deleted and no symlink is followed, and keep the files in
    ``ctx.shared_files`` (other entries list them).

    :param entry: the entry being removed.
    :param delete_files: always True today (the hook is not called otherwise).
    :param ctx: settings, registry and ``shared_files`` (real paths to keep).
    :return: a :class:`RemovedFiles`, or None to let the default delete the listed files.
    """


@hookspec(firstresult=True)
def imageworks_is_placeholder(entry: "Entry") -> "bool | None":
    """Is this entry, which this provider owns, a placeholder rather than a model (a stand-in
    an earlier version of the provider registered)?

    Called by ``prune-deprecated --placeholders-only`` for each deprecated entry of the
    discovered layer, on the entry's own provider only (firstresult).

    :param entry: a deprecated entry this provider owns.
    :return: True for a placeholder; False or None otherwise.
    """


# ----------------------------------------------------------------------------- sharing and cleaning
@hookspec(firstresult=True)
def imageworks_gguf_files(entry: "Entry", ctx: "Context") -> "list[GgufFile] | None":
    """The GGUF files of an entry this provider owns, as another tool would load them.

    Called by ``link`` on the entry's own provider, then on the core's default plugin (which
    takes the entry's ``.gguf`` files: main weights, shards, ``mmproj`` projectors); firstresult.
    A store that keeps GGUF bytes under other names (content-addressed blobs) answers with the
    paths and the file names they should get elsewhere.

    :param entry: the entry being linked.
    :param ctx: settings, registry and a reporter.
    :return: a list of :class:`GgufFile`, or None to let the default answer.
    """


@hookspec(firstresult=True)
def imageworks_link_in(request: "LinkRequest", ctx: "Context") -> "LinkResult | None":
    """Make ``request.files`` usable by this provider's tool without copying bytes.

    Called by ``link NAME --to TARGET`` on the provider named TARGET only, or on the provider
    that declared TARGET with ``imageworks_link_targets`` (then ``request.files`` is empty: read
    ``request.entry`` and return the new copy as ``LinkResult.variant``); firstresult. Place
    each file with ``kit.place_file`` (hard link, or ``request.mode`` symlink/copy), write
    whatever the tool needs to see the model (each file atomically, the one that makes the model
    visible last), and on ``request.dry_run`` write nothing. Linking twice must be a no-op. The
    core then rediscovers ``LinkResult.root`` and registers the copy with
    ``metadata.linked_from``.

    :param request: the source entry, its GGUF files (with sha256), the mode, the wanted name
        (``--as``) and whether this is a dry run.
    :param ctx: settings, registry and a reporter.
    :return: a :class:`LinkResult`, or None when this provider cannot link models in.
    """


@hookspec
def imageworks_link_targets() -> "Iterable[str] | None":
    """Names other than the provider's own that ``link --to`` accepts, placed by this provider.

    Called by ``link`` to route ``--to NAME``; every provider answers. Such a target takes a
    registered entry of any format (a cache layout that other tools read by repo id, say):
    ``imageworks_link_in`` is then called on this provider with ``request.target`` set to the
    name and ``request.files`` empty.

    :return: the target names, or None.
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

    :param request: ``older_than_s``: nothing newer is a candidate.
    :param ctx: settings, registry and a reporter.
    :return: an iterable of :class:`Orphan`, or None.
    """
