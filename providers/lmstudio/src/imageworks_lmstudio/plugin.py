"""lmstudio: LM Studio's models folder, ``<root>/<publisher>/<repo>/`` exactly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from imageworks_core import Context, DiscoverRequest, Location, RemovedFiles, SettingSpec, Variant, hookimpl

NAME = "lmstudio"
LOCATION = "windows_lmstudio"  # the label earlier ImageWorks registries use for LM Studio's folder


def _default_roots(value):
    if value is not None:
        return value
    from .home import default_lmstudio_roots

    return [str(p) for p in default_lmstudio_roots()]


@hookimpl
def imageworks_settings():
    return [SettingSpec("lmstudio_roots", "paths", None, derive=_default_roots,
                        help="LM Studio's models folder, from its home")]


@hookimpl
def imageworks_locations(settings):
    roots = settings.lmstudio_roots
    if not roots:
        return None
    # GGUF files under LM Studio's folder are served by LM Studio, and GGUF downloads go there.
    return [Location(LOCATION, roots[0], provider=NAME, backend="lmstudio", formats=("gguf",)),
            *[Location(f"{LOCATION}_{i}", root, provider=NAME, backend="lmstudio") for i, root in enumerate(roots[1:], 2)]]


@hookimpl
def imageworks_register_commands(group, program):
    if program == "imageworks-download":
        from .commands import import_lmstudio_command

        group.add_command(import_lmstudio_command)


@hookimpl
def imageworks_discover(request: DiscoverRequest, ctx: Context):
    roots = [Path(p) for p in ctx.settings.lmstudio_roots]
    if not roots:
        ctx.warn("LM Studio", "not found (no ~/.lmstudio, ~/.lmstudio-home-pointer or legacy folder); nothing to discover")
        return []
    return list(discover_roots(ctx, roots))


def discover_roots(ctx: Context, roots: list[Path]) -> Iterator[Variant]:
    from imageworks_core.kit import file_names, folder_variant, gguf_variants, has_weights
    from imageworks_core.kit import family_from_repo

    for root in roots:
        if not root.is_dir():
            ctx.warn(str(root), "LM Studio models folder does not exist")
            continue
        for publisher in _subdirs(ctx, root):
            for repo in _subdirs(ctx, publisher):
                try:
                    names = file_names(repo)
                except OSError as exc:
                    ctx.warn(str(repo), f"cannot read folder: {exc.strerror}")
                    continue
                source = {"repo_id": f"{publisher.name}/{repo.name}"}
                family = family_from_repo(repo.name)
                ggufs = [n for n in names if n.lower().endswith(".gguf")]
                if ggufs:
                    yield from gguf_variants(ctx, NAME, repo, ggufs, family=family, source=source)
                elif has_weights(names):
                    variant = folder_variant(ctx, NAME, repo, names, family=family, source=source)
                    if variant is not None:
                        yield variant


def _subdirs(ctx: Context, folder: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)
                      and not e.name.startswith("."))
    except OSError as exc:
        ctx.warn(str(folder), f"cannot read folder: {exc.strerror}")
        return []


@hookimpl
def imageworks_remove(entry, delete_files: bool, ctx: Context):
    """Delete a variant's files, then its repo and publisher folders if empty; never the root."""
    if not delete_files:
        return None
    from imageworks_core.kit import delete_entry_files, prune_empty_parents

    result = delete_entry_files(entry, ctx)
    roots = [Path(p) for p in ctx.settings.lmstudio_roots]
    if entry.download_path:
        prune_empty_parents(Path(entry.download_path), roots, levels=2)
    return result


__all__ = ["RemovedFiles"]


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS


@hookimpl
def imageworks_orphans(request, ctx: Context):
    """Empty <publisher>/<repo> folders (what deleting a model in LM Studio, or elsewhere, leaves)."""
    from imageworks_core import Orphan

    found = []
    for root in map(Path, ctx.settings.lmstudio_roots):
        for publisher in _subdirs(ctx, root) if root.is_dir() else ():
            repos = _subdirs(ctx, publisher)
            empty = [repo for repo in repos if not any(f for _d, _s, f in os.walk(repo))]
            label = f"LM Studio {root}"
            found += [Orphan(label, "empty-folder", str(repo), "an empty model folder") for repo in empty]
            if len(empty) == len(repos) and not any(p.is_file() for p in publisher.iterdir()):
                found.append(Orphan(label, "empty-folder", str(publisher), "an empty publisher folder", phase=1,
                                    depends_on=tuple(str(r) for r in empty)))
    return found


@hookimpl
def imageworks_link_in(request, ctx: Context):
    """``<first LM Studio root>/<publisher>/<repo>/<file>.gguf``, the layout LM Studio reads."""
    from imageworks_core import BadInputError, LinkResult
    from imageworks_core.kit import place_file

    roots = ctx.settings.lmstudio_roots
    if not roots:
        raise BadInputError("LM Studio was not found (no ~/.lmstudio, pointer file or legacy folder)",
                            hint="set lmstudio_roots (config set lmstudio_roots DIR)")
    repo_id = (request.entry.source or {}).get("repo_id") or ""
    publisher, _, repo = repo_id.partition("/")
    if not (publisher and repo) or publisher.startswith(".") or repo.startswith("."):
        publisher, repo = "imageworks", request.entry.family
    folder = Path(roots[0]) / publisher / repo
    paths, wrote = [str(folder / f.name) for f in request.files], False
    if not request.dry_run:
        for f in request.files:
            wrote |= place_file(f.path, folder / f.name, request.mode, sha256=f.sha256)
    return LinkResult(tuple(paths), str(roots[0]), already=not wrote and not request.dry_run)
