"""The Models page users know: browse, download & import, maintenance, advanced operations."""

from imageworks_gui.models_page import render

render()
