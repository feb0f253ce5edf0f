"""SQuAD 2.0 (18 dev articles) through the full pipeline: retrieval over all 614 paragraphs, then the answerer.

Scored as the official script does: EM and token F1 after SQuAD normalisation, max over the gold answers; an
unanswerable question scores 1 only when the system abstains (here: refuses). Our answers are cited sentences,
not short spans, so EM is harsh by design; "contains" (the gold span appears in the answer) is reported beside it.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from ..api import Assistant
from ..config import Settings
from ..documents import SourceDocument
from ..types import Answer
from .judge import Judge
from .metrics import contains_gold, exact_match, hit_at_k, token_f1
from .pipeline import (
    answer_row, losses, mean, pipeline_summary, prediction, progress, read_jsonl, sync_with_progress, where_lost,
)

ROOT = "bench:squad2"
SAMPLE = 300  # questions from the test articles, half answerable; --limit asks the first N of the same sample
SEED = 13


def load_passages(data: Path) -> list[SourceDocument]:
    return [
        SourceDocument(source=str(row["_id"]), title=str(row.get("title") or row["_id"]), text=str(row["text"]),
                       sha256=hashlib.sha256(str(row["text"]).encode()).hexdigest(), root=ROOT)
        for row in read_jsonl(data / "passages.jsonl")
    ]


def article(question: dict) -> str:
    return str(question["passage_id"]).rsplit("#", 1)[0]


def split_articles(questions: list[dict]) -> tuple[list[dict], list[dict]]:
    """(calibration, test): articles alternate in title order. eval/calibrate.py fits the answer decision on the
    first half only; this suite asks the second, so no threshold has seen a test article."""
    titles = sorted({article(q) for q in questions})
    test = set(titles[1::2])
    return [q for q in questions if article(q) not in test], [q for q in questions if article(q) in test]


def sample_questions(questions: list[dict], n: int, seed: int = SEED) -> list[dict]:
    """A fixed sample of ``n``: half unanswerable (rounded down), in a shuffled but reproducible order."""
    rng = random.Random(seed)
    answerable = [q for q in questions if not q["is_impossible"]]
    impossible = [q for q in questions if q["is_impossible"]]
    n_impossible = min(n // 2, len(impossible))
    chosen = rng.sample(answerable, min(n - n_impossible, len(answerable))) + rng.sample(impossible, n_impossible)
    rng.shuffle(chosen)
    return chosen


def extended_sample(questions: list[dict], n: int, first: int, seed: int = SEED) -> list[dict]:
    """The first ``n`` of one fixed order of ``questions``, so a larger ``n`` adds to the questions a smaller one
    took: ``sample_questions``' ``first``, then the rest in shuffled pairs of one answerable and one unanswerable
    question (every prefix past ``first`` stays half unanswerable)."""
    head = sample_questions(questions, first, seed=seed)
    taken = {q["id"] for q in head}
    answerable = [q for q in questions if q["id"] not in taken and not q["is_impossible"]]
    impossible = [q for q in questions if q["id"] not in taken and q["is_impossible"]]
    rng = random.Random(seed)
    rng.shuffle(answerable)
    rng.shuffle(impossible)
    return (head + [q for pair in zip(answerable, impossible) for q in pair])[:n]


def score(q: dict, row: dict, answer: Answer, k: int) -> dict:
    guess = prediction(answer)
    golds = [] if q["is_impossible"] else list(q["answers"])
    short = "" if answer.refused else answer.short_answer
    return {
        **row,
        "em": exact_match(guess, golds),
        "f1": token_f1(guess, golds),
        # what a reader sees first: the short answer (SQuAD's own scoring; a refusal is the empty answer)
        "short_em": exact_match(short, golds),
        "short_f1": token_f1(short, golds),
        "contains": None if q["is_impossible"] else float(contains_gold(guess, golds)),
        "lost": None if q["is_impossible"] else where_lost(answer, golds),
        f"hit@{k}": hit_at_k([p.source for p in answer.passages], {q["passage_id"]}, k),
    }


def run(settings: Settings, *, data: Path, limit: int | None, judge: Judge | None = None) -> dict:
    docs = load_passages(data)
    questions = sample_questions(split_articles(read_jsonl(data / "questions.jsonl"))[1], SAMPLE)[:limit]
    assistant = Assistant(settings)
    sync = sync_with_progress(assistant.index, docs, ROOT, "index squad2")
    k = settings.k
    rows = []
    for q in progress(questions, "squad2"):
        answer = assistant.answer(q["question"])  # via Assistant.stream
        row = {"id": q["id"], "kind": "unanswerable" if q["is_impossible"] else "answerable",
               "question": q["question"], "answerable": not q["is_impossible"], "expected": sorted(set(q["answers"])),
               "gold_passage": q["passage_id"], **answer_row(answer, judge)}
        rows.append(score(q, row, answer, k))
    has_answer = [r for r in rows if r["answerable"]]
    no_answer = [r for r in rows if not r["answerable"]]
    return {
        "suite": "squad2",
        "data": str(data),
        "index_dir": str(settings.index_dir),
        "indexed": sync.summary(),
        "llm": settings.llm,
        "embed_model": settings.embed_model,
        "k": k,
        "sample_seed": SEED,
        "n": len(rows),
        "n_answerable": len(has_answer),
        "overall": {"em": mean(r["em"] for r in rows), "f1": mean(r["f1"] for r in rows),
                    "short_em": mean(r["short_em"] for r in rows), "short_f1": mean(r["short_f1"] for r in rows)},
        "has_answer": {"em": mean(r["em"] for r in has_answer), "f1": mean(r["f1"] for r in has_answer),
                       "short_em": mean(r["short_em"] for r in has_answer),
                       "short_f1": mean(r["short_f1"] for r in has_answer),
                       "contains": mean(r["contains"] for r in has_answer),
                       f"hit@{k}": mean(r[f"hit@{k}"] for r in has_answer)},
        "no_answer": {"abstain_accuracy": mean(r["em"] for r in no_answer)},
        "losses": losses(has_answer),
        **pipeline_summary(rows, [not r["answerable"] for r in rows], judge),
        "questions": rows,
    }
