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
from .metrics import citation_precision, content_tokens, latency_summary, refusal_scores

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
