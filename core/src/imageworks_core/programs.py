"""The two click programs by name, for front-ends that run commands in-process (the GUI, the
test plugin) or as the installed script would (``run_main``)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, NoReturn

from .errors import BadInputError

if TYPE_CHECKING:
    import click

PROGRAMS = {"imageworks-download": "download_program", "imageworks-loader": "loader_program"}


def program(name: str) -> "click.Group":
    """The click group of ``imageworks-download`` or ``imageworks-loader``."""
    module = PROGRAMS.get(name)
    if module is None:
        raise BadInputError(f"unknown program {name!r} (known: {', '.join(PROGRAMS)})")
    return import_module(f".cli.{module}", __package__).cli


def run_main(name: str) -> NoReturn:
    """Run a program on ``sys.argv`` exactly as its installed script does (the error boundary,
    exit codes, the fast exit), under ``name`` in messages."""
    import sys

    from .cli.base import run_program

    sys.argv[0] = name
    run_program(program(name), name)
