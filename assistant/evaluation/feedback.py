"""Feedback that becomes tests: rated answers asked again, and exported as a question set.

``assistant eval --suite feedback`` asks every rated question again (with its history and the documents it was
asked within) against the current index and backend, and reports which answers changed: thumbs-down first (a
change there may be the fix), then thumbs-up (a change there may be a regression). ``assistant feedback export``
writes the rated questions in ``eval/questions.yaml``'s format for a person to add gold answers; the file then
runs as ``assistant eval --suite seed --questions FILE``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..api import Assistant, EmptyIndexError, QuestionError
from ..config import Settings
from ..feedback import FeedbackRow, read
from ..scope import ScopeError
from ..store import IndexBusy
from .pipeline import progress
from .report import table

ASK_ERRORS = (QuestionError, ScopeError, EmptyIndexError, IndexBusy)


def _normal(text: str) -> str:
    return " ".join(text.split())


def worst_first(rows: list[FeedbackRow]) -> list[FeedbackRow]:
    """Thumbs-down before thumbs-up, newest first within each."""
    return sorted(sorted(rows, key=lambda r: r.time, reverse=True), key=lambda r: r.rating != "down")


def compare(row: FeedbackRow, new: dict) -> dict:
    """What changed between the rated answer and the new one: the wording, the quotes cited."""
    old_quotes = [(c["source"], c["start"], c["end"]) for c in row.citations]
    new_quotes = [(c["source"], c["start"], c["end"]) for c in new["citations"]]
    return {"text_changed": _normal(row.answer) != _normal(new["answer"]), "citations_changed": old_quotes != new_quotes}


def run(settings: Settings, *, feedback_file: Path, limit: int | None = None, user: str | None = None) -> dict:
    rows = worst_first(read(feedback_file, user))[:limit]
    results = []
    with Assistant(settings) as assistant:
        for row in progress(rows, "feedback"):
            result = {"id": row.id, "rating": row.rating, "question": row.question, "comment": row.comment,
                      "user": row.user, "time": row.time, "sources": row.sources, "old_answer": row.answer,
                      "old_generation": row.generation}
            try:
                new = assistant.answer(row.question, history=row.history, sources=row.sources).to_dict()
            except ASK_ERRORS as exc:  # e.g. the documents it was asked within are gone
                results.append({**result, "error": str(exc), "changed": True})
                continue
            diff = compare(row, new)
            results.append({**result, **diff, "changed": any(diff.values()), "error": None,
                            "new_answer": new["answer"], "new_refused": new["refused"],
                            "new_citations": new["citations"]})
        generation = assistant.index.generation()
    by = lambda rating: [r for r in results if r["rating"] == rating]  # noqa: E731
    return {
        "suite": "feedback",
        "feedback_file": str(feedback_file),
        "user": user,
        "llm": settings.llm,
        "index_generation": generation,
        "n": len(results),
        "down": len(by("down")),
        "up": len(by("up")),
        "changed": sum(r["changed"] for r in results),
        "changed_down": sum(r["changed"] for r in by("down")),
        "changed_up": sum(r["changed"] for r in by("up")),
        "errors": sum(1 for r in results if r["error"]),
        "rows": results,
    }


def _what_changed(r: dict) -> str:
    if r["error"]:
        return f"error: {r['error']}"
    parts = [name for name, key in (("wording", "text_changed"), ("citations", "citations_changed")) if r[key]]
    return ", ".join(parts) or "unchanged"


def render(m: dict) -> str:
    rows = [[("\U0001F44E" if r["rating"] == "down" else "\U0001F44D"), r["question"], _what_changed(r),
             r["old_answer"], r.get("new_answer", "—"), r["comment"] or "—"] for r in m["rows"]]
    return "\n\n".join([
        f"# Feedback: {m['n']} rated answers asked again",
        f"Run {m['started']} ({m['seconds']} s), backend `{m['llm']}`, feedback from `{m['feedback_file']}`"
        + (f" (user `{m['user']}`)" if m["user"] else "") + f", index generation `{m['index_generation']}`.",
        f"**{m['changed']} changed**: {m['changed_down']} of {m['down']} thumbs-down (a change may be the fix), "
        f"{m['changed_up']} of {m['up']} thumbs-up (a change may be a regression); {m['errors']} could not be "
        "asked again. Thumbs-down first; `assistant feedback export` turns these into a question set with gold "
        "answers to fill in.",
        table(["", "question", "what changed", "rated answer", "answer now", "comment"], rows),
    ]) + "\n"


HEADER = """\
# Rated answers exported by `assistant feedback export`, in eval/questions.yaml's format.
# Thumbs-up rows carry the cited quotes as gold and the short answer as the expected answer: check them.
# Thumbs-down rows need a person: fill in `answers` and `gold` (verbatim quotes), or set `answerable: false`.
# Then: assistant eval --suite seed --questions THIS_FILE
"""


def export_item(row: FeedbackRow) -> dict:
    liked = row.rating == "up"
    refused = liked and not row.citations
    item = {
        "id": f"feedback-{row.id[:12]}",
        "question": row.question,
        **({"history": row.history} if row.history else {}),
        "answerable": not refused,
        "answers": [row.short_answer] if liked and row.short_answer else [],
        "gold": [{"source": c["source"], "text": c["quote"]} for c in row.citations] if liked else [],
        "kind": f"feedback-{row.rating}",
        "feedback": {"rating": row.rating, "comment": row.comment, "answer": row.answer, "time": row.time,
                     **({"user": row.user} if row.user else {}), **({"sources": row.sources} if row.sources else {})},
    }
    return item


def export(rows: list[FeedbackRow]) -> str:
    body = yaml.safe_dump([export_item(r) for r in worst_first(rows)], allow_unicode=True, sort_keys=False,
                          width=120)
    return HEADER + "\n" + body
