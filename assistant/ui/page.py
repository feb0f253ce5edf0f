"""What the panels of one page share: the assistant, who is asking, the session's state, and the events between
panels.

A panel builds its components (``build``), subscribes to the page's events (``subscribe``), then registers its
own events (``wire``), in three rounds over all panels, so every subscriber is known before any publisher
wires. Panels never reach into each other's components; they meet here:

- ``INDEX_CHANGED``: documents were added or removed (or the page loaded, and another session or process may
  have changed them): the status line, the document list, the scope selector and the examples follow.
- ``OPENED``: another conversation is open (restored on load, new, switched to, deleted): the chat and the
  sources panel show it.
- ``CHANGED``: the open conversation changed (a turn streamed in, a rating, a stop): it is stored and the
  sources panel follows.
- ``conversation`` holds the open conversation (plain JSON, see render.py), ``scope`` is the selector of the
  documents to ask within (a component the chat reads).

Subscribers run chained after their publisher's event (``.then``, no queue slot); a streaming publisher
(the answer) publishes on each change of a state it outputs, so the sources follow the answer as it streams.
Gradio sends state changes only for queued events, which is why the quick ones chain instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import gradio as gr

from ..api import Assistant
from .auth import Accounts
from .render import short_name

PRIVATE = {"api_visibility": "private"}  # page events are not API endpoints; /ask is the one API
QUICK = {"queue": False, "show_progress": "hidden", **PRIVATE}  # cheap updates that take no queue slot

INDEX_CHANGED = "index changed"
OPENED = "conversation opened"
CHANGED = "conversation changed"


class Page:
    def __init__(self, assistant: Assistant, accounts: Accounts | None, demo: gr.Blocks):
        self.assistant = assistant
        self.settings = assistant.settings
        self.accounts = accounts
        self.demo = demo
        self.conversation = gr.State({"id": "", "title": "", "created": "", "turns": []})
        self.scope: gr.Dropdown | None = None  # set by the scope selector once built
        self.tabs: gr.Tabs | None = None  # the side panel's tabs, set by the app once built
        self._subscribers: dict[str, list[tuple[Callable, list, list]]] = defaultdict(list)

    def subscribe(self, event: str, fn: Callable, inputs: list | None, outputs: list) -> None:
        self._subscribers[event].append((fn, inputs or [], outputs))

    def publish(self, event: str, after) -> None:
        """Run ``event``'s subscribers after the event listener ``after``, or on every change of the state
        ``after`` (for a queued, streaming publisher)."""
        for fn, inputs, outputs in self._subscribers[event]:
            if isinstance(after, gr.State):
                after.change(fn, inputs, outputs, **QUICK)
            else:
                after.then(fn, inputs, outputs, **QUICK)

    def document_choices(self) -> list[tuple[str, str]]:
        """(file name, source) of every indexed document, for the panels that pick documents."""
        return [(short_name(d["source"]), d["source"]) for d in self.assistant.index.documents()]

    def can_edit(self, request: gr.Request | None) -> bool:
        """Whether the person behind ``request`` may add or remove documents (everyone, without logins)."""
        return self.accounts is None or self.accounts.can_edit(request.username if request is not None else None)

    def require_editor(self, request: gr.Request | None) -> None:
        """Checked by the server on every change to the documents, whatever the page shows."""
        if not self.can_edit(request):
            raise gr.Error("Only editors can add or remove documents; you can ask questions.")
