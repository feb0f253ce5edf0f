"""The public Python API: one ``Assistant`` holds the index, retriever and answerer; ``answer()`` for scripts."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

from .config import Settings, load_settings
from .extractive import answer_extractive
from .retrieval import Retriever
from .store import Index, Progress, SyncReport
from .types import Answer, Passage

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


def clean_question(question: str, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise QuestionError("The question is empty: type a question about the documents.")
    if len(text) > max_chars:
        raise QuestionError(f"The question is {len(text):,} characters long; the limit is {max_chars:,}.")
    return text


class Assistant:
    def __init__(self, settings: Settings | None = None, **overrides):
        self.settings = settings or load_settings(**overrides)
        self._index: Index | None = None
        self._retriever: Retriever | None = None

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index(self.settings)
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.index)
        return self._retriever

    def ingest(self, paths: list[Path] | None = None, progress: Progress | None = None) -> SyncReport:
        return self.index.sync(paths or [self.settings.seeds_dir], progress=progress)

    def ensure_indexed(self, progress: Progress | None = None) -> SyncReport | None:
        """First use: index the seeds folder if the index holds no documents yet."""
        if self.index.committed() or not Path(self.settings.seeds_dir).is_dir():
            return None
        return self.ingest(progress=progress)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        return self.retriever.search(clean_question(question, self.settings.max_question_chars), k or self.settings.k)

    def stream(self, question: str, *, history: list[dict] | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Yields pieces of answer text as they are produced, then the final, verified ``Answer``."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        self.ensure_indexed()
        passages = self.retriever.search(question, k or self.settings.k)
        retrieved = time.perf_counter()
        result = answer_extractive(question, passages, self.index.embeddings)
        yield result.text
        result.question = question
        result.timings = {
            "retrieve": retrieved - started,
            "first_token": time.perf_counter() - started,
            "answer": time.perf_counter() - retrieved,
            "total": time.perf_counter() - started,
        }
        yield result

    def answer(self, question: str, *, history: list[dict] | None = None, k: int | None = None) -> Answer:
        for item in self.stream(question, history=history, k=k):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an Answer")


_default: Assistant | None = None


def _assistant(overrides: dict) -> Assistant:
    global _default
    if overrides:
        return Assistant(**overrides)
    if _default is None:
        _default = Assistant()
    return _default


def answer(question: str, *, history: list[dict] | None = None, k: int | None = None, **settings) -> Answer:
    """Answer ``question`` from the indexed documents, with verified citations (settings as in ``Settings``)."""
    return _assistant(settings).answer(question, history=history, k=k)


def stream(question: str, *, history: list[dict] | None = None, k: int | None = None, **settings):
    return _assistant(settings).stream(question, history=history, k=k)
