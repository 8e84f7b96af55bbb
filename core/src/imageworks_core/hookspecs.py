"""The hooks every provider may implement. The core calls them with keyword arguments.

A provider is a module (or object) with functions marked ``@imageworks_core.hookimpl`` whose
names are the hooks below. Built-in sources ship as plugins through these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:
    import click

    from .models import Entry
    from .settings import Settings, SettingSpec
    from .types import (Context, DownloadRequest, DownloadResult, Finding, Location, Redetected, RemovedFiles,
                        Variant)

PROJECT = "imageworks"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def imageworks_discover(ctx: "Context") -> "Iterable[Variant] | None":
    """Find the variants this provider's source holds.

    Called by ``discover-all``, ``scan``, ``import-ollama``, ``import-lmstudio``,
    ``ingest-local-hf`` and ``rebuild-ollama``, for every provider. ``ctx.options["providers"]``
    names the providers the command wants; a provider not named returns None at once.
    ``ctx.options`` also carries the command's options (``bases``, ``include_testing``,
    ``backend``, ``location``, ``store``, ``roots``...).

    :param ctx: settings, registry, options and a reporter.
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

    Called by ``verify`` for every installed entry, for every provider, after the core's own
    checks (files exist, sizes, and with ``ctx.options["hash"]`` content hashes). Return None for
    entries you do not own (``entry.source_provider``), else the problems found (empty if none).
    """


@hookspec(firstresult=True)
def imageworks_normalize(entry: "Entry", ctx: "Context") -> "Redetected | None":
    """Re-detect format, quantisation and files of an entry this provider owns.

    Called by ``normalize-formats`` once per entry; the first non-None answer is used.
    Return None for entries you do not own. Must not write anything.
    """


@hookspec(firstresult=True)
def imageworks_remove(entry: "Entry", delete_files: bool, ctx: "Context") -> "RemovedFiles | None":
    """Delete the files of an entry this provider owns, safely.

    Called by ``remove --delete-files`` (``delete_files`` True) before the entry is changed.
    Use ``imageworks_core.safety.safe_delete`` so that nothing outside the configured roots is
    deleted and no symlink is followed. Keep files other entries still use. Return None for
    entries you do not own; the core then deletes the entry's listed files itself, with the
    same safety rules.
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
