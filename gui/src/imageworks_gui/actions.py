"""Running a CLI command in-process for the GUI, and showing its exact command line."""

from __future__ import annotations

import shlex

import attrs


@attrs.frozen
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def command_line(program: str, args: list[str], registry_dir: str | None = None) -> list[str]:
    argv = [program]
    if registry_dir:
        argv += ["--registry-dir", registry_dir]
    return argv + list(args)


def shell_text(argv: list[str]) -> str:
    return "uv run " + shlex.join(argv)


def run(argv: list[str]) -> CommandResult:
    """The same click command the terminal runs (not a subprocess), its output captured."""
    from click.testing import CliRunner

    program, *args = argv
    from imageworks_core.kit import program as program_named

    result = CliRunner().invoke(program_named(program), args, prog_name=program, catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"\nerror: {type(result.exception).__name__}: {result.exception}"
    return CommandResult(tuple(argv), result.exit_code, result.stdout, stderr)
