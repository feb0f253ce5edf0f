"""Typed results at the package's boundaries: what retrieval returns and what an answer carries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: a verbatim span ``[start, end)`` of one source document's text."""

    chunk_id: str
    source: str  # path relative to the documents folder it was ingested from
    text: str
    start: int
    end: int
    title: str = ""
    chunk_index: int = 0
    score: float = 0.0  # fused rank score (higher is better); comparable within one query only
    relevance: float = 0.0  # cosine similarity of the question to this passage, in [-1, 1]
    # (offset, page, section) at the passage's start and at each page break or heading inside it (locations.py)
    locations: tuple[tuple[int, int | None, str | None], ...] = ()


def passage_from_dict(data: dict) -> Passage:
    """A ``Passage`` from its JSON form (``asdict``), locations back to tuples."""
    return Passage(**{**data, "locations": tuple(tuple(loc) for loc in data.get("locations", ()))})


@dataclass(frozen=True)
class Citation:
    """Marker ``[n]`` in an answer, resolved to the exact supporting text of one source."""

    n: int
    source: str
    chunk_id: str
    quote: str  # verbatim: equals the source document's text[start:end]
    start: int
    end: int
    page: int | None = None  # 1-based page where the quote starts (PDF only)
    section: str | None = None  # the nearest heading above the quote (Markdown, HTML, DOCX)


@dataclass
class Evidence:
    """The best evidence for a question, yielded by ``Assistant.stream`` before the model's answer: quoted and
    cited, but not yet an answer (the page shows it at once, marked as evidence)."""

    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    refused: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    backend: str = ""
    question: str = ""  # the standalone question actually answered (after follow-up condensing)
    unsupported: list[str] = field(default_factory=list)  # draft sentences dropped: no passage supports them
    short_answer: str = ""  # the direct answer in the model's words ("Patrick Shanahan"); "" when refused
    decision: dict = field(default_factory=dict)  # why it was answered or refused (assistant.answering.Decision)

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        """The inverse of ``to_dict`` (a stored conversation or feedback row back into an ``Answer``)."""
        return cls(
            text=data["answer"],
            short_answer=data.get("short_answer", ""),
            refused=data.get("refused", False),
            citations=[Citation(**c) for c in data.get("citations", [])],
            passages=[passage_from_dict(p) for p in data.get("passages", [])],
            timings=dict(data.get("timings", {})),
            backend=data.get("backend", ""),
            question=data.get("question", ""),
            unsupported=list(data.get("unsupported", [])),
        )

    def to_dict(self) -> dict:
        """The JSON shape of ``assistant ask --json`` and the UI's API."""
        return {
            "answer": self.text,
            "short_answer": self.short_answer,
            "refused": self.refused,
            "citations": [asdict(c) for c in self.citations],
            "passages": [asdict(p) for p in self.passages],
            "timings": self.timings,
            "backend": self.backend,
            "question": self.question,
            "unsupported": self.unsupported,
            "decision": self.decision,
        }
