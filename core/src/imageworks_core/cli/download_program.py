"""``imageworks-download``: acquire, discover and maintain models."""

from __future__ import annotations

import click

from .. import __version__
from .base import CONTEXT_SETTINGS, ProgramGroup, registry_option, run_program
from .maintenance_cmds import (
    cleanup_command,
    dedupe_command,
    dupes_command,
    link_command,
    normalize_command,
    prune_deprecated_command,
    prune_duplicates_command,
    purge_logical_only_command,
    remove_command,
    reset_discovered_command,
    verify_command,
)
from .updates_cmds import lock_command, outdated_command, sync_command, update_command
from .inventory_cmds import (
    config_group,
    list_command,
    list_roles_command,
    migrate_registry_command,
    plugins_command,
    stats_command,
)


@click.group(cls=ProgramGroup, program="imageworks-download", context_settings=CONTEXT_SETTINGS)
@registry_option
@click.version_option(__version__, prog_name="imageworks-download")
def cli(registry_dir):
    """Download, discover and keep a registry of local LLM and vision models."""


for command in (list_command, list_roles_command, stats_command, config_group, plugins_command):
    cli.add_command(command)
cli.add_command(migrate_registry_command)
for command in (outdated_command, update_command, lock_command, sync_command):
    cli.add_command(command)
# Provider commands (download, scan, import-*, ...) are added by the providers themselves
# through imageworks_register_commands, the first time one is asked for.
for command in (cleanup_command, dupes_command, dedupe_command, link_command, normalize_command, prune_duplicates_command, prune_deprecated_command, purge_logical_only_command,
                reset_discovered_command, verify_command, remove_command):
    cli.add_command(command)


def main() -> None:
    run_program(cli, "imageworks-download")
