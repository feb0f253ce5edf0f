"""The sources panel: the open conversation's cited passages with the quote highlighted, newest first (the
evidence of an answer still being written included)."""

from __future__ import annotations

import gradio as gr

from .page import CHANGED, OPENED, Page
from .render import sources_html


class SourcesPanel:
    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        self.html = gr.HTML(sources_html([]), elem_id="sources-panel", js_on_load=None, apply_default_css=False)

    @staticmethod
    def show(conversation: dict) -> str:
        return sources_html(conversation.get("turns") or [])

    def subscribe(self) -> None:
        for event in (OPENED, CHANGED):
            self.page.subscribe(event, self.show, [self.page.conversation], [self.html])

    def wire(self) -> None:
        pass  # the panel only shows what others publish
