"""The Hugging Face cache as a store we write (providers.md "The Hugging Face cache is a store we
also write"): ``models--owner--name/blobs/<etag>`` (hard links of our files, or files renamed in
by a download), ``snapshots/<commit>/<path>`` relative symbolic links, ``refs/<revision>``
holding the commit with no newline. Never ``trees/``, never a top-level ``blobs/``, never a
write into an existing blob.

Placed blobs are made read-only (``chmod a-w``, shared by every name of the inode, as
huggingface_hub 2.x does for its store): a tool that would write through a snapshot path
(``save_pretrained`` into it, an editor) fails instead of changing our copy's bytes under its
recorded hash. Our own re-downloads and updates write a new file and rename it over, which a
read-only file allows."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from pathlib import Path

import attrs

from imageworks_core import ImageworksError, RemovedFiles, VerificationError
from imageworks_core.kit import same_file

from .cache_paths import cache_dir, cache_roots  # noqa: F401 - cache_roots: where it was

HEX = frozenset("0123456789abcdef")


@attrs.frozen
class CacheFile:
    path: str  # the file's path in the repo (POSIX)
    source: str  # where its bytes are now
    etag: str  # its blob name: sha256 (LFS) or git blob sha1
    size: int | None = None
    sha256: str | None = None


@attrs.frozen
class Placed:
    snapshot: Path
    paths: tuple[str, ...]  # the snapshot paths, in the files' order
    wrote: bool  # False: everything was already in place
    notes: tuple[str, ...] = ()


def is_commit(text: str | None) -> bool:
    return isinstance(text, str) and len(text) == 40 and HEX.issuperset(text)


def repo_folder_name(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def git_blob_sha1(path: str | os.PathLike) -> str:
    """git's id of a file's content: ``sha1(b"blob <size>\\0" + bytes)``."""
    digest = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_git_file(path: str | os.PathLike, etag: str, name: str) -> None:
    """A regular git file (named by its git blob sha1) must have exactly that id."""
    actual = git_blob_sha1(path)
    if actual != etag:
        raise VerificationError(f"{name}: git blob id {actual} does not match the hub's {etag}")


def _read_only(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
        os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    except OSError:
        pass  # another user's inode: its mode is theirs to set


def _lock(root: Path, folder: str, etag: str):
    from filelock import FileLock

    path = root / ".locks" / folder / f"{etag}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=600)


def _check_copy(path: Path, f: CacheFile) -> None:
    if len(f.etag) == 64:
        from imageworks_core.kit import sha256_of

        if sha256_of(path) != f.etag:
            raise VerificationError(f"the copy of {f.source} does not match its sha256 {f.etag}")
    else:
        check_git_file(path, f.etag, f.path)


def _place_blob(blob: Path, f: CacheFile, mode: str, replace: bool) -> bool:
    """Put ``f``'s bytes at ``blob``: ``hard`` (a hard link), ``copy`` (verified) or ``move``
    (a download's staged file renamed in). An existing blob is never written into: it is kept
    (blobs are named by content), or with ``replace`` a new file is renamed over it."""
    if os.path.lexists(blob):
        if same_file(f.source, blob):
            return False
        if not replace:
            if blob.is_symlink() or (f.size is not None and blob.stat().st_size != f.size):
                raise ImageworksError(f"{blob} holds other bytes than {f.path}; nothing placed",
                                      hint="check the cache with `hf cache verify`, or remove that repo from it")
            if mode == "move":
                os.unlink(f.source)  # the cache already holds these bytes
            return False
    blob.parent.mkdir(parents=True, exist_ok=True)
    if mode == "move":
        os.replace(f.source, blob)
        _read_only(blob)
        return True
    tmp = blob.with_name(f"{blob.name}.{uuid.uuid4().hex}.incomplete")
    try:
        if mode == "hard":
            try:
                os.link(f.source, tmp)
            except OSError as exc:
                raise ImageworksError(f"cannot hard-link {f.source} into {blob.parent}: {exc.strerror}",
                                      hint="hard links need one filesystem: use --copy") from None
        else:
            shutil.copyfile(f.source, tmp)
            _check_copy(tmp, f)
        if replace:
            os.replace(tmp, blob)
        else:
            os.link(tmp, blob)  # fails if another process placed it meanwhile: never overwritten
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        return False
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    _read_only(blob)
    return True


def _place_pointer(pointer: Path, blob: Path) -> bool:
    """``snapshots/<commit>/<path>`` -> ``../../blobs/<etag>`` (one more ``../`` per sub-folder)."""
    target = os.path.relpath(blob, pointer.parent)
    if pointer.is_symlink() and os.readlink(pointer) == target:
        return False
    if pointer.exists() and not pointer.is_symlink() and same_file(pointer, blob):
        return False  # huggingface_hub's no-symlink layout, already our bytes
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_name(f".{pointer.name}.{uuid.uuid4().hex[:8]}.imageworks-link")
    os.symlink(target, tmp)
    os.replace(tmp, pointer)
    return True


def write_ref(folder: Path, revision: str | None, commit: str, *, moves_from: str | None = None) -> tuple[bool, str | None]:
    """``refs/<revision>`` = the commit, no newline, written atomically. A ref that names another
    commit held in the cache (another tool's download) is left alone, unless it names
    ``moves_from`` (the commit of the entry being updated, which we hold): (wrote, note)."""
    if not revision or revision == commit or is_commit(revision):
        return False, None
    ref = folder / "refs" / revision
    if ref.is_file():
        current = ref.read_bytes().decode("utf-8", "replace")
        if current == commit:
            return False, None
        if current != moves_from and is_commit(current.strip()) and (folder / "snapshots" / current.strip()).is_dir():
            return False, (f"{ref} names commit {current.strip()[:12]} (another download): left as is; "
                           f"load this copy with revision={commit}")
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(f".{ref.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(commit.encode("ascii"))
    os.replace(tmp, ref)
    return True, None


def place_snapshot(root: Path, repo_id: str, commit: str, revision: str | None, files: list[CacheFile], *,
                   mode: str = "hard", replace: bool = False, dry_run: bool = False,
                   ref_moves_from: str | None = None) -> Placed:
    """Every file of an entry into one cache root's layout; the ref last, once the snapshot
    holds every file."""
    if not is_commit(commit):
        raise ImageworksError(f"{commit!r} is not a commit id")
    folder_name = repo_folder_name(repo_id)
    folder = root / folder_name
    snapshot = folder / "snapshots" / commit
    paths = tuple(str(snapshot / f.path) for f in files)
    if dry_run:
        return Placed(snapshot, paths, False)
    wrote = False
    for f in files:
        blob = folder / "blobs" / f.etag
        with _lock(root, folder_name, f.etag):
            wrote |= _place_blob(blob, f, mode, replace)
            wrote |= _place_pointer(snapshot / f.path, blob)
    ref_wrote, note = write_ref(folder, revision, commit, moves_from=ref_moves_from)
    return Placed(snapshot, paths, wrote or ref_wrote, (note,) if note else ())


def snapshot_of(path: str | os.PathLike | None) -> tuple[Path, Path, str] | None:
    """(cache root, repo folder, commit) when ``path`` is a snapshot folder of a cache root."""
    if not path:
        return None
    snapshot = Path(os.path.abspath(path))
    folder = snapshot.parent.parent
    if snapshot.parent.name != "snapshots" or not folder.name.startswith("models--") or not is_commit(snapshot.name):
        return None
    return folder.parent, folder, snapshot.name


def _pointed_blobs(snapshots: Path) -> set[str]:
    """The blob names every remaining snapshot link points to."""
    used: set[str] = set()
    for folder, _dirs, files in os.walk(snapshots):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                used.add(os.path.basename(os.readlink(path)))
    return used


def remove_snapshot_files(snapshot: Path, files: tuple[str, ...], shared: frozenset[str] = frozenset()) -> RemovedFiles:
    """Delete an entry's snapshot links; then the snapshot when empty, the refs naming it, the
    blobs no other snapshot links to, and the repo folder when nothing is left. Only names are
    removed: a hard-linked twin elsewhere keeps its bytes."""
    folder = snapshot.parent.parent
    blobs = folder / "blobs"
    deleted: list[str] = []
    kept: list[str] = []
    freed: set[str] = set()
    for rel in files:
        pointer = snapshot / rel
        if not os.path.lexists(pointer):
            continue
        if os.path.realpath(pointer) in shared:
            kept.append(str(pointer))
            continue
        if pointer.is_symlink():
            target = Path(os.readlink(pointer))
            if os.path.normpath(pointer.parent / target).startswith(str(blobs) + os.sep):
                freed.add(target.name)
        pointer.unlink()
        deleted.append(str(pointer))
    for parent in sorted({(snapshot / rel).parent for rel in files}, key=lambda p: -len(p.parts)):
        while parent == snapshot or snapshot in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    commit = snapshot.name
    if not snapshot.exists():
        refs = folder / "refs"
        for ref in sorted(refs.rglob("*"), reverse=True) if refs.is_dir() else []:
            if ref.is_file() and ref.read_bytes().strip() == commit.encode():
                ref.unlink()
                deleted.append(str(ref))
            elif ref.is_dir():
                try:
                    ref.rmdir()
                except OSError:
                    pass
        shutil.rmtree(folder / ".no_exist" / commit, ignore_errors=True)
    used = _pointed_blobs(folder / "snapshots")
    for name in sorted(freed - used):
        blob = blobs / name
        if blob.is_file() and not blob.is_symlink():
            blob.unlink()
            deleted.append(str(blob))
    for sub in ("snapshots", "blobs", "refs", ".no_exist"):
        try:
            (folder / sub).rmdir()
        except OSError:
            pass
    try:
        folder.rmdir()  # only when nothing else is left in it
    except OSError:
        pass
    return RemovedFiles(tuple(deleted), tuple(kept))
