"""The two programs, ``imageworks-download`` and ``imageworks-loader`` (cli.md)."""
