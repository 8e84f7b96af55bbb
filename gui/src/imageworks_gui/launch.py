"""``imageworks-gui [--host 127.0.0.1] [--port 8501]``: start the Streamlit app.

Streamlit's own ``STREAMLIT_SERVER_*`` variables still work; the options, when given, win.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

APP = Path(__file__).with_name("Home.py")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1, or STREAMLIT_SERVER_ADDRESS).")
@click.option("--port", type=int, default=None, help="Port (default 8501, or STREAMLIT_SERVER_PORT).")
@click.option("--registry-dir", type=click.Path(file_okay=False), default=None)
def main(host, port, registry_dir):
    """Start the ImageWorks model manager GUI."""
    from streamlit.web import cli as stcli

    if registry_dir:
        os.environ["IMAGEWORKS_REGISTRY_DIR"] = str(Path(registry_dir).absolute())
    args = ["run", str(APP), "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    host = host or os.environ.get("STREAMLIT_SERVER_ADDRESS") or "127.0.0.1"
    args += ["--server.address", host]
    if port or not os.environ.get("STREAMLIT_SERVER_PORT"):
        args += ["--server.port", str(port or 8501)]
    if not os.environ.get("STREAMLIT_SERVER_HEADLESS"):
        args += ["--server.headless", "true"]
    stcli.main(args, standalone_mode=True)
