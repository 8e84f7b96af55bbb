"""Which distribution brings which command, for the built-in providers: only to say what to
install when a command is missing. The core does not use it for anything else; a provider's
commands exist only when the provider is installed (providers.md)."""

COMMANDS = {
    "imageworks-download": {
        "download": "imageworks-hf",
        "scan": "imageworks-local-scan",
        "import-lmstudio": "imageworks-lmstudio",
        "import-ollama": "imageworks-ollama",
        "restore-ollama": "imageworks-ollama",
        "backfill-ollama-paths": "imageworks-ollama",
    },
    "imageworks-loader": {
        "ingest-local-hf": "imageworks-hf",
        "rebuild-ollama": "imageworks-ollama",
    },
}
