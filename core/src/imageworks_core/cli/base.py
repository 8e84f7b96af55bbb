"""What every command shares: the error boundary, lazy plugin commands, output helpers."""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import Any, Callable, NoReturn

import click

from ..errors import ImageworksError
from ..eventlog import debug_enabled, redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class ProgramGroup(click.Group):
    """A click group that turns domain errors into one-line messages and exit codes (once, here),
    and adds provider commands only when they are asked for, so start-up stays fast."""

    def __init__(self, *args: Any, program: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.program = program
        self._plugins_loaded: object | None = None
        self._plugin_command_names: set[str] = set()
        self._providers_asked: set[str] = set()

    def _load_plugin_commands(self, for_command: str | None = None) -> None:
        """Ask providers to add their commands: with ``for_command``, only the provider the
        catalogue says brings it (when it can say so: see ``_owners``), so that running
        ``scan`` does not import every other provider's command modules; else all of them.
        A provider is asked once per plugin manager."""
        from ..plugins import DEFAULT_PLUGIN, get_plugins

        plugins = get_plugins()
        if self._plugins_loaded is not plugins:
            # A new plugin manager (tests, IMAGEWORKS_LOAD_PLUGINS changed in-process): the
            # commands of the previous one go, the current providers add theirs.
            for name in self._plugin_command_names:
                self.commands.pop(name, None)
            self._plugins_loaded = plugins
            self._plugin_command_names = set()
            self._providers_asked = set()
        names = [name for name, _ in plugins.manager.list_name_plugin() if name and name != DEFAULT_PLUGIN]
        owners = self._owners(plugins, for_command) if for_command is not None else None
        todo = [name for name in (owners if owners is not None else names) if name not in self._providers_asked]
        if not todo:
            return
        before = set(self.commands)
        self._providers_asked.update(todo)
        caller = plugins.hook.imageworks_register_commands if len(todo) == len(names) else \
            plugins.only("imageworks_register_commands", todo)
        caller(group=self, program=self.program)
        self._plugin_command_names |= set(self.commands) - before

    def _owners(self, plugins: Any, command: str) -> list[str] | None:
        """The providers that bring ``command``, from the catalogue of the built-in providers'
        commands; None (ask every provider) when it does not list the command, or when any
        provider other than the built-in ones is installed (one might add or replace it)."""
        catalogue = _catalogue()
        dist = catalogue.get(self.program, {}).get(command)
        if dist is None:
            return None
        built_in = {d for commands in catalogue.values() if isinstance(commands, dict) for d in commands.values()}
        if any(info.distribution not in built_in for info in plugins.infos):
            return None
        return [info.name for info in plugins.infos if info.distribution == dist and not info.error]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None or cmd_name in self._plugin_command_names:
            self._load_plugin_commands(cmd_name)
            command = super().get_command(ctx, cmd_name)
            if command is None:  # not where the catalogue said: every provider is asked
                self._load_plugin_commands()
                command = super().get_command(ctx, cmd_name)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            from ..plugins import get_plugins

            # Data, not code: which distribution brings which built-in provider command.
            catalogue = _catalogue()
            name = click.utils.make_str(args[0]) if args else ""
            dist = catalogue.get(self.program, {}).get(name)
            if dist is None:
                raise
            broken = [info for info in get_plugins().failed if info.distribution == dist]
            if broken:
                raise click.UsageError(f"No such command {name!r}: its provider {dist} failed to load: "
                                       f"{broken[0].error.splitlines()[0]}", ctx) from exc
            raise click.UsageError(f"No such command {name!r}: it comes with the {dist} provider, which is not "
                                   f"installed (or not loaded: IMAGEWORKS_LOAD_PLUGINS). Install it: "
                                   f"uv pip install {dist}", ctx) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **kwargs)
        except BrokenPipeError:
            _silence_broken_pipe()
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        _print_any_path()
        try:
            return super().invoke(ctx)
        except ImageworksError as exc:
            if debug_enabled():
                import traceback

                traceback.print_exc()
            fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            _silence_broken_pipe()
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: no traceback for a person
            if debug_enabled():
                raise
            fail(f"unexpected error: {type(exc).__name__}: {exc}",
                 "run again with IMAGEWORKS_DEBUG=1 for the traceback, and report it", 1)


@functools.cache
def _catalogue() -> dict[str, Any]:
    """catalogue.json: which distribution brings which built-in provider command, per program.
    Read beside this module when it is a file there (importlib.resources, for an install that
    is not plain files, brings zipfile with it: ~3 ms of every provider command's start-up)."""
    import json

    try:
        with open(os.path.join(os.path.dirname(__file__), "catalogue.json"), encoding="utf-8") as handle:
            return json.loads(handle.read())
    except OSError:
        from importlib.resources import files

        return json.loads(files(__package__).joinpath("catalogue.json").read_text("utf-8"))


def _print_any_path() -> None:
    """A file name that is not UTF-8 (``bad\\udcff`` as Python lists ``bad\\xff``) is printed
    as its bytes, as ``ls`` prints it, instead of failing the command after its work is done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):  # a stream that cannot change: leave it as it is
                pass


def run_program(group: click.Group, prog_name: str) -> NoReturn:
    """Run a program as its console script does, then end the process without tearing the
    interpreter down.

    Teardown frees every module one by one (huggingface_hub, httpx, cattrs...): 40-100 ms
    after a download or a verify, for nothing, since the process ends. What Python does before
    that still happens, in its order: non-daemon threads are waited for (and executors shut
    down), atexit callbacks run, stdout and stderr are flushed."""
    from ..gc_policy import process_ends_with_command

    process_ends_with_command()
    try:
        group.main(prog_name=prog_name)
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    _exit_now(code)


def _exit_now(code: Any) -> NoReturn:
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    run_exit_callbacks = getattr(atexit, "_run_exitfuncs", None)
    if (shutdown is None or run_exit_callbacks is None or threading.current_thread() is not threading.main_thread()
            or sys.getprofile() is not None or sys.gettrace() is not None):
        # Not CPython as we know it, or under a profiler or debugger (``python -m cProfile``
        # writes its report after the program returns): the ordinary way.
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        click.echo(str(code), err=True)
        status = 1
    shutdown()
    run_exit_callbacks()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            _silence_broken_pipe()
            status = status or 1
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)


def _silence_broken_pipe() -> None:
    # The reader went away (``| head``): point stdout at devnull so the exit flush is quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """Control characters (a newline in a file name) escaped: a warning or an error stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def fail(message: str, hint: str | None = None, code: int = 1) -> None:
    click.echo(f"error: {one_line(redact(message))}", err=True)
    if hint:
        click.echo(f"hint: {redact(hint)}", err=True)
    sys.exit(code)


def emit_json(data: Any) -> None:
    """One JSON document on stdout, nothing else."""
    from ..jsonio import dumps

    # Indented for a person at a terminal; compact for pipes. UTF-8, as JSON is.
    sys.stdout.flush()
    sys.stdout.buffer.write(dumps(data, indent=sys.stdout.isatty()) + b"\n")
    sys.stdout.buffer.flush()


def session_from(ctx: click.Context, command: str, overrides: dict[str, Any] | None = None):
    from ..session import Session

    root = ctx.find_root()
    session = Session.open(root.params.get("registry_dir"), command=command, overrides=overrides)
    # Every command leaves a record (docs/commands.md): what ran, on which registry; debug adds the settings.
    session.log.event("command", argv=[command, *ctx.args] if not sys.argv[1:] else sys.argv[1:],
                      registry_dir=str(session.registry_dir))
    session.log.debug("settings", sources={k: v for k, v in session.settings.core_sources.items() if v != "default"})
    return session


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output (scripts, tests, the GUI) is not folded to 80 columns.
    width = None if stream.isatty() else 240
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def print_table(title: str | None, columns: list[str], rows: list[list[Any]], *, stderr: bool = False) -> None:
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=i == 0)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console(stderr).print(table)


def warn_printer(item: str, reason: str) -> None:
    click.echo(f"warning: skipped {one_line(item)}: {one_line(reason)}", err=True)


def registry_option(func: Callable) -> Callable:
    return click.option(
        "--registry-dir", type=click.Path(file_okay=False), default=None, is_eager=True,
        help="Registry directory (default: IMAGEWORKS_REGISTRY_DIR, the nearest configs/ holding a curated layer, else the user data directory; see `config path`).",
    )(func)


def dry_run_option(func: Callable) -> Callable:
    return click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")(func)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Plain JSON on stdout.")(func)


def confirm_or_refuse(question: str, force: bool) -> None:
    from ..errors import BadInputError

    if force:
        return
    if not sys.stdin.isatty():
        raise BadInputError(f"{question} needs confirmation; stdin is not a terminal: add --force")
    if not click.confirm(question, default=False, err=True):
        raise ImageworksError("cancelled; nothing changed")
