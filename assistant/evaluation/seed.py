"""The seed suite: a question file (eval/questions.yaml format) asked through the full pipeline, scored on gold spans.

Gold passages are sentences quoted from the source, not chunk ids: each is found in the indexed text of its
source to get a character span, and a retrieved passage is relevant when its span overlaps one. That survives
re-chunking, so the question file never goes stale when the splitter changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..api import Assistant
from ..config import Settings
from ..documents import load_file
from ..store import Index
from ..types import Answer, Passage
from .judge import Judge
from .metrics import (
    Span,
    citation_recall,
    contains_gold,
    exact_match,
    hit_at_k,
    ndcg_at_k,
    reciprocal_rank,
    token_f1,
)
from .pipeline import answer_row, losses, mean, pipeline_summary, prediction, progress, where_lost

NDCG_K = 10


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    history: list[dict] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    answerable: bool = True
    gold: list[dict] = field(default_factory=list)  # [{source: file name, text: verbatim quote}]
    kind: str = ""


def load_questions(path: Path) -> list[Question]:
    items = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{path}: expected a YAML list of questions (see eval/questions.yaml)")
    questions = []
    for n, item in enumerate(items, start=1):
        if not item.get("id") or not item.get("question"):
            raise ValueError(f"{path}: question #{n} needs an id and a question")
        questions.append(Question(
            id=str(item["id"]),
            question=str(item["question"]),
            history=list(item.get("history") or []),
            answers=[str(a) for a in item.get("answers") or []],  # YAML reads an answer like 2013 as a number
            answerable=bool(item.get("answerable", True)),
            gold=list(item.get("gold") or []),
            kind=str(item.get("kind") or ""),
        ))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: question ids repeat")
    return questions


def find_span(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` stands in ``text``, tolerating different whitespace (PDF and HTML text re-flow lines)."""
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    match = re.search(pattern, text) if pattern else None
    return (match.start(), match.end()) if match else None


def resolve_source(name: str, sources: list[str]) -> str:
    """The indexed source a gold file name refers to: equal, or ending in ``/name``."""
    matches = [s for s in sources if s == name or s.endswith("/" + name)]
    if len(matches) != 1:
        found = "is not in the index" if not matches else f"matches several sources: {', '.join(matches)}"
        raise ValueError(f"gold source {name!r} {found}")
    return matches[0]


def gold_spans(index: Index, questions: list[Question]) -> dict[str, list[Span]]:
    """Each gold quote's span in the text passages' offsets refer to: the source file as ``load_file`` reads it."""
    sources = list(index.committed())
    texts: dict[str, str] = {}
    spans: dict[str, list[Span]] = {}
    for q in questions:
        spans[q.id] = []
        for gold in q.gold:
            source = resolve_source(str(gold["source"]), sources)
            if source not in texts:
                texts[source] = load_file(Path(source)).text
            where = find_span(str(gold["text"]), texts[source])
            if where is None:
                raise ValueError(f"question {q.id}: gold text not found in {source}: {str(gold['text'])[:80]!r}")
            spans[q.id].append((source, *where))
    return spans


def _overlaps(passage: Passage, span: Span) -> bool:
    return passage.source == span[0] and passage.start < span[2] and span[1] < passage.end


def retrieval_scores(passages: list[Passage], spans: list[Span], k: int) -> dict[str, float | None]:
    """hit@k, span recall@k, reciprocal rank and nDCG@10 of the ranked passages against the gold spans."""
    relevant = ["relevant" if any(_overlaps(p, s) for s in spans) else p.chunk_id for p in passages]
    # For nDCG each passage stands for the first gold span it covers that no better-ranked passage covered,
    # so a passage is credited once and ranks stay as retrieved.
    credited: list[str] = []
    for p in passages:
        fresh = [f"gold{j}" for j, s in enumerate(spans) if _overlaps(p, s) and f"gold{j}" not in credited]
        credited.append(fresh[0] if fresh else p.chunk_id)
    gold_ids = {f"gold{j}": 1 for j in range(len(spans))}
    return {
        f"hit@{k}": hit_at_k(relevant, {"relevant"} if spans else set(), k),
        f"recall@{k}": citation_recall([(p.source, p.start, p.end) for p in passages[:k]], spans),
        "mrr": reciprocal_rank(relevant, {"relevant"} if spans else set()),
        f"ndcg@{NDCG_K}": ndcg_at_k(credited, gold_ids, NDCG_K),
    }


def score(q: Question, row: dict, answer: Answer, spans: list[Span], k: int) -> dict:
    guess = prediction(answer)
    scored = {**row, **retrieval_scores(answer.passages, spans, k)}
    if q.answerable:
        short = "" if answer.refused else answer.short_answer
        scored.update(
            em=exact_match(guess, q.answers) if q.answers else None,
            f1=token_f1(guess, q.answers) if q.answers else None,
            short_f1=token_f1(short, q.answers) if q.answers else None,
            contains=float(contains_gold(guess, q.answers)) if q.answers else None,
            lost=where_lost(answer, q.answers) if q.answers else None,
            citation_recall=citation_recall([(c.source, c.start, c.end) for c in answer.citations], spans),
        )
    return scored


def run(settings: Settings, *, questions_file: Path, corpus: Path, limit: int | None,
        judge: Judge | None = None) -> dict:
    questions = load_questions(questions_file)[:limit]
    assistant = Assistant(settings)
    sync = assistant.ingest([corpus])
    spans = gold_spans(assistant.index, questions)
    k = settings.k
    rows = []
    for q in progress(questions, "seed"):
        answer = assistant.answer(q.question, history=q.history)  # via Assistant.stream
        row = {"id": q.id, "kind": q.kind, "question": q.question, "history": bool(q.history),
               "answerable": q.answerable, "expected": q.answers}
        rows.append(score(q, {**row, **answer_row(answer, judge)}, answer, spans[q.id], k))
    answerable = [r for r in rows if r["answerable"]]
    by_kind = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        of_kind = [r for r in rows if r["kind"] == kind]
        by_kind[kind] = {
            "n": len(of_kind),
            "hit": mean(r[f"hit@{k}"] for r in of_kind),
            "contains": mean(r.get("contains") for r in of_kind),
            "f1": mean(r.get("f1") for r in of_kind),
            "refused": mean(float(r["refused"]) for r in of_kind),
        }
    return {
        "suite": "seed",
        "questions_file": str(questions_file),
        "corpus": str(corpus),
        "indexed": sync.summary(),
        "llm": settings.llm,
        "embed_model": settings.embed_model,
        "k": k,
        "n": len(rows),
        "n_answerable": len(answerable),
        "retrieval": {name: mean(r[name] for r in answerable)
                      for name in (f"hit@{k}", f"recall@{k}", "mrr", f"ndcg@{NDCG_K}")},
        "answer": {name: mean(r[name] for r in answerable) for name in ("em", "f1", "contains", "short_f1")},
        "citation_recall": mean(r["citation_recall"] for r in answerable),
        "losses": losses(answerable),
        **pipeline_summary(rows, [not r["answerable"] for r in rows], judge),
        "by_kind": by_kind,
        "questions": rows,
    }
