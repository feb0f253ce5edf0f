"""The public Python API: one ``Assistant`` holds the index, retriever and answerer; ``answer()`` for scripts."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .chain import build_chain, stream_draft
from .citations import REFUSAL, is_decline, verify
from .config import Settings, load_settings
from .extractive import STRONG_EVIDENCE, answer_extractive
from .retrieval import Retriever
from .store import Index, Progress, SyncReport, index_exists
from .types import Answer, Passage

# Below this cosine between question and best passage nothing retrieved is on topic: refuse, and an LLM is
# not even asked.
# Calibrated by eval/calibrate.py (eval/reports/calibration.md).
RELEVANCE_GATE = 0.25

# control characters, and lone surrogates (undecodable bytes on a command line) that no tokenizer accepts
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


ANSWER_TOKENS = 384
PROMPT_TOKENS = 350  # the answer prompt's instructions and question, around the passages


def _last_user_turn(history: list[dict] | None) -> str:
    return next((str(t.get("content", "")) for t in reversed(history or []) if t.get("role") == "user"), "")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


class EmptyIndexError(RuntimeError):
    """Nothing is indexed where the assistant looked: asking would only ever refuse (the message names the fix)."""


def empty_index_message(settings: Settings) -> str:
    where = (f"collection {settings.collection!r} on the Chroma server {settings.chroma_url}" if settings.chroma_url
             else Path(settings.index_dir).absolute())
    return (f"no documents are indexed in {where}. Index some first with `assistant ingest PATH` "
            "(Python: Assistant(index_dir=...).ingest([PATH])), or point at an existing index with "
            "ASSISTANT_INDEX_DIR, --index or index_dir=.")


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
    def __init__(self, settings: Settings | None = None, *, chat_model=None, **overrides):
        """``chat_model``: any LangChain chat model to use instead of the one ``settings.llm`` names."""
        self.settings = settings or load_settings(**overrides)
        self._chat_model = chat_model
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._chain = None
        self._lock = threading.Lock()  # one generation at a time: a local model is not re-entrant

    def close(self) -> None:
        """Release the store (a local Chroma folder stays shared with other clients in this process until then)."""
        if self._index is not None:
            self._index.close()
            self._index = self._retriever = self._chain = None

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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

    def ingest(self, paths: list[Path] | None = None, progress: Progress | None = None, *,
               follow_symlinks: bool = False) -> SyncReport:
        """Index files and folders incrementally. A link leading outside the folder it was found in is skipped
        with a reason unless ``follow_symlinks`` (an upload folder never follows them)."""
        paths = paths or [self.settings.seeds_dir]
        return self.index.sync(paths, progress=progress, follow_symlinks=follow_symlinks)

    def ensure_indexed(self, progress: Progress | None = None) -> SyncReport | None:
        """The chat page's first start: index the seeds folder if the index holds no documents yet. Asking never
        does this (an ``ask`` in another folder must not start indexing whatever ``seeds/`` it finds there)."""
        if not Path(self.settings.seeds_dir).is_dir() or self.has_documents():
            return None
        return self.ingest(progress=progress)

    def has_documents(self) -> bool:
        """Whether any document is indexed; never creates an index folder to find out."""
        if self._index is None and not index_exists(self.settings):
            return False
        return bool(self.index.committed())

    def require_documents(self) -> None:
        """Raise ``EmptyIndexError`` when nothing is indexed: every answer would be a refusal that reads exactly
        like a real "the documents don't say"."""
        if not self.has_documents():
            raise EmptyIndexError(empty_index_message(self.settings))

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        question = clean_question(question, self.settings.max_question_chars)
        self.require_documents()
        return self.retriever.search(question, k or self.settings.k)

    @property
    def chain(self):
        if self._chain is None:
            from .llm import context_window, count_tokens, make_chat_model

            llm = self._chat_model or make_chat_model(self.settings.llm, self.settings, max_tokens=ANSWER_TOKENS)
            self._chain = build_chain(
                llm,
                lambda question, k: self.retriever.search(question, k or self.settings.k),
                relevant=self.relevant,
                budget_tokens=context_window(self.settings.llm, self.settings) - ANSWER_TOKENS - PROMPT_TOKENS,
                count_tokens=lambda text: count_tokens(llm, text),
            )
        return self._chain

    @staticmethod
    def relevant(passages: list[Passage]) -> bool:
        return bool(passages) and max(p.relevance for p in passages) >= RELEVANCE_GATE

    def stream(self, question: str, *, history: list[dict] | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Yields pieces of draft text as they are generated, then the final, verified ``Answer``."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        self.require_documents()
        timings: dict[str, float] = {}
        if self.settings.llm == "extractive" and self._chat_model is None:
            standalone = question
            # No model to rewrite a follow-up: the previous question joins the query instead.
            query = " ".join([_last_user_turn(history), question]).strip()
            passages = self.retriever.search(query, k or self.settings.k)
            timings["retrieve"] = time.perf_counter() - started
            result = (answer_extractive(question, passages, self.index.embeddings) if self.relevant(passages)
                      else Answer(text=REFUSAL, passages=passages, refused=True, backend="extractive"))
            timings["first_token"] = time.perf_counter() - started
            yield result.text
        else:
            draft, passages, standalone = "", [], question
            with self._lock:
                for key, value in stream_draft(self.chain, question, history, k):
                    if key == "standalone":
                        standalone = value
                    elif key == "passages":
                        passages = value
                        timings["retrieve"] = time.perf_counter() - started
                    elif value:
                        timings.setdefault("first_token", time.perf_counter() - started)
                        draft += value
                        yield value
            result = self._verified(standalone, draft, passages)
        result.question = standalone
        timings["total"] = time.perf_counter() - started
        result.timings = timings
        yield result

    @property
    def backend(self) -> str:
        return f"custom:{type(self._chat_model).__name__}" if self._chat_model else self.settings.llm

    def _verified(self, question: str, draft: str, passages: list[Passage]) -> Answer:
        """The pipeline, not the model, decides what is said: supported sentences, evidence, or a refusal."""
        backend = self.backend
        if not self.relevant(passages):
            return Answer(text=REFUSAL, passages=passages, refused=True, backend=backend)
        checked = verify(draft, passages, self.index.embeddings, question)
        if not checked.empty and not is_decline(draft):
            return Answer(text=checked.text, citations=checked.citations, passages=passages, backend=backend,
                          unsupported=checked.unsupported)
        # The model declined or said nothing the passages support: strong evidence still gets an answer.
        fallback = answer_extractive(question, passages, self.index.embeddings, threshold=STRONG_EVIDENCE)
        fallback.backend = f"{backend}+extractive"
        fallback.unsupported = checked.unsupported
        return fallback

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
