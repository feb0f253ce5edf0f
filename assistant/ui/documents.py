"""The documents panel: upload (indexed with a progress bar), the list of indexed documents, removal. Adding
and removing are for editors: the server checks, the page only hides the controls from readers."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..documents import SUPPORTED_SUFFIXES
from ..store import IndexBusy
from .page import INDEX_CHANGED, PRIVATE, QUICK, Page
from .render import documents_html, short_name

READER_NOTE = "You can ask questions; an editor adds and removes documents."


class DocumentsPanel:
    def __init__(self, page: Page):
        self.page = page
        self.assistant = page.assistant

    def build(self) -> None:
        settings = self.page.settings
        self.upload = gr.File(
            label=f"Add documents ({', '.join(SUPPORTED_SUFFIXES)}; up to {settings.max_file_mb:g} MB)",
            file_count="multiple",
            file_types=list(SUPPORTED_SUFFIXES),
            type="filepath",
            elem_id="upload",
        )
        self.note = gr.Markdown(elem_id="upload-note")
        self.listing = gr.HTML(
            documents_html(self.assistant.index.documents()),
            elem_id="documents",
            js_on_load=None,
            apply_default_css=False,
        )
        with gr.Row() as self.removal:
            self.to_remove = gr.Dropdown(
                choices=self.page.document_choices(), label="Remove a document", scale=3, elem_id="remove-choice"
            )
            self.remove = gr.Button("Remove", variant="secondary", scale=1, min_width=90, elem_id="remove")

    def ingest_uploads(self, files: list[str] | None, request: gr.Request, progress=gr.Progress()):
        self.page.require_editor(request)
        if not files:
            return "", None
        try:
            report = self.assistant.add_uploads(
                [(Path(f), Path(f).name) for f in files],
                progress=lambda done, total, note: progress((done, total), desc=note),
            )
        except IndexBusy as exc:
            raise gr.Error(str(exc)) from exc
        lines = []
        if report.indexed:
            lines.append(f"Indexed {', '.join(short_name(s) for s in report.indexed)} ({report.sync.summary()}).")
        lines += [f"Not added \u2014 {p}" for p in report.problems]
        return "\n\n".join(lines), None

    def remove_document(self, source: str | None, request: gr.Request):
        self.page.require_editor(request)
        if not source:
            raise gr.Error("Choose a document to remove.")
        try:
            removed = self.assistant.remove_document(source)
        except IndexBusy as exc:
            raise gr.Error(str(exc)) from exc
        note = f"Removed {short_name(source)}." if removed else f"{short_name(source)} was not indexed."
        return note

    def view_for(self, request: gr.Request):
        """Readers see the list, not the controls (the handlers refuse them anyway)."""
        editor = self.page.can_edit(request)
        return gr.File(visible=editor), gr.Row(visible=editor), "" if editor else READER_NOTE

    def show(self):
        return documents_html(self.assistant.index.documents()), gr.Dropdown(choices=self.page.document_choices(), value=None)

    def accept(self, upload: gr.UploadButton) -> None:
        """An upload control (this panel's, or the empty chat's) that adds documents; the index changed after."""
        self.page.publish(INDEX_CHANGED, upload.upload(self.ingest_uploads, upload, [self.note, self.upload],
                                                       **PRIVATE))

    def subscribe(self) -> None:
        self.page.subscribe(INDEX_CHANGED, self.show, None, [self.listing, self.to_remove])

    def wire(self) -> None:
        self.accept(self.upload)
        self.page.publish(INDEX_CHANGED, self.remove.click(self.remove_document, self.to_remove, self.note,
                                                           **PRIVATE))
        self.page.demo.load(self.view_for, None, [self.upload, self.removal, self.note], **QUICK)
