"""Processes the reliability tests start and kill. Run as ``python workers.py <role> ...``."""

import sys
import time


def register(registry_dir: str, worker: str, adds: int, removes: int) -> None:
    """Register ``adds`` entries one transaction at a time, removing ``removes`` of them on the way."""
    from imageworks_core import Entry
    from imageworks_core.registry.store import Registry

    registry = Registry(registry_dir, lock_timeout=120)
    for i in range(adds):
        with registry.transaction() as tx:
            tx.put(Entry(name=f"w{worker}-{i:03d}", metadata={"worker": worker}))
        if i % 5 == 4 and i // 5 < removes:
            with registry.transaction() as tx:
                tx.delete(f"w{worker}-{i // 5:03d}")


def churn(registry_dir: str, start: int, count: int) -> None:
    """Add entries ``start..start+count`` one transaction each, printing each committed state."""
    from imageworks_core import Entry
    from imageworks_core.registry.store import Registry

    registry = Registry(registry_dir)
    for i in range(start, start + count):
        with registry.transaction() as tx:
            tx.put(Entry(name=f"e{i:05d}", metadata={"padding": "x" * 2000}))
        print(i, flush=True)


def hold_lock(registry_dir: str, seconds: str) -> None:
    import filelock

    from imageworks_core.registry.store import Registry

    with filelock.FileLock(str(Registry(registry_dir).lock_path)):
        print("held", flush=True)
        time.sleep(float(seconds))


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "register":
        register(args[0], args[1], int(args[2]), int(args[3]))
    elif role == "churn":
        churn(args[0], int(args[1]), int(args[2]))
    elif role == "hold-lock":
        hold_lock(*args)
