"""Test helpers for ImageWorks and its providers (a dev-only distribution, never a runtime
dependency): an isolated sandbox fixture and CLI runners (``plugin``, a pytest plugin loaded
through the ``pytest11`` entry point), writers of real GGUF/safetensors files and Ollama stores
(``fixtures``), and a loopback fake Hugging Face hub (``fakehub``). Third-party providers use
them the same way."""

from .plugin import Result, Sandbox, run_cli, run_process

__all__ = ["Result", "Sandbox", "run_cli", "run_process"]
