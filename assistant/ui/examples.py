"""Example questions that fit what is indexed, made from the documents' titles and headings (no model needed),
once per index generation."""

from __future__ import annotations

import threading

from ..locations import decode
from ..store import Index

MAX_EXAMPLES = 4
TITLE_CHARS = 60


def _clean(title: str) -> str:
    title = " ".join(title.replace('"', "").replace("\u201c", "").replace("\u201d", "").split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "\u2026"


def questions_for(documents: list[dict], sections: dict[str, list[str]], n: int = MAX_EXAMPLES) -> list[str]:
    """One question per document first (about a section if it has headings, else about the whole), then
    more sections, until ``n``."""
    asked: list[str] = []
    per_document = []
    for d in documents:
        title = _clean(d["title"])
        headings = [s for s in dict.fromkeys(sections.get(d["source"], [])) if _clean(s) != title]
        per_document.append([f"What does \u201c{title}\u201d say about {_clean(h)}?" for h in headings]
                            or [f"What is \u201c{title}\u201d about?"])
    for round_ in range(max((len(q) for q in per_document), default=0)):
        for questions in per_document:
            if round_ < len(questions) and len(asked) < n:
                asked.append(questions[round_])
    return asked


class Examples:
    """``for_index()``: the examples for the index as it is now, recomputed only when its generation changes."""

    def __init__(self, index: Index, n: int = MAX_EXAMPLES):
        self.index = index
        self.n = n
        self._cached: tuple[str, list[str]] | None = None
        self._lock = threading.Lock()

    def for_index(self) -> list[str]:
        generation = self.index.generation()
        with self._lock:
            if self._cached is None or self._cached[0] != generation:
                self._cached = (generation, self._compute())
            return self._cached[1]

    def _compute(self) -> list[str]:
        documents = self.index.documents()[: self.n]
        if not documents:
            return []
        committed = self.index.committed()
        got = self.index.chunks.get(where={"source": {"$in": [d["source"] for d in documents]}},
                                    include=["metadatas"])
        sections: dict[str, list[str]] = {}
        for meta in sorted(got["metadatas"], key=lambda m: (m["source"], m["start"])):
            if committed.get(meta["source"]) == meta.get("doc_sha256"):
                sections.setdefault(meta["source"], []).extend(s for _, _, s in decode(meta) if s)
        return questions_for(documents, sections, self.n)
