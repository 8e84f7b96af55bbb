"""The hf provider's commands: ``download`` (imageworks-download) and ``ingest-local-hf``
(imageworks-loader)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imageworks_core import DiscoverRequest, DownloadRequest
from imageworks_core.kit import (acquire, discover, dry_run_option, human_bytes, location_label_of,
                                 print_report, print_table, report_options, session_from, warn_printer)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class ProgressPrinter:
    """A rich progress bar on a terminal; occasional plain lines otherwise."""

    def __init__(self) -> None:
        self.bar = None
        self.task = None
        self.last_line = 0.0

    def __call__(self, progress) -> None:
        import time

        if sys.stderr.isatty():
            if self.bar is None:
                from rich.progress import (BarColumn, DownloadColumn, Progress, TimeRemainingColumn,
                                           TransferSpeedColumn)

                self.bar = Progress("[bold]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                    TimeRemainingColumn(), transient=True)
                self.bar.start()
                self.task = self.bar.add_task(progress.label, total=progress.total_bytes)
            self.bar.update(self.task, completed=progress.done_bytes, total=progress.total_bytes)
        elif progress.finished or time.monotonic() - self.last_line > 10:
            self.last_line = time.monotonic()
            total = human_bytes(progress.total_bytes) if progress.total_bytes else "?"
            speed = human_bytes(int(progress.speed_bps or 0))
            click.echo(f"{progress.label}: {human_bytes(progress.done_bytes)} of {total} ({speed}/s)", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _terminate_as_interrupt:
    """SIGTERM (``kill``, a service manager, a container stop) ends a download as Ctrl-C does:
    transfers stop and save their resume state, instead of the process vanishing mid-write."""

    def __enter__(self):
        import signal
        import threading

        self.previous = None
        if threading.current_thread() is threading.main_thread():
            def interrupt(_signum, _frame):
                raise KeyboardInterrupt

            self.previous = signal.signal(signal.SIGTERM, interrupt)
        return self

    def __exit__(self, *exc_info):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


def ask_quant_prompt(choices: list[str]) -> str:
    click.echo("This repo has several quantisations:", err=True)
    for choice in choices:
        click.echo(f"  {choice}", err=True)
    default = "q4_k_m" if "q4_k_m" in choices else choices[0]
    return click.prompt("Which one", type=click.Choice(choices), default=default, err=True)


@click.command("download")
@click.argument("source")
@click.option("--format", "formats", default=None, help="Format preference list, e.g. awq,safetensors.")
@click.option("--quant", default=None, help="GGUF quant to fetch, e.g. q4_k_m.")
@click.option("--location", default=None, help="Location label (linux_wsl, windows_lmstudio, ...) or a directory.")
@click.option("--weights", default=None, help="Only these weight files (comma list, globs allowed).")
@click.option("--support-repo", default=None, help="Fill missing config/tokenizer/template files from this repo.")
@click.option("--include-optional", is_flag=True, help="Also README, licence, images.")
@click.option("--non-interactive", "-y", is_flag=True, help="Never ask (GGUF default quant: q4_k_m).")
@click.option("--force", is_flag=True, help="Fetch again even if the files are present.")
@click.option("--aria2/--no-aria2", "use_aria2", default=None,
              help="Fetch with aria2c, or with the built-in downloader (the default: see use_aria2).")
@click.option("--backend", default=None, help="Serving backend to register (default from the format).")
@dry_run_option
@click.pass_context
def download_command(ctx, source, formats, quant, location, weights, support_repo, include_optional,
                     non_interactive, force, use_aria2, backend, dry_run):
    """Fetch a model (owner/repo[@rev], a Hugging Face URL, or an https:// file URL) and register it."""
    session = session_from(ctx, "download")
    request = DownloadRequest(
        source=source, formats=_split(formats), quant=quant.lower() if quant else None, location=location,
        weights=_split(weights), support_repo=support_repo, include_optional=include_optional,
        non_interactive=non_interactive or not sys.stdin.isatty(), force=force,
        backend=backend, dry_run=dry_run, options={"aria2": use_aria2})
    printer = ProgressPrinter()
    try:
        with _terminate_as_interrupt():
            done = acquire(session, request, on_progress=printer, ask_quant=ask_quant_prompt)
    finally:
        printer.close()
    result = done.result
    if result.dry_run:
        rows = [[f.path, human_bytes(f.size), "present" if f.present else "download", (f.sha256 or "")[:12]]
                for f in result.files]
        print_table(f"download plan → {result.target_dir} (via {result.via})",
                    ["file", "size", "action", "sha256"], rows)
        todo = sum(f.size or 0 for f in result.files if not f.present)
        click.echo(f"{len(result.files)} files, {human_bytes(todo)} to download (dry run: nothing written)")
        return
    entry = done.change.entry if done.change else None
    if result.already_present:
        click.echo(f"Already downloaded: all {len(result.files)} files are present in {result.target_dir} "
                   f"(sizes match); use --force to fetch again.")
    speed = result.bytes_transferred / result.seconds if result.seconds else 0
    lines = [
        ("name", done.change.name if done.change else "-"),
        ("path", str(result.target_dir)),
        ("location", entry.download_location if entry else "-"),
        ("format", f"{entry.download_format} / {entry.quantization or '-'}" if entry else "-"),
        ("files", str(len(entry.download_files)) if entry else "-"),
        ("size", human_bytes(entry.download_size_bytes) if entry else "-"),
        ("chat template", entry.chat_template.source if entry and entry.chat_template else "none"),
        ("time", f"{result.seconds:.1f}s, {human_bytes(int(speed))}/s average via {result.via}"
         if not result.already_present else "no transfer"),
        ("registry", f"{done.change.action} in {session.registry.layer_path('discovered')}" if done.change else "-"),
    ]
    click.echo("✅ Download complete" if not result.already_present else "✅ Registered")
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"  {key.ljust(width)}  {value}")


@click.command("ingest-local-hf")
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="Folder of owner/repo downloads or a Hugging Face cache (repeatable; default: the "
                   "linux_wsl location and the Hugging Face cache).")
@dry_run_option
@click.option("--backend", default=None)
@click.option("--location", default=None)
@report_options
@click.pass_context
def ingest_local_hf_command(ctx, roots, dry_run, backend, location, details, as_json):
    """Register owner/repo folders and Hugging Face cache repos (models--owner--repo)."""
    session = session_from(ctx, "ingest-local-hf")
    root_list = [str(Path(r).expanduser().absolute()) for r in roots]
    request = DiscoverRequest(roots=tuple(root_list), include_caches=not root_list)
    report = discover(session, ["hf"], request, backend=backend, location_label=location_label_of(session, location),
                      dry_run=dry_run, on_warning=warn_printer)
    print_report(report, "ingest-local-hf", details=details, as_json=as_json)
