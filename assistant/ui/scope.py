"""The selector of documents to ask within: none chosen means all of them. It follows uploads and removals:
new documents appear in it, removed ones leave it (and the selection)."""

from __future__ import annotations

import glob

import gradio as gr

from .page import INDEX_CHANGED, Page


def patterns(chosen: list[str] | None) -> list[str] | None:
    """What ``Assistant.stream(sources=...)`` takes for the chosen sources: each escaped, so a file name with
    ``[`` or ``*`` in it matches itself only. None (all documents) when nothing is chosen."""
    return [glob.escape(source) for source in chosen] if chosen else None


class ScopePanel:
    def __init__(self, page: Page):
        self.page = page
        self.assistant = page.assistant

    def build(self) -> None:
        self.page.scope = self.selector = gr.Dropdown(
            choices=self.page.document_choices(),
            value=[],
            multiselect=True,
            label="Ask within",
            info="Pick documents to ask only them; leave empty to ask all.",
            elem_id="scope",
        )

    def follow(self, chosen: list[str] | None):
        choices = self.page.document_choices()
        present = {source for _, source in choices}
        return gr.Dropdown(choices=choices, value=[s for s in chosen or [] if s in present])

    def subscribe(self) -> None:
        self.page.subscribe(INDEX_CHANGED, self.follow, [self.selector], [self.selector])

    def wire(self) -> None:
        pass  # the chat reads the selection when it asks
