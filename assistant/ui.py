"""The chat page: a thin Gradio layer over ``Assistant`` — streamed answers, linked citations, document upload.

``build_ui`` makes the page for an ``Assistant``; ``launch`` loads settings, indexes the seeds on first use and
serves it. The HTML helpers are pure functions of an ``Answer`` so they can be tested without a browser.
"""

import html
import os
import re
import shutil
import tempfile
import unicodedata
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from . import config  # noqa: F401  (sets the offline / no-analytics environment before gradio is imported)
import gradio as gr

from .api import Assistant, QuestionError, clean_question
from .config import Settings, load_settings
from .documents import SUPPORTED_SUFFIXES
from .llm import LLMError
from .store import IndexBusy
from .types import Answer, Citation, Passage

EXAMPLES = [
    "What does Article 5 cover?",
    "Could a cyberattack count as an armed attack?",
    "Who took part in the 2+2 meeting?",
    "What did Iwaya say about deterrence?",
]
MAX_NAME_CHARS = 100
CLOSEST_SHOWN = 3  # passages listed under a refusal
USER_ERRORS = (QuestionError, IndexBusy, LLMError)
_MARKER = re.compile(r"\[(\d+)\]")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+")
# Characters that would otherwise turn document text into Markdown formatting inside the chat bubble.
_MARKDOWN_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "*_`~$#|[]\\"})
CURSOR = '<span class="cursor">\u258d</span>'


# --- rendering (pure) ----------------------------------------------------------------------------------------


def cite_id(turn: int, n: int) -> str:
    """DOM id of citation ``[n]`` of the ``turn``-th answer: markers link to it, the sources panel carries it."""
    return f"cite-{turn}-{n}"


def _text(text: str) -> str:
    return html.escape(text, quote=False).translate(_MARKDOWN_ENTITIES)


def short_name(source: str) -> str:
    return Path(source).name or source


def answer_html(answer: Answer, turn: int) -> str:
    """The verified answer for the chat, each known ``[n]`` a link to its entry in the sources panel."""
    if answer.refused:
        return (
            f'<span class="refusal">{_text(answer.text)}</span><br>'
            '<small class="hint">The closest passages are listed under Sources.</small>'
        )
    known = {c.n for c in answer.citations}
    parts = _MARKER.split(answer.text)  # text, number, text, number, ...
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(_text(part))
        elif int(part) in known:
            out.append(f'<a class="cite" href="#{cite_id(turn, int(part))}">[{part}]</a>')
        else:
            out.append(_text(f"[{part}]"))
    return "".join(out)


def draft_html(draft: str) -> str:
    """Unverified text while it streams, visibly provisional."""
    return f'<span class="draft">{_text(draft)}</span>{CURSOR}'


def highlighted(passage_text: str, start: int, end: int) -> str:
    """Passage text with ``[start, end)`` (offsets into ``passage_text``) wrapped in <mark>."""
    return (
        html.escape(passage_text[:start], quote=False)
        + f"<mark>{html.escape(passage_text[start:end], quote=False)}</mark>"
        + html.escape(passage_text[end:], quote=False)
    )


def _cited_passage_html(citation: Citation, passage: Passage | None) -> str:
    if passage is not None and passage.start <= citation.start and citation.end <= passage.end:
        return highlighted(passage.text, citation.start - passage.start, citation.end - passage.start)
    return f"<mark>{html.escape(citation.quote, quote=False)}</mark>"


def _head(n: str, source: str, start: int, end: int, extra: str = "") -> str:
    return (
        f'<div class="source-head"><span class="n">{n}</span>'
        f'<span class="file" title="{html.escape(source)}">{html.escape(short_name(source))}</span>'
        f'<span class="pos">chars {start:,}\u2013{end:,}{extra}</span></div>'
    )


def citation_html(turn: int, citation: Citation, passage: Passage | None) -> str:
    return (
        f'<div class="source cited" id="{cite_id(turn, citation.n)}">'
        + _head(f"[{citation.n}]", citation.source, citation.start, citation.end)
        + f'<div class="passage">{_cited_passage_html(citation, passage)}</div></div>'
    )


def passage_html(passage: Passage) -> str:
    extra = f" \u00b7 relevance {passage.relevance:.2f}"
    return (
        '<div class="source">'
        + _head("\u2022", passage.source, passage.start, passage.end, extra)
        + f'<div class="passage">{html.escape(passage.text, quote=False)}</div></div>'
    )


def turn_sources_html(turn: int, question: str, answer: Answer, latest: bool) -> str:
    """One answer's evidence: cited passages with the quote marked, then the other retrieved passages folded."""
    cited_ids = {c.chunk_id for c in answer.citations}
    by_id = {p.chunk_id: p for p in answer.passages}
    seconds = answer.timings.get("total")
    meta = f"{answer.backend}" + (f" \u00b7 {seconds:.1f} s" if seconds is not None else "")
    body = []
    if answer.refused:
        closest = sorted(answer.passages, key=lambda p: p.relevance, reverse=True)[:CLOSEST_SHOWN]
        body.append('<p class="note refused">The documents don\'t say. Closest passages:</p>')
        body.extend(passage_html(p) for p in closest)
    else:
        body.extend(citation_html(turn, c, by_id.get(c.chunk_id)) for c in answer.citations)
        others = [p for p in answer.passages if p.chunk_id not in cited_ids]
        if others:
            body.append(
                f'<details class="more"><summary>{len(others)} more retrieved passage'
                f'{"s" if len(others) != 1 else ""}</summary>'
                + "".join(passage_html(p) for p in others)
                + "</details>"
            )
    if answer.unsupported:
        body.append(
            f'<p class="note">{len(answer.unsupported)} draft sentence'
            f'{"s were" if len(answer.unsupported) != 1 else " was"} dropped: no passage supports '
            f'{"them" if len(answer.unsupported) != 1 else "it"}.</p>'
        )
    return (
        f'<details class="turn" id="turn-{turn}"{" open" if latest else ""}>'
        f'<summary><span class="question">{html.escape(question)}</span><span class="meta">{html.escape(meta)}</span>'
        "</summary>" + "".join(body) + "</details>"
    )


def sources_html(turns: list["Turn"]) -> str:
    """Every answer's sources, newest first and open; older ones folded (a click on their [n] unfolds them)."""
    if not turns:
        return '<p class="empty">Ask a question: the passages behind each answer appear here, quotes highlighted.</p>'
    last = len(turns) - 1
    return "".join(turn_sources_html(i, t.question, t.answer, i == last) for i, t in reversed(list(enumerate(turns))))


def documents_html(documents: list[dict]) -> str:
    if not documents:
        return '<p class="empty">No documents indexed.</p>'
    rows = "".join(
        f'<tr><td><span class="file" title="{html.escape(d["source"])}">{html.escape(short_name(d["source"]))}</span>'
        f'<br><small>{html.escape(d["title"])}</small></td><td class="num">{d["chunks"]}</td></tr>'
        for d in documents
    )
    return f'<table class="docs"><thead><tr><th>Document</th><th>Chunks</th></tr></thead><tbody>{rows}</tbody></table>'


def status_text(assistant: Assistant) -> str:
    documents = assistant.index.documents()
    chunks = sum(d["chunks"] for d in documents)
    settings = assistant.settings
    return (
        f"LLM **{settings.llm}** \u00b7 embeddings **{settings.embed_model}** \u00b7 index **{len(documents)}** "
        f"document{'s' if len(documents) != 1 else ''}, **{chunks}** chunks"
    )


# --- uploads ---------------------------------------------------------------------------------------------------


class UploadRejected(ValueError):
    """An uploaded file the page will not keep; the message says why."""


def safe_upload_name(name: str) -> str:
    """A plain file name for ``name``: no folders, no hidden files, only word characters, capped in length."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" .")  # leading dots would hide it, trailing ones confuse Windows
    stem, suffix = os.path.splitext(base)
    stem = stem.strip(" ._") or "upload"
    suffix = suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadRejected(
            f"{name}: unsupported type {suffix or '(none)'}; upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix


def store_upload(uploaded: Path, name: str, docs_dir: Path, max_bytes: int) -> Path:
    """Copy an uploaded file into ``docs_dir`` under a sanitised ``name``; nothing is written anywhere else."""
    safe = safe_upload_name(name)
    size = Path(uploaded).stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"{name}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    if size == 0:
        raise UploadRejected(f"{name}: the file is empty")
    folder = Path(docs_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe
    if target.parent != folder:  # belt and braces: safe_upload_name already removed every separator
        raise UploadRejected(f"{name}: not a plain file name")
    # Write beside the target, then rename: a half-copied file is never indexed, a symlink is replaced, not followed.
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    os.close(fd)
    try:
        shutil.copyfile(uploaded, temp)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target


# --- the page ----------------------------------------------------------------------------------------------------


@dataclass
class Turn:
    question: str  # as the user typed it
    answer: Answer


def chat_history(turns: list[Turn]) -> list[dict]:
    """Completed, verified turns only: a stopped draft never feeds a follow-up."""
    history: list[dict] = []
    for t in turns:
        history += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text}]
    return history


def api_history(history: list[dict] | None) -> list[dict]:
    """The API's optional history, checked: a list of {"role": "user"|"assistant", "content": text}."""
    turns = []
    for turn in history or []:
        valid = isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
        if not (valid and isinstance(turn.get("content"), str)):
            raise QuestionError('history must be a list of {"role": "user" or "assistant", "content": "text"}')
        turns.append({"role": turn["role"], "content": turn["content"]})
    return turns


def _message_text(message: dict) -> str:
    """A chat message's text: the page sends content back as a list of typed parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(Path(folder).resolve())


def build_ui(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    max_bytes = int(settings.max_file_mb * 1024 * 1024)

    def document_choices():
        return [(short_name(d["source"]), d["source"]) for d in assistant.index.documents()]

    def refresh():
        return (
            status_text(assistant),
            documents_html(assistant.index.documents()),
            gr.Dropdown(choices=document_choices(), value=None),
        )

    def check_question(question: str, messages: list):
        """Shown on the text box itself, before anything is sent to the model."""
        try:
            clean_question(question, settings.max_question_chars)
        except QuestionError as exc:
            return gr.validate(False, str(exc)), gr.validate(True, "")
        return gr.validate(True, ""), gr.validate(True, "")

    def take_question(question: str, messages: list):
        question = clean_question(question, settings.max_question_chars)
        return "", messages + [{"role": "user", "content": _text(question)}], question

    def respond(question: str, messages: list, turns: list[Turn]):
        turn = len(turns)
        messages = messages + [{"role": "assistant", "content": CURSOR}]
        yield messages, gr.skip(), gr.skip(), gr.skip()
        draft = ""
        try:
            # Stop closes this generator; closing the stream with it releases the model at once.
            with closing(assistant.stream(question, history=chat_history(turns))) as pieces:
                for item in pieces:
                    if isinstance(item, Answer):
                        turns = turns + [Turn(question, item)]
                        messages[-1] = {"role": "assistant", "content": answer_html(item, turn)}
                        yield messages, turns, sources_html(turns), gr.Tabs(selected="sources")
                    else:
                        draft += item
                        messages[-1] = {"role": "assistant", "content": draft_html(draft)}
                        yield messages, gr.skip(), gr.skip(), gr.skip()
        except USER_ERRORS as exc:
            messages[-1] = {"role": "assistant", "content": f'<span class="error">{_text(str(exc))}</span>'}
            yield messages, gr.skip(), gr.skip(), gr.skip()

    def mark_stopped(messages: list):
        text = _message_text(messages[-1]) if messages and messages[-1].get("role") == "assistant" else ""
        if CURSOR in text:
            messages[-1] = {"role": "assistant", "content": text.replace(CURSOR, ' <em class="stopped">(stopped)</em>')}
        return messages

    def clear_chat():
        return [], sources_html([])

    def pick_example(evt: gr.SelectData) -> str:
        return evt.value["text"]

    def ingest_uploads(files: list[str] | None, progress=gr.Progress()):
        if not files:
            return ("", None, *refresh())
        kept, problems = [], []
        for uploaded in files:
            try:
                kept.append(store_upload(Path(uploaded), Path(uploaded).name, settings.docs_dir, max_bytes))
            except UploadRejected as exc:
                problems.append(str(exc))
        lines = []
        if kept:
            progress((0, len(kept)), desc="indexing")
            try:
                report = assistant.ingest(kept, progress=lambda done, total, note: progress((done, total), desc=note))
            except IndexBusy as exc:
                raise gr.Error(str(exc)) from exc
            indexed = set(assistant.index.committed())
            for file, reason in report.skipped:
                problems.append(f"{short_name(file)}: {reason}")
                path = Path(file)
                if file not in indexed and _inside(path, settings.docs_dir):
                    path.unlink(missing_ok=True)  # the folder holds only what the index can use
            done = [short_name(s) for s in report.added + report.updated + report.unchanged]
            if done:
                lines.append(f"Indexed {', '.join(done)} ({report.summary()}).")
        lines += [f"Not added \u2014 {p}" for p in problems]
        return ("\n\n".join(lines), None, *refresh())

    def remove_document(source: str | None):
        if not source:
            raise gr.Error("Choose a document to remove.")
        try:
            removed = assistant.index.remove(source)
        except IndexBusy as exc:
            raise gr.Error(str(exc)) from exc
        path = Path(source)
        if _inside(path, settings.docs_dir):
            path.unlink(missing_ok=True)  # an upload lives only for the index; seeds and other folders are left alone
        note = f"Removed {short_name(source)}." if removed else f"{short_name(source)} was not indexed."
        return (note, *refresh())

    def ask(question: str, history: list[dict] | None = None) -> dict:
        """Answer a question from the indexed documents: the verified text with [n] markers, citations with
        verbatim quotes and offsets, and the retrieved passages (the JSON of `assistant ask --json`)."""
        try:
            return assistant.answer(question, history=api_history(history)).to_dict()
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from exc

    # Gradio keeps its own copy of each upload; an hour later it is deleted (ours is in docs_dir).
    with gr.Blocks(title="Document Q&A", fill_width=True, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        pending = gr.State("")
        with gr.Row(elem_id="header"):
            gr.Markdown("## Document Q&A\nAnswers come only from your documents; every claim is quoted.")
            status = gr.Markdown(status_text(assistant), elem_id="status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    height=560,
                    show_label=False,
                    layout="bubble",
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="Ask about the indexed documents, or pick an example.",
                    feedback_options=None,
                    buttons=["copy"],
                    latex_delimiters=[],
                )
                with gr.Row(elem_id="composer"):
                    question = gr.Textbox(
                        label="Question",
                        placeholder="Ask a question about the documents\u2026",
                        show_label=False,
                        container=False,
                        scale=8,
                        max_lines=4,
                        autofocus=True,
                        elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="send")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop")
            with gr.Column(scale=2, min_width=340):
                with gr.Tabs(selected="sources") as tabs:
                    with gr.Tab("Sources", id="sources"):
                        sources = gr.HTML(
                            sources_html([]), elem_id="sources-panel", js_on_load=None, apply_default_css=False
                        )
                    with gr.Tab("Documents", id="documents"):
                        upload = gr.File(
                            label=f"Add documents ({', '.join(SUPPORTED_SUFFIXES)}; up to {settings.max_file_mb:g} MB)",
                            file_count="multiple",
                            file_types=list(SUPPORTED_SUFFIXES),
                            type="filepath",
                            elem_id="upload",
                        )
                        upload_note = gr.Markdown(elem_id="upload-note")
                        documents = gr.HTML(
                            documents_html(assistant.index.documents()),
                            elem_id="documents",
                            js_on_load=None,
                            apply_default_css=False,
                        )
                        with gr.Row():
                            to_remove = gr.Dropdown(
                                choices=document_choices(), label="Remove a document", scale=3, elem_id="remove-choice"
                            )
                            remove = gr.Button("Remove", variant="secondary", scale=1, min_width=90, elem_id="remove")

        private = {"api_visibility": "private"}
        answering = {"concurrency_id": "answer", **private}
        taking = {"validator": check_question, "show_progress": "hidden", **private}  # validators run in the queue
        asked = [
            trigger(take_question, [question, chatbot], [question, chatbot, pending], **taking).success(
                respond, [pending, chatbot, turns], [chatbot, turns, sources, tabs], **answering
            )
            for trigger in (question.submit, send.click)
        ]
        picked = chatbot.example_select(pick_example, None, question, queue=False, **private)
        asked.append(
            picked.then(take_question, [question, chatbot], [question, chatbot, pending], **taking).success(
                respond, [pending, chatbot, turns], [chatbot, turns, sources, tabs], **answering
            )
        )
        stop.click(mark_stopped, chatbot, chatbot, cancels=asked, queue=False, **private)
        chatbot.clear(clear_chat, None, [turns, sources], queue=False, **private)
        upload.upload(ingest_uploads, upload, [upload_note, upload, status, documents, to_remove], **private)
        remove.click(remove_document, to_remove, [upload_note, status, documents, to_remove], **private)
        # Another session may have changed the index since the page was built.
        demo.load(refresh, None, [status, documents, to_remove], queue=False, show_progress="hidden", **private)
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

CSS = """
.gradio-container { width: 100% !important; max-width: 1480px !important; margin: 0 auto !important; }
#header { align-items: flex-end; }
#header h2 { margin-bottom: 0; }
#composer { align-items: stretch; }
#status { text-align: right; font-size: 0.85rem; color: var(--body-text-color-subdued); }
#chat a.cite { display: inline-block; padding: 0 0.35em; margin: 0 0.1em; border-radius: 0.6em; font-size: 0.8em;
  font-weight: 600; line-height: 1.5; text-decoration: none; background: var(--primary-100); color: var(--primary-700); }
#chat a.cite:hover { background: var(--primary-500); color: white; }
#chat .draft { color: var(--body-text-color-subdued); }
#chat .cursor { animation: blink 1s steps(2, start) infinite; }
#chat .refusal { font-style: italic; }
#chat .error { color: var(--error-text-color); }
@keyframes blink { to { visibility: hidden; } }
#sources-panel { max-height: 640px; overflow-y: auto !important; padding-right: 6px; }
#sources-panel, #documents { color: var(--body-text-color); font-size: var(--text-md); }
#sources-panel .empty, #documents .empty { color: var(--body-text-color-subdued); padding: 1rem 0.25rem; }
.turn { margin-bottom: 0.75rem; }
.turn > summary { cursor: pointer; display: flex; justify-content: space-between; gap: 0.5rem; padding: 0.35rem 0.25rem;
  font-weight: 600; border-bottom: 1px solid var(--border-color-primary); }
.turn > summary .meta { font-weight: 400; font-size: 0.8rem; color: var(--body-text-color-subdued); white-space: nowrap; }
.source { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.6rem 0.75rem; margin: 0.6rem 0;
  background: var(--background-fill-primary); transition: box-shadow 0.2s, border-color 0.2s, background 0.2s; }
.source.selected { border-color: var(--primary-500); background: var(--primary-50);
  box-shadow: 0 0 0 3px var(--primary-200); }
.source-head { display: flex; gap: 0.5rem; align-items: baseline; margin-bottom: 0.35rem; font-size: 0.85rem; }
.source-head .n { font-weight: 700; color: var(--primary-600); }
.source-head .file { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.source-head .pos { margin-left: auto; color: var(--body-text-color-subdued); white-space: nowrap; font-size: 0.78rem; }
.passage { font-size: 0.9rem; line-height: 1.55; color: var(--body-text-color); white-space: pre-line; }
.passage mark { background: #fde68a; color: #1f2937; padding: 0.05em 0.15em; border-radius: 3px; }
details.more > summary { cursor: pointer; font-size: 0.85rem; color: var(--body-text-color-subdued); margin-top: 0.5rem; }
details.more .passage { color: var(--body-text-color-subdued); }
.note { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.note.refused { font-style: italic; }
table.docs { width: 100%; font-size: 0.88rem; border-collapse: collapse; }
table.docs th, table.docs td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border-color-primary); }
table.docs th { font-weight: 600; color: var(--body-text-color-subdued); font-size: 0.8rem; }
table.docs small { color: var(--body-text-color-subdued); }
table.docs td.num, table.docs th:last-child { text-align: right; }
"""

# A click on a citation marker selects its source: unfold it, bring it into view, outline it.
HEAD = """
<script>
(() => {
  function select(id) {
    const target = document.getElementById(id);
    if (!target) return false;
    for (let el = target.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    document.querySelectorAll(".source.selected").forEach((el) => el.classList.remove("selected"));
    target.classList.add("selected");
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    return true;
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const id = link.getAttribute("href").slice(1);
    const tab = [...document.querySelectorAll('button[role="tab"]')].find((b) => b.textContent.trim() === "Sources");
    if (tab && tab.getAttribute("aria-selected") !== "true") {
      tab.click();
      setTimeout(() => select(id), 150);
    } else {
      select(id);
    }
  }, true);
})();
</script>
"""


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
        css=CSS,
        head=HEAD,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
    )
    return demo
