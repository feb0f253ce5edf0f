"""The page: panels laid out and wired, the ``/ask`` API, and ``launch``.

``build_ui`` makes the page for an ``Assistant``: each panel builds its components, then each registers its own
events (page.py says how they talk). ``launch`` loads settings, indexes the seeds on first use, and serves the
page with its logins and a bounded answer queue.
"""

from __future__ import annotations

import threading

from dataclasses import replace
from pathlib import Path

from .. import config  # noqa: F401  (sets the offline / no-analytics environment before gradio is imported)
import gradio as gr
from starlette.middleware import Middleware

from ..api import Assistant, QuestionError
from ..config import Settings, load_settings
from ..model_files import LLMError
from .auth import MAX_FAILURES, WINDOW, Accounts, LoginThrottle, load_accounts
from .chat import USER_ERRORS, ChatPanel
from .conversations import ConversationsPanel
from .documents import DocumentsPanel
from .page import INDEX_CHANGED, QUICK, Page
from .render import status_markdown
from .scope import ScopePanel
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


def build_ui(assistant: Assistant, accounts: Accounts | None = None) -> gr.Blocks:
    def status() -> str:
        return status_markdown(assistant.settings, assistant.index.documents())

    def ask(question: str, history: list[dict] | None = None, sources: list[str] | None = None) -> dict:
        """Answer a question from the indexed documents: the verified text with [n] markers, citations with
        verbatim quotes, offsets, page and section, and the retrieved passages (the JSON of `assistant ask
        --json`). ``sources``: globs on a document's path or file name to ask within (default: all)."""
        try:
            return assistant.answer(question, history=api_history(history), sources=sources or None).to_dict()
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from exc

    # Gradio keeps its own copy of each upload; an hour later it is deleted (ours is in docs_dir).
    with gr.Blocks(title="Document Q&A", fill_width=True, delete_cache=(3600, 3600)) as demo:
        page = Page(assistant, accounts, demo)
        conversations, chat, scope = ConversationsPanel(page), ChatPanel(page), ScopePanel(page)
        sources, documents = SourcesPanel(page), DocumentsPanel(page)
        with gr.Row(elem_id="header"):
            gr.Markdown("## Document Q&A\nAnswers come only from your documents; every claim is quoted.")
            status_line = gr.Markdown(status(), elem_id="status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=200, elem_id="conversations-column"):
                conversations.build()
            with gr.Column(scale=4, min_width=420):
                chat.build()
                scope.build()
            with gr.Column(scale=3, min_width=340):
                with gr.Tabs(selected="sources") as page.tabs:
                    with gr.Tab("Sources", id="sources"):
                        sources.build()
                    with gr.Tab("Documents", id="documents"):
                        documents.build()
        panels = (conversations, chat, scope, sources, documents)
        page.subscribe(INDEX_CHANGED, status, None, [status_line])
        for panel in panels:
            panel.subscribe()
        for panel in panels:
            panel.wire()
        documents.accept(chat.empty_upload)
        # Another session or process may have changed the index since the page was built.
        page.publish(INDEX_CHANGED, demo.load(None, None, None, **QUICK))
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


def answer_concurrency(settings: Settings) -> int:
    """One local model answers one question at a time; the extractive backend is cheap enough for a few."""
    return 4 if settings.llm == "extractive" else 1


def serve(demo: gr.Blocks, settings: Settings, accounts: Accounts | None, host: str = "127.0.0.1",
          port: int = 7860, prevent_thread_lock: bool = False) -> gr.Blocks:
    """Serve a built page: its queue holds at most ``settings.queue_size`` waiting events, and one more is told
    the page is busy at once (Gradio answers 503, the page shows its "busy, try again" message)."""
    demo.queue(default_concurrency_limit=answer_concurrency(settings), max_size=settings.queue_size)
    demo.launch(
        server_name=host,
        server_port=port,
        auth=accounts.check if accounts else None,
        auth_message=(f"{MAX_FAILURES} failed logins from one address lock it out for {WINDOW / 60:g} minutes."
                      if accounts else None),
        app_kwargs={"middleware": [Middleware(LoginThrottle)]} if accounts else None,
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


def _warm_up(assistant: Assistant) -> None:
    """A model that cannot be reached now is said so here and, in the same words, to each question that needs it
    while it stays down: the page serves meanwhile, and the model may come up later."""
    try:
        assistant.warm_up()
    except LLMError as error:
        print(f"The model is not ready: {error}", flush=True)


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
    accounts = load_accounts(settings.auth, settings.editors)
    if settings.queue_size < 1:
        raise ValueError("queue_size must be at least 1")
    assistant = Assistant(settings)
    print(f"Opening the index at {settings.index_dir} ...", flush=True)
    report = assistant.ensure_indexed()
    if report is not None:
        print(f"Indexed {settings.seeds_dir}: {report.summary()}", flush=True)
    # the model loads and reads its fixed instructions while the page starts, not on the first question
    threading.Thread(target=_warm_up, args=(assistant,), name="warm-up", daemon=True).start()
    if accounts and not accounts.editors and len(accounts.users) > 1:
        print("Every user may add and remove documents: set ASSISTANT_EDITORS to name those who may.", flush=True)
    return serve(build_ui(assistant, accounts), settings, accounts, host, port, prevent_thread_lock)
