"""The two programs, ``imageworks-download`` and ``imageworks-loader`` (docs/commands.md)."""
