"""How a program ends: run_program skips the interpreter's teardown but nothing a command
relies on (exit codes, atexit callbacks, flushed output, threads that must finish)."""

from __future__ import annotations

import gc
import subprocess
import sys


def _run(sandbox, prelude: str, *args: str) -> subprocess.CompletedProcess:
    code = (prelude + "\nimport sys\nfrom imageworks_core.cli.download_program import main\n"
            "sys.argv[0] = 'imageworks-download'\nmain()\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_exit_codes_output_and_atexit_callbacks_survive(sandbox):
    prelude = "import atexit\natexit.register(lambda: print('atexit ran'))"
    done = _run(sandbox, prelude, "list", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[]") and done.stdout.rstrip().endswith("atexit ran")
    assert _run(sandbox, prelude, "no-such-command").returncode == 2
    missing = _run(sandbox, prelude, "verify", "no-such-entry")
    assert missing.returncode == 1 and "no entry named no-such-entry" in missing.stderr
    assert missing.stdout.strip() == "atexit ran"


def test_a_running_thread_is_waited_for_and_a_lost_reader_is_quiet(sandbox):
    # A non-daemon thread still writing when the command returns finishes first, as it would
    # with the ordinary exit.
    prelude = ("import threading, time\n"
               "def late():\n    time.sleep(0.3)\n    print('thread finished', flush=True)\n"
               "threading.Thread(target=late).start()")
    done = _run(sandbox, prelude, "list", "--json")
    assert done.returncode == 0 and "thread finished" in done.stdout
    # `| head`: the reader is gone before the flush at exit.
    proc = subprocess.Popen([sys.executable, "-c", "import sys\nfrom imageworks_core.cli.download_program import main\n"
                             "sys.argv[0] = 'imageworks-download'\nmain()", "list", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_a_profiled_run_ends_the_ordinary_way(sandbox, tmp_path):
    # `python -m cProfile -o FILE imageworks-download ...` writes FILE after the program returns.
    import pstats

    script = tmp_path / "imageworks-download"
    script.write_text("import sys\nfrom imageworks_core.cli.download_program import main\nmain()\n")
    report = tmp_path / "run.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(report), str(script), "list", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert pstats.Stats(str(report)).total_calls > 0


def test_a_scan_run_as_a_program_makes_no_young_collection_over_its_variants(sandbox, tmp_path):
    """run_program says the process ends with its command: discovery, registering and the report
    run with the collector off, and freeze what they leave (the collector never walks a scan's
    objects). In-process (tests, the GUI) the blocks keep their ordinary thresholds."""
    from imageworks_testing.fixtures import write_gguf

    for i in range(30):
        write_gguf(tmp_path / "tree" / f"m{i}" / f"M{i}-Q4_K_M.gguf")
    prelude = ("import gc, atexit\n"
               "seen = []\n"
               "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append(1))\n"
               "import imageworks_core.discovery as d\n"
               "real = d.register_variants\n"
               "def counted(*a, **k):\n"
               "    before = len(seen); gc.collect(0); out = real(*a, **k)\n"
               "    print('inside', gc.isenabled(), len(seen) - before, flush=True); return out\n"
               "d.register_variants = counted\n"
               "atexit.register(lambda: print('after', gc.isenabled(), gc.get_freeze_count() > 0, flush=True))\n")
    done = _run(sandbox, prelude, "scan", "--base", str(tmp_path / "tree"))
    assert done.returncode == 0, done.stderr
    # Inside the block the collector is off (an explicit collect(0) still runs: counted once);
    # after it, on again, with the block's objects frozen.
    assert "inside False 1" in done.stdout and "after True True" in done.stdout, done.stdout

    from imageworks_core import gc_policy

    assert not gc_policy._ENDS_WITH_COMMAND
    with gc_policy.few_full_collections():
        assert gc.isenabled() and gc.get_threshold()[0] >= gc_policy.THRESHOLDS[0]
