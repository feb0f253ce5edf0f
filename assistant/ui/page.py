"""What the panels of one page share: the assistant, the session's state, and the events between panels.

Each panel builds its own components (``build``) and registers its own events (``wire``). Panels never reach
into each other's components; they meet at the state components here:

- ``generation`` is the index's generation. A panel that changes the index (upload, removal) outputs the new
  value; a panel that shows the index subscribes with ``on_index_changed``. The page load sets it too, so a
  change made by another session or process reaches this one.
- ``turns`` holds the conversation's answered turns: the chat appends to it, the sources panel re-renders
  from it.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from ..api import Assistant

PRIVATE = {"api_visibility": "private"}  # page events are not API endpoints; /ask is the one API
QUICK = {"queue": False, "show_progress": "hidden", **PRIVATE}  # cheap updates that need no queue slot


class Page:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self.generation = gr.State(self.index_generation())
        self.turns = gr.State([])
        self.tabs: gr.Tabs | None = None  # the side panel's tabs, set by the app once built

    def index_generation(self) -> str:
        return self.assistant.index.generation()

    def on_index_changed(self, fn: Callable, outputs: list) -> None:
        """Run ``fn()`` (no inputs) whenever this session learns the index changed."""
        self.generation.change(fn, None, outputs, **QUICK)
