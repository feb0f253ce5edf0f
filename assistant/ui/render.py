"""HTML for the page, as pure functions of the typed results (testable without a browser)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..types import Answer, Citation, Passage

CLOSEST_SHOWN = 3  # passages listed under a refusal
CURSOR = '<span class="cursor">\u258d</span>'
_MARKER = re.compile(r"\[(\d+)\]")
# Characters that would otherwise turn document text into Markdown formatting inside the chat bubble.
_MARKDOWN_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "*_`~$#|[]\\"})


@dataclass
class Turn:
    question: str  # as the user typed it
    answer: Answer


def cite_id(turn: int, n: int) -> str:
    """DOM id of citation ``[n]`` of the ``turn``-th answer: markers link to it, the sources panel carries it."""
    return f"cite-{turn}-{n}"


def inline(text: str) -> str:
    """Text shown inside a chat bubble: escaped, and inert to the bubble's Markdown."""
    return html.escape(text, quote=False).translate(_MARKDOWN_ENTITIES)


def short_name(source: str) -> str:
    return Path(source).name or source


def answer_html(answer: Answer, turn: int) -> str:
    """The verified answer for the chat, each known ``[n]`` a link to its entry in the sources panel."""
    if answer.refused:
        return (
            f'<span class="refusal">{inline(answer.text)}</span><br>'
            '<small class="hint">The closest passages are listed under Sources.</small>'
        )
    known = {c.n for c in answer.citations}
    parts = _MARKER.split(answer.text)  # text, number, text, number, ...
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(inline(part))
        elif int(part) in known:
            out.append(f'<a class="cite" href="#{cite_id(turn, int(part))}">[{part}]</a>')
        else:
            out.append(inline(f"[{part}]"))
    return "".join(out)


def draft_html(draft: str) -> str:
    """Unverified text while it streams, visibly provisional."""
    return f'<span class="draft">{inline(draft)}</span>{CURSOR}'


def error_html(message: str) -> str:
    return f'<span class="error">{inline(message)}</span>'


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


def sources_html(turns: list[Turn]) -> str:
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


def status_markdown(settings: Settings, documents: list[dict]) -> str:
    chunks = sum(d["chunks"] for d in documents)
    return (
        f"LLM **{settings.llm}** \u00b7 embeddings **{settings.embed_model}** \u00b7 index **{len(documents)}** "
        f"document{'s' if len(documents) != 1 else ''}, **{chunks}** chunks"
    )
