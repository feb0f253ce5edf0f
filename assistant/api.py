"""The public Python API: one ``Assistant`` holds the index, retriever and answerer; ``answer()`` for scripts."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import answering, drafts
from .chain import build_chain, build_check, build_reader, stream_events, warm
from .config import Settings, load_settings
from .evidence import VectorCache
from .feedback import FeedbackRow, append, feedback_path
from .logprobs import first_token_probabilities, token_logprobs
from .retrieval import Retriever
from .scope import resolve_scope
from .store import Index, Progress, SyncReport, index_exists
from .types import Answer, Evidence, Passage
from .uploads import UploadReport, add_uploads, remove_document

# control characters, and lone surrogates (undecodable bytes on a command line) that no tokenizer accepts
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")

ANSWER_TOKENS = 48  # a short answer and its marker; the quotes come from the documents, not the model
CONDENSE_TOKENS = 96  # a rewritten follow-up question


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
        self._checker = None
        self._reader = None
        self._vectors: VectorCache | None = None
        self._lock = threading.Lock()  # one generation at a time: a local model is not re-entrant
        self._parts = threading.RLock()  # the page's warm-up and its first request build the parts below together

    def close(self) -> None:
        """Release the store (a local Chroma folder stays shared with other clients in this process until then)."""
        with self._parts:
            if self._index is not None:
                self._index.close()
                self._index = self._retriever = self._chain = self._checker = self._reader = None

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def index(self) -> Index:
        with self._parts:
            if self._index is None:
                self._index = Index(self.settings)
            return self._index

    @property
    def vectors(self) -> VectorCache:
        """Embeddings of recently seen evidence sentences (the same passages come back)."""
        with self._parts:
            if self._vectors is None:
                self._vectors = VectorCache(self.index.embeddings)
            return self._vectors

    @property
    def retriever(self) -> Retriever:
        with self._parts:
            if self._retriever is None:
                self._retriever = Retriever(self.index)
            return self._retriever

    def ingest(self, paths: list[Path] | None = None, progress: Progress | None = None, *,
               follow_symlinks: bool = False) -> SyncReport:
        """Index files and folders incrementally. A link leading outside the folder it was found in is skipped
        with a reason unless ``follow_symlinks`` (an upload folder never follows them)."""
        paths = paths or [self.settings.seeds_dir]
        return self.index.sync(paths, progress=progress, follow_symlinks=follow_symlinks)

    def add_uploads(self, files: list[tuple[Path, str]], progress: Progress | None = None) -> UploadReport:
        """Keep uploaded files (temporary path, the name the user gave) in ``docs_dir`` and index them."""
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        return add_uploads(self.index, files, self.settings.docs_dir, max_bytes, progress)

    def remove_document(self, source: str) -> bool:
        """Forget one document; a file uploaded into ``docs_dir`` is deleted with it."""
        return remove_document(self.index, source, self.settings.docs_dir)

    def record_feedback(self, question: str, answer: Answer, rating: str, *, comment: str = "",
                        history: list[dict] | None = None, sources: list[str] | None = None, user: str = "",
                        id: str | None = None) -> FeedbackRow:
        """Append a rating ("up"/"down") of ``answer`` to ``$ASSISTANT_HOME/feedback.jsonl``; the same ``id``
        again (a comment added later) supersedes the earlier line."""
        row = FeedbackRow(question=question, answer=answer.text, rating=rating, history=list(history or []),
                          short_answer=answer.short_answer, citations=answer.to_dict()["citations"],
                          backend=answer.backend, comment=comment, sources=sources, user=user,
                          generation=self.index.generation())
        if id:
            row.id = id
        return append(feedback_path(self.settings.home), row)

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
        return self.index.has_documents()

    def require_documents(self) -> None:
        """Raise ``EmptyIndexError`` when nothing is indexed: every answer would be a refusal that reads exactly
        like a real "the documents don't say"."""
        if not self.has_documents():
            raise EmptyIndexError(empty_index_message(self.settings))

    def scope(self, sources: list[str] | None) -> list[str] | None:
        """The indexed sources that ``sources`` (globs on path or file name) select; None: every document."""
        return None if sources is None else resolve_scope(sources, self.index.committed())

    def retrieve(self, question: str, k: int | None = None, *, sources: list[str] | None = None) -> list[Passage]:
        question = clean_question(question, self.settings.max_question_chars)
        self.require_documents()
        return self.retriever.search(question, k or self.settings.k, sources=self.scope(sources))

    @property
    def chain(self):
        if self._chain is None:
            answer_llm = self._model("answer", ANSWER_TOKENS)
            self._chain = build_chain(
                lambda question, k, sources: self.retriever.search(question, k or self.settings.k, sources=sources),
                lambda question, passages: answering.select_evidence(
                    question, passages, self.vectors, self._count_tokens(answer_llm)),
                answering.gate,
                answer_llm=answer_llm,
                condense_llm=None if answer_llm is None else lambda: self._model("condense", CONDENSE_TOKENS),
            )
        return self._chain

    def _model(self, role: str, max_tokens: int):
        """The chat model for one role (answer, condense, check); each local role keeps its own llama.cpp context,
        so the fixed start of its prompt stays processed between questions."""
        if self._chat_model is not None:
            return self._chat_model
        from .llm import make_chat_model

        return make_chat_model(self.settings.llm, self.settings, max_tokens=max_tokens, role=role)

    @staticmethod
    def _count_tokens(llm):
        if llm is None:
            return None
        from .llm import count_tokens

        return lambda text: count_tokens(llm, text)

    @property
    def backend(self) -> str:
        return f"custom:{type(self._chat_model).__name__}" if self._chat_model else self.settings.llm

    def stream(self, question: str, *, history: list[dict] | None = None, k: int | None = None,
               sources: list[str] | None = None) -> Iterator[str | Evidence | Answer]:
        """Yields the best ``Evidence`` as soon as it is found, then pieces of the model's draft as they are
        generated, then the final ``Answer`` (the decision: assistant.answering). ``sources``: ask within the
        documents these patterns match (see ``scope``); None asks them all."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        self.require_documents()
        scope = self.scope(sources)
        timings: dict[str, float] = {}
        standalone, passages, blocked, evidence, draft, top = question, [], "", [], "", None
        pieces: list[tuple[str, list[float]]] = []  # the draft as streamed, with its tokens' log-probabilities
        uses_model = self.backend != "extractive"
        with self._lock if uses_model else contextlib.nullcontext():
            for key, value in stream_events(self.chain, question, history, k, scope):
                if key == "standalone":
                    standalone = value
                elif key == "passages":
                    passages = value
                    timings["retrieve"] = time.perf_counter() - started
                elif key == "blocked":
                    blocked = value
                elif key == "evidence":
                    evidence = value
                    timings["evidence"] = time.perf_counter() - started
                    if evidence:
                        yield answering.shown_evidence(evidence, passages)
                elif key == "draft" and value.content:
                    timings.setdefault("first_token", time.perf_counter() - started)
                    top = top or first_token_probabilities(value)
                    draft += value.content
                    pieces.append((value.content, token_logprobs(value)))
                    yield value.content
            if blocked:
                result = answering.refusal(passages, self.backend, blocked)
            elif not uses_model:
                result = answering.decide(standalone, passages, evidence, None, self.backend)
            else:
                parsed = drafts.parse_draft(draft, len(evidence), drafts.decline_probability(top),
                                            drafts.answer_confidence(pieces))
                result = answering.decide(standalone, passages, evidence, parsed, self.backend, self.check,
                                          lambda best: self.read(standalone, best))
        result.question = standalone
        timings["total"] = time.perf_counter() - started
        result.timings = timings
        yield result

    def warm_up(self) -> None:
        """Do now what the first question would wait for: load the embedder and the model, and process each model
        role's fixed prompt prefix (restored when an earlier process saved it: prefix_state), so a page's first
        answer is as quick as the ones after it."""
        self.vectors(["warm up"])
        if self.backend == "extractive":
            return
        with self._lock:
            warm(self._model("answer", ANSWER_TOKENS), "answer")
            warm(self._model("check", 1), "check")
            warm(self._model("condense", CONDENSE_TOKENS), "condense")  # its examples: a first follow-up took 3 s more

    def check(self, question: str, answer: str, quote: str) -> float | None:
        """The model's P(yes) that the quote states this answer to this question (None if it can't say)."""
        if self._checker is None:
            self._checker = build_check(self._model("check", 1))
        message = self._checker.invoke({"question": question, "answer": answer, "quote": quote})
        return drafts.yes_probability(first_token_probabilities(message))

    def read(self, question: str, evidence: list[answering.Scored]) -> drafts.Draft:
        """The model's short answer to ``question`` from ``evidence`` alone (the answer prompt, not streamed)."""
        if self._reader is None:
            self._reader = build_reader(self._model("answer", ANSWER_TOKENS))
        return drafts.parse_draft(self._reader.invoke({"evidence": evidence, "question": question}).content,
                                  len(evidence))

    def answer(self, question: str, *, history: list[dict] | None = None, k: int | None = None,
               sources: list[str] | None = None) -> Answer:
        for item in self.stream(question, history=history, k=k, sources=sources):
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


def answer(question: str, *, history: list[dict] | None = None, k: int | None = None,
           sources: list[str] | None = None, **settings) -> Answer:
    """Answer ``question`` from the indexed documents, with verified citations (settings as in ``Settings``);
    ``sources``: only within the documents these globs match (source path or file name)."""
    return _assistant(settings).answer(question, history=history, k=k, sources=sources)


def stream(question: str, *, history: list[dict] | None = None, k: int | None = None,
           sources: list[str] | None = None, **settings):
    return _assistant(settings).stream(question, history=history, k=k, sources=sources)
