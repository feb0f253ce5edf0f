"""What the suites share: progress bars, asking through the real pipeline, scoring answers, bench corpora."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from ..documents import SourceDocument
from ..store import Index, SyncReport
from ..types import Answer
from .judge import Judge
from .metrics import (
    citation_precision, contains_gold, content_tokens, latency_summary, refusal_scores, right_short_answer,
)

_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
# A sentence up to its markers ("[1]", "[1, 2]" or "[1][2]"); they stand before the closing punctuation
# (citations.with_marker).
_MARKED_SENTENCE = re.compile(r"(?P<sentence>[^\[]*?)(?P<markers>(?:\[\d+(?:\s*,\s*\d+)*\])+)[.!?\"'”’]*")


def progress(items: Sequence, desc: str) -> tqdm:
    return tqdm(items, desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def sync_with_progress(index: Index, docs: Sequence[SourceDocument], root: str, desc: str) -> SyncReport:
    """Index in-memory documents; ``root`` marks them as one corpus, so documents dropped from it are removed."""
    bar = tqdm(total=len(docs), desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True)

    def update(done: int, _total: int, note: str) -> None:
        bar.n = done
        bar.set_postfix_str(note[-50:], refresh=False)
        bar.refresh()

    try:
        return index.sync_documents(docs, roots=[root], progress=update)
    finally:
        bar.close()


def prediction(answer: Answer) -> str:
    """The answer as SQuAD scores it: text without [n] markers or the quotation marks around quotes (typographic
    marks SQuAD's normalisation would leave glued to the first and last words); a refusal predicts no answer."""
    if answer.refused:
        return ""
    return " ".join(_MARKERS.sub("", answer.text).replace("\u201c", " ").replace("\u201d", " ").split())


def cited_pairs(answer: Answer) -> list[tuple[str, str]]:
    """(answer sentence, the quote(s) it cites); a trailing claim with no marker is paired with nothing."""
    quotes = {c.n: c.quote for c in answer.citations}
    pairs: list[tuple[str, str]] = []
    end = 0
    for match in _MARKED_SENTENCE.finditer(answer.text):
        numbers = [int(n) for n in re.findall(r"\d+", match["markers"])]
        pairs.append((match["sentence"].strip(), " ".join(quotes.get(n, "") for n in numbers)))
        end = match.end()
    if content_tokens(answer.text[end:]):
        pairs.append((answer.text[end:].strip(), ""))
    return pairs


# Where an answerable question's gold answer was shown, or the first step of the answer path that lost it.
LOSSES = (
    "shown: the model's answer holds it",
    "shown: the best evidence holds it",
    "lost in retrieval: no retrieved passage holds it word for word",
    "lost at a gate: refused before any sentence was weighed",
    "lost in evidence selection: no sentence the model read holds it",
    "lost by the model: it found no answer",
    "lost by the model: its answer is wrong",
    "lost in the decision: a right answer refused or replaced",
)


def where_lost(answer: Answer, golds: Sequence[str]) -> str:
    """One of LOSSES for an answerable question: what a failure's fix has to change. Shown and held mean SQuAD
    containment, as "gold in answer" counts; the model's draft is right also when close to a gold answer."""
    decision = answer.decision or {}
    if not answer.refused and contains_gold(prediction(answer), golds):
        return LOSSES[1] if decision.get("kept") == "evidence" else LOSSES[0]
    if not any(contains_gold(p.text, golds) for p in answer.passages):
        return LOSSES[2]
    if not decision.get("signals"):
        return LOSSES[3]
    if not any(contains_gold(text, golds) for text in decision.get("evidence", [])):
        return LOSSES[4]
    drafted = decision.get("draft", "")
    if answer.backend.startswith("extractive") or right_short_answer(drafted, golds):
        return LOSSES[7]
    return LOSSES[6] if drafted else LOSSES[5]


def losses(rows: Sequence[dict]) -> dict[str, int]:
    """How many answerable rows each of LOSSES names (rows carry ``lost``)."""
    return {name: sum(r.get("lost") == name for r in rows) for name in LOSSES}


def answer_row(answer: Answer, judge: Judge | None = None) -> dict:
    """The per-question facts every pipeline suite keeps (enough to read a failure without rerunning it)."""
    pairs = [] if answer.refused else cited_pairs(answer)
    judged = {} if judge is None else judge.score(pairs)
    decision = answer.decision or {}
    return {
        "answer": answer.text,
        "short_answer": answer.short_answer,
        "refused": answer.refused,
        "kept": decision.get("kept", ""),
        "reason": decision.get("reason", ""),
        "p_keep": decision.get("p_keep"),
        "p_evidence": decision.get("p_evidence"),
        "draft": decision.get("draft", ""),
        "top": decision.get("top", ""),
        "signals": decision.get("signals", {}),
        "backend": answer.backend,
        "standalone_question": answer.question,
        "citations": [f"[{c.n}] {c.source}@{c.start}-{c.end}" for c in answer.citations],
        "citation_precision": citation_precision(pairs),
        "passages": [f"{p.source}@{p.start}-{p.end} rel={p.relevance:.3f}" for p in answer.passages],
        "unsupported": answer.unsupported,
        "seconds": answer.timings.get("total"),
        "first_token": answer.timings.get("first_token"),
        "evidence_seconds": answer.timings.get("evidence"),
        **judged,
    }


def mean(values: Iterable[float | None]) -> float | None:
    """Average of the defined values (None means undefined for that question, not zero)."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def pipeline_summary(rows: Sequence[dict], should_refuse: Sequence[bool], judge: Judge | None = None) -> dict:
    """Refusal, citation precision, latency (and the judge's faithfulness) over the rows of ``answer_row``."""
    judged = {} if judge is None else {
        "judge": judge.spec,
        "faithfulness": mean(r["faithfulness"] for r in rows),
        "judge_unparsed": sum(r["judge_unparsed"] for r in rows),
    }
    return {
        "refusal": refusal_scores(list(should_refuse), [r["refused"] for r in rows]),
        "citation_precision": mean(r["citation_precision"] for r in rows),
        "latency_total": latency_summary([r["seconds"] for r in rows if r["seconds"] is not None]),
        "latency_first_token": latency_summary([r["first_token"] for r in rows if r["first_token"] is not None]),
        "latency_evidence": latency_summary([r["evidence_seconds"] for r in rows if r["evidence_seconds"] is not None]),
        **judged,
    }
