"""The sources panel: every answer's cited passages with the quote highlighted, newest first."""

from __future__ import annotations

import gradio as gr

from .page import QUICK, Page
from .render import sources_html


class SourcesPanel:
    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        self.html = gr.HTML(sources_html([]), elem_id="sources-panel", js_on_load=None, apply_default_css=False)

    def wire(self) -> None:
        def show(turns: list):
            # A new answer brings this tab forward; clearing the chat leaves the tabs as they are.
            return sources_html(turns), gr.Tabs(selected="sources") if turns else gr.skip()

        self.page.turns.change(show, self.page.turns, [self.html, self.page.tabs], **QUICK)
