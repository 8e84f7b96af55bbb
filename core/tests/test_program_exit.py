"""How a program ends: run_program skips the interpreter's teardown but nothing a command
relies on (exit codes, atexit callbacks, flushed output, threads that must finish)."""

from __future__ import annotations

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
