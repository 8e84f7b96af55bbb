#!/usr/bin/env python3
"""Import the Ollama store into the registry: the same command as `imageworks-download import-ollama`.

    uv run python scripts/import_ollama_models.py --dry-run
    uv run python scripts/import_ollama_models.py --backend ollama --location linux_wsl --deprecate-placeholders
"""

import sys

from imageworks_core.kit import program

if __name__ == "__main__":
    program("imageworks-download").main(["import-ollama", *sys.argv[1:]], prog_name="import_ollama_models.py")
