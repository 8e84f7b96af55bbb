"""``imageworks-loader``: rediscovery and registry-wide maintenance."""

from __future__ import annotations

import click

from .. import __version__
from .base import CONTEXT_SETTINGS, ProgramGroup, registry_option, run_program
from .discovery_cmds import discover_all_command
from .maintenance_cmds import purge_imported_command
from .inventory_cmds import list_roles_command, migrate_registry_command


@click.group(cls=ProgramGroup, program="imageworks-loader", context_settings=CONTEXT_SETTINGS)
@registry_option
@click.version_option(__version__, prog_name="imageworks-loader")
def cli(registry_dir):
    """Rediscover models from every provider and maintain the registry."""


cli.add_command(list_roles_command)
cli.add_command(migrate_registry_command)
for command in (purge_imported_command, discover_all_command):
    cli.add_command(command)


def main() -> None:
    run_program(cli, "imageworks-loader")
