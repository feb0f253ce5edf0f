"""The page: panels laid out and wired, the ``/ask`` API, and ``launch``.

``build_ui`` makes the page for an ``Assistant`` (each panel builds itself and registers its own events);
``launch`` loads settings, indexes the seeds on first use and serves it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .. import config  # noqa: F401  (sets the offline / no-analytics environment before gradio is imported)
import gradio as gr

from ..api import Assistant, QuestionError
from ..config import Settings, load_settings
from .chat import USER_ERRORS, ChatPanel
from .documents import DocumentsPanel
from .page import QUICK, Page
from .render import status_markdown
from .sources import SourcesPanel

ASSETS = Path(__file__).resolve().parent / "assets"


def api_history(history: list[dict] | None) -> list[dict]:
    """The API's optional history, checked: a list of {"role": "user"|"assistant", "content": text}."""
    turns = []
    for turn in history or []:
        valid = isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
        if not (valid and isinstance(turn.get("content"), str)):
            raise QuestionError('history must be a list of {"role": "user" or "assistant", "content": "text"}')
        turns.append({"role": turn["role"], "content": turn["content"]})
    return turns


def build_ui(assistant: Assistant) -> gr.Blocks:
    def status() -> str:
        return status_markdown(assistant.settings, assistant.index.documents())

    def ask(question: str, history: list[dict] | None = None) -> dict:
        """Answer a question from the indexed documents: the verified text with [n] markers, citations with
        verbatim quotes and offsets, and the retrieved passages (the JSON of `assistant ask --json`)."""
        try:
            return assistant.answer(question, history=api_history(history)).to_dict()
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from exc

    # Gradio keeps its own copy of each upload; an hour later it is deleted (ours is in docs_dir).
    with gr.Blocks(title="Document Q&A", fill_width=True, delete_cache=(3600, 3600)) as demo:
        page = Page(assistant)
        chat, sources, documents = ChatPanel(page), SourcesPanel(page), DocumentsPanel(page)
        with gr.Row(elem_id="header"):
            gr.Markdown("## Document Q&A\nAnswers come only from your documents; every claim is quoted.")
            status_line = gr.Markdown(status(), elem_id="status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat.build()
            with gr.Column(scale=2, min_width=340):
                with gr.Tabs(selected="sources") as page.tabs:
                    with gr.Tab("Sources", id="sources"):
                        sources.build()
                    with gr.Tab("Documents", id="documents"):
                        documents.build()
        for panel in (chat, sources, documents):
            panel.wire()
        page.on_index_changed(status, [status_line])
        # Another session or process may have changed the index since the page was built.
        demo.load(page.index_generation, None, page.generation, **QUICK)
        gr.api(ask, api_name="ask", concurrency_id="answer")
    return demo


# --- serving -------------------------------------------------------------------------------------------------------

THEME = gr.themes.Soft(
    primary_hue="indigo",
    neutral_hue="slate",
    # System fonts: the default theme would fetch its font from Google at page load.
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)


def page_head() -> str:
    return f"<script>\n{(ASSETS / 'cite.js').read_text(encoding='utf-8')}</script>\n"


def parse_auth(auth: str) -> tuple[str, str] | None:
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError('auth must look like "user:password"')
    return user, password


def answer_concurrency(settings: Settings) -> int:
    """One local model answers one question at a time; the extractive backend is cheap enough for a few."""
    return 4 if settings.llm == "extractive" else 1


def launch(
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    settings: Settings | None = None,
    prevent_thread_lock: bool = False,
    **overrides,
) -> gr.Blocks:
    """Serve the page; ``overrides`` are settings (None means not given), applied over ``settings`` if passed."""
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = replace(settings, **given) if settings else load_settings(**given)
    auth = parse_auth(settings.auth)
    assistant = Assistant(settings)
    print(f"Opening the index at {settings.index_dir} ...", flush=True)
    report = assistant.ensure_indexed()
    if report is not None:
        print(f"Indexed {settings.seeds_dir}: {report.summary()}", flush=True)
    demo = build_ui(assistant)
    demo.queue(default_concurrency_limit=answer_concurrency(settings))
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        max_file_size=int(settings.max_file_mb * 1024 * 1024),
        prevent_thread_lock=prevent_thread_lock,
        theme=THEME,
        css=(ASSETS / "style.css").read_text(encoding="utf-8"),
        head=page_head(),
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
    )
    return demo
