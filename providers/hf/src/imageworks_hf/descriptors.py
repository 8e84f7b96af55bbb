"""How many download workers the open-file limit allows.

A worker holds at most ``PER_WORKER`` descriptors at once: a kept-alive socket to the hub and
one to the host its files redirect to, and its share of one file being written (the partial,
its state file and the hasher's read handle; a file's pieces may be spread over several workers,
so at most one file per worker is open). The default pool (32 connections × 4 files) needs
about 640; a shell's common soft limit is 1,024, and some (containers, macOS's 256) are lower.

As Go's runtime and many servers do, the soft limit is first raised toward the hard one; only
what the hard limit still does not allow is taken off the pool, so a low limit means fewer
connections, never "Too many open files" in the middle of a download.
"""

from __future__ import annotations

import os

PER_WORKER = 5
# Kept free for everything else the process opens while downloading: the registry and its lock,
# the download lock, logs, a requests fallback connection, imports.
RESERVE = 48


def workers_within_limit(wanted: int) -> int:
    """``wanted``, or fewer if the descriptor limit (raised as far as allowed) is too low."""
    try:
        import resource
    except ImportError:  # not POSIX: no such limit to meet
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    need = open_descriptors() + RESERVE + wanted * PER_WORKER
    if soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass
    room = soft - open_descriptors() - RESERVE
    return max(1, min(wanted, room // PER_WORKER))


def open_descriptors() -> int:
    """How many descriptors this process has open now (Linux and macOS list them)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder)) - 1  # less the one listing it
        except OSError:
            continue
    return 64  # cannot tell: assume a busy process
