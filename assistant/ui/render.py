"""HTML (and the Markdown export) for the page, as pure functions of the typed results and the conversation.

A conversation is plain JSON (it lives in the browser between visits): ``{"id", "title", "created", "turns"}``,
each turn ``{"question", "status", "answer", "evidence", "error", "scope", "rating", ...}`` with ``answer`` in
``Answer.to_dict`` form. ``status`` is "pending" while the answer streams, then "answered", "stopped" or "error".
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..config import Settings
from ..locations import describe, locate
from ..types import Answer, Citation, Evidence, Passage, passage_from_dict

CLOSEST_SHOWN = 3  # passages listed under a refusal
CURSOR = '<span class="cursor">\u258d</span>'
STOPPED = ' <em class="stopped">(stopped)</em>'
THUMBS = {"up": "\U0001F44D", "down": "\U0001F44E"}
_MARKER = re.compile(r"\[(\d+)\]")
# Characters that would otherwise turn document text into Markdown formatting inside the chat bubble.
_MARKDOWN_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "*_`~$#|[]\\"})


def cite_id(turn: int, n: int) -> str:
    """DOM id of citation ``[n]`` of the ``turn``-th answer: markers link to it, the sources panel carries it."""
    return f"cite-{turn}-{n}"


def inline(text: str) -> str:
    """Text shown inside a chat bubble: escaped, and inert to the bubble's Markdown."""
    return html.escape(text, quote=False).translate(_MARKDOWN_ENTITIES)


def short_name(source: str) -> str:
    return Path(source).name or source


def _linked(text: str, known: set[int], turn: int) -> str:
    """``text`` for the chat, each known ``[n]`` a link to its entry in the sources panel."""
    parts = _MARKER.split(text)  # text, number, text, number, ...
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(inline(part))
        elif int(part) in known:
            out.append(f'<a class="cite" href="#{cite_id(turn, int(part))}">[{part}]</a>')
        else:
            out.append(inline(f"[{part}]"))
    return "".join(out)


def answer_html(answer: Answer, turn: int) -> str:
    """The verified answer: the short answer first when there is one, then the cited sentences."""
    if answer.refused:
        return (
            f'<span class="refusal">{inline(answer.text)}</span><br>'
            '<small class="hint">The closest passages are listed under Sources.</small>'
        )
    known = {c.n for c in answer.citations}
    if answer.short_answer:  # the text leads with it, then a blank line, then the quotes it rests on
        head, _, quotes = answer.text.partition("\n\n")
        return f'<p class="short-answer">{_linked(head, known, turn)}</p><p>{_linked(quotes, known, turn)}</p>'
    return _linked(answer.text, known, turn)


def evidence_html(evidence: Evidence, turn: int) -> str:
    """What the documents say, shown at once while the answer is drafted: quoted and cited, marked as evidence."""
    quotes = "".join(
        f'<li>\u201c{inline(c.quote)}\u201d <a class="cite" href="#{cite_id(turn, c.n)}">[{c.n}]</a></li>'
        for c in evidence.citations
    )
    return (
        '<div class="evidence"><div class="evidence-label">Evidence found \u2014 not yet the answer</div>'
        f'<ul>{quotes}</ul></div>'
    )


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


def _head(n: str, source: str, start: int, end: int, place: str, extra: str = "") -> str:
    where = f'<span class="where">{html.escape(place)}</span>' if place else ""
    return (
        f'<div class="source-head"><span class="n">{n}</span>'
        f'<span class="file" title="{html.escape(source)}">{html.escape(short_name(source))}</span>{where}'
        f'<span class="pos">chars {start:,}\u2013{end:,}{extra}</span></div>'
    )


def citation_html(turn: int, citation: Citation, passage: Passage | None) -> str:
    return (
        f'<div class="source cited" id="{cite_id(turn, citation.n)}">'
        + _head(f"[{citation.n}]", citation.source, citation.start, citation.end,
                describe(citation.page, citation.section))
        + f'<div class="passage">{_cited_passage_html(citation, passage)}</div></div>'
    )


def passage_html(passage: Passage) -> str:
    extra = f" \u00b7 relevance {passage.relevance:.2f}"
    return (
        '<div class="source">'
        + _head("\u2022", passage.source, passage.start, passage.end,
                describe(*locate(passage.locations, passage.start)), extra)
        + f'<div class="passage">{html.escape(passage.text, quote=False)}</div></div>'
    )


def _within(scope: list[str] | None) -> str:
    if not scope:
        return ""
    names = ", ".join(short_name(s) for s in scope[:3]) + (f" and {len(scope) - 3} more" if len(scope) > 3 else "")
    return f'<p class="note scope">Asked within {html.escape(names)}.</p>'


def _summary(turn: int, question: str, meta: str, body: list[str], latest: bool) -> str:
    return (
        f'<details class="turn" id="turn-{turn}"{" open" if latest else ""}>'
        f'<summary><span class="question">{html.escape(question)}</span><span class="meta">{html.escape(meta)}</span>'
        "</summary>" + "".join(body) + "</details>"
    )


def turn_sources_html(turn: int, question: str, answer: Answer, latest: bool, scope: list[str] | None = None) -> str:
    """One answer's evidence: cited passages with the quote marked, then the other retrieved passages folded."""
    cited_ids = {c.chunk_id for c in answer.citations}
    by_id = {p.chunk_id: p for p in answer.passages}
    seconds = answer.timings.get("total")
    meta = f"{answer.backend}" + (f" \u00b7 {seconds:.1f} s" if seconds is not None else "")
    body = [_within(scope)]
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
    return _summary(turn, question, meta, body, latest)


def evidence_sources_html(turn: int, question: str, evidence: Evidence, latest: bool,
                          scope: list[str] | None = None) -> str:
    """The evidence shown before the answer arrives: its quotes in their passages."""
    by_id = {p.chunk_id: p for p in evidence.passages}
    body = [_within(scope), '<p class="note">Evidence found; the answer is being written.</p>']
    body.extend(citation_html(turn, c, by_id.get(c.chunk_id)) for c in evidence.citations)
    return _summary(turn, question, "evidence", body, latest)


# --- a conversation's turns --------------------------------------------------------------------------------------


def turn_answer(turn: dict) -> Answer | None:
    return Answer.from_dict(turn["answer"]) if turn.get("answer") else None


def turn_evidence(turn: dict) -> Evidence | None:
    data = turn.get("evidence")
    if not data:
        return None
    return Evidence(citations=[Citation(**c) for c in data["citations"]],
                    passages=[passage_from_dict(p) for p in data["passages"]])


def sources_html(turns: list[dict]) -> str:
    """Every answer's sources, newest first and open; older ones folded (a click on their [n] unfolds them)."""
    shown = []
    for i, turn in enumerate(turns):
        latest = i == len(turns) - 1
        answer, evidence = turn_answer(turn), turn_evidence(turn)
        if answer is not None:
            shown.append(turn_sources_html(i, turn["question"], answer, latest, turn.get("scope")))
        elif evidence is not None:
            shown.append(evidence_sources_html(i, turn["question"], evidence, latest, turn.get("scope")))
    if not shown:
        return '<p class="empty">Ask a question: the passages behind each answer appear here, quotes highlighted.</p>'
    return "".join(reversed(shown))


def assistant_message(turn: dict, index: int, draft: str = "") -> str:
    """The chat bubble of one turn in its current state."""
    answer, evidence = turn_answer(turn), turn_evidence(turn)
    if answer is not None:
        return answer_html(answer, index)
    if turn.get("status") == "error":
        return error_html(turn.get("error", ""))
    shown = evidence_html(evidence, index) if evidence is not None else ""
    if turn.get("status") == "stopped":
        return shown + (f'<span class="draft">{inline(draft)}</span>' if draft else "") + STOPPED
    return shown + (draft_html(draft) if draft else CURSOR)


def chat_messages(turns: list[dict], draft: str = "") -> list[dict]:
    """Two messages per turn, so message ``2i + 1`` is turn ``i``'s answer (feedback finds its turn by that);
    ``draft`` is the text streaming into the last turn."""
    messages: list[dict] = []
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": inline(turn["question"])})
        messages.append({"role": "assistant",
                         "content": assistant_message(turn, i, draft if i == len(turns) - 1 else "")})
    return messages


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


# --- the Markdown export -------------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A Markdown block quote holding ``text`` line for line (a reader strips the "> " to get it back)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def conversation_markdown(conversation: dict) -> str:
    """The conversation as Markdown: each question, its answer with [n] markers, then each citation numbered
    with its source, page and section, character offsets, and the quote verbatim."""
    lines = [f"# {conversation.get('title') or 'Conversation'}", "",
             f"Exported from Document Q&A; started {conversation.get('created', '')}.", ""]
    for turn in conversation.get("turns", []):
        lines += [f"## {turn['question']}", ""]
        if turn.get("scope"):
            lines += [f"*Asked within: {', '.join(turn['scope'])}*", ""]
        answer = turn_answer(turn)
        if answer is None:
            lines += [f"*({turn.get('status', 'no answer')}{': ' + turn['error'] if turn.get('error') else ''})*", ""]
            continue
        if answer.short_answer:  # the text leads with it (and its markers), then the quotes
            head, _, quotes = answer.text.partition("\n\n")
            lines += [f"**{head}**", "", quotes, ""]
        else:
            lines += [answer.text, ""]
        for c in answer.citations:
            place = describe(c.page, c.section)
            lines += [f"[{c.n}] {c.source}{', ' + place if place else ''}, characters {c.start}\u2013{c.end}:", "",
                      _quoted(c.quote), ""]
        if turn.get("rating"):
            thumb = THUMBS[turn["rating"]]
            comment = f": {turn['comment']}" if turn.get("comment") else ""
            lines += [f"*Rated {thumb}{comment}*", ""]
    return "\n".join(lines).rstrip() + "\n"
