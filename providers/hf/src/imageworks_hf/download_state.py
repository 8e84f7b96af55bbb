"""A partial file's resume state: its byte ranges and how much of each is on disk, kept in a
JSON file beside the partial that is updated in place."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .transfer import FileJob


class Segment:
    """A byte range of one file and how much of it is on disk."""

    __slots__ = ("start", "end", "done")

    def __init__(self, start: int, end: int, done: int = 0):
        self.start, self.end, self.done = start, end, done  # end exclusive; -1: size unknown

    @property
    def finished(self) -> bool:
        return self.end >= 0 and self.start + self.done >= self.end

    def __repr__(self) -> str:
        return f"Segment({self.start}, {self.end}, {self.done})"


class StateFile:
    """``{"size": N, "sha256": "…", "segments": [[start, end, done], …]}`` with every number
    padded to 20 characters (JSON allows the spaces): a segment's entry has a fixed offset, so
    saving one segment's progress is one ``pwrite`` of its 66 bytes. A process killed at any
    instant leaves each entry old or new, never torn (the kernel finishes a write it has begun)."""

    WIDTH = 20

    def __init__(self, path: Path, job: FileJob, segments: list[Segment]):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.rewrite(job, segments)

    @classmethod
    def load(cls, path: Path, job: FileJob) -> list[Segment] | None:
        """The saved segments, if they describe this very file and its partial is still there."""
        try:
            doc = json.loads(path.read_bytes())
            if not isinstance(doc, dict) or doc.get("size") != job.size or doc.get("sha256") != job.sha256 \
                    or not job.staging.exists():
                return None
            segments = [Segment(int(s), int(e), int(d)) for s, e, d in doc["segments"]]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        # A state that does not describe ranges of this file (damaged, or written by hand) is
        # no state: the file starts again rather than writing at a wrong offset.
        if job.size is not None and not all(0 <= s.start <= s.end <= job.size and 0 <= s.done <= s.end - s.start
                                            for s in segments):
            return None
        return segments or None

    def _number(self, value: int | None) -> str:
        return f"{'null' if value is None else value:>{self.WIDTH}}"

    def _entry(self, segment: Segment) -> bytes:
        n = self._number
        return f"[{n(segment.start)}, {n(segment.end)}, {n(segment.done)}]".encode("ascii")

    def rewrite(self, job: FileJob, segments: list[Segment]) -> None:
        self.segments = segments
        head = f'{{"size": {self._number(job.size)}, "sha256": {json.dumps(job.sha256)}, "segments": ['.encode("ascii")
        self._head, self._stride = len(head), len(self._entry(Segment(0, 0))) + 2
        data = head + b", ".join(self._entry(s) for s in segments) + b"]}\n"
        os.pwrite(self.fd, data, 0)
        os.ftruncate(self.fd, len(data))

    def save(self, index: int) -> None:
        os.pwrite(self.fd, self._entry(self.segments[index]), self._head + index * self._stride)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
