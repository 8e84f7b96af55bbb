import json
import subprocess
import sys
import textwrap

from imageworks_core.registry.store import Registry

WRITER = textwrap.dedent("""
    import sys
    from imageworks_core import Entry
    from imageworks_core.registry.store import Registry
    reg = Registry(sys.argv[1], lock_timeout=60)
    worker, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        with reg.transaction() as tx:
            tx.put(Entry(name=f"w{worker}-{i}", metadata={"worker": worker}))
""")


def test_concurrent_writers_lose_no_update(tmp_path):
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w), "25"])
        for w in range(6)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    names = [e.name for e in Registry(tmp_path).read("discovered").entries]
    assert len(names) == 150 and len(set(names)) == 150
    merged = json.loads((tmp_path / "model_registry.json").read_text())
    assert len(merged["models"]) == 150


CRASHER = textwrap.dedent("""
    import sys
    from imageworks_core import Entry
    from imageworks_core.registry.store import Registry
    with Registry(sys.argv[1]).transaction() as tx:
        tx.put(Entry(name="new-entry"))
""")


def test_crash_between_write_and_rename_leaves_old_file(tmp_path):
    reg = Registry(tmp_path)
    from imageworks_core import Entry

    with reg.transaction() as tx:
        tx.put(Entry(name="old-entry"))
    before = reg.layer_path("discovered").read_bytes()
    env = {"IMAGEWORKS_TEST_CRASH_BEFORE_REPLACE": "model_registry.discovered.json"}
    import os

    proc = subprocess.run([sys.executable, "-c", CRASHER, str(tmp_path)], env={**os.environ, **env})
    assert proc.returncode == 99
    assert reg.layer_path("discovered").read_bytes() == before
    strays = list(tmp_path.glob(".*tmp-imageworks"))
    assert strays, "the crash should have left its temp file behind"
    with reg.transaction() as tx:  # the next writer cleans up and works
        tx.put(Entry(name="after-crash"))
    assert not list(tmp_path.glob(".*tmp-imageworks"))
    assert [e.name for e in reg.read("discovered").entries] == ["after-crash", "old-entry"]


def test_lock_timeout_names_the_lock_file(tmp_path):
    import filelock
    import pytest

    from imageworks_core.errors import LockTimeoutError

    reg = Registry(tmp_path, lock_timeout=0.2)
    holder = filelock.FileLock(str(reg.lock_path))
    with holder:
        with pytest.raises(LockTimeoutError, match=str(reg.lock_path)):
            with reg.transaction():
                pass
