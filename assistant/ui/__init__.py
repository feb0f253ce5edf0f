"""The chat page: a thin Gradio layer over ``Assistant`` (see app.py for how the panels fit together)."""

from .app import build_ui, launch

__all__ = ["build_ui", "launch"]
