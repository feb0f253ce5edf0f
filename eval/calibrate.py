"""Measure the thresholds the pipeline decides with, instead of guessing them.

    python eval/calibrate.py [--squad N]      # writes eval/reports/calibration/{calibration.json,report.md}

For every question of the seed set (and a fixed SQuAD 2.0 sample) it records the relevance of the best retrieved
passage (cosine) and the best sentence's support (evidence.support_matrix), then reports, per threshold, how many
answerable questions would be answered and how many unanswerable ones refused:
- RELEVANCE_GATE (api.py): highest value that still lets >= 99 % of answerable questions through.
- ANSWER_THRESHOLD (extractive.py): best accuracy (answer answerable, refuse unanswerable) on the seed set.
- STRONG_EVIDENCE (extractive.py): lowest value no unanswerable seed question reaches.
- CLAIM_THRESHOLD (citations.py): highest value that keeps >= 98 % of true claims ("question + its gold answer",
  SQuAD) supported. The table beside it shows how poorly support alone tells them from "question + another answer
  from the same paragraph": that is what the grounding check (citations.grounded) and the LLM are for.
The chosen numbers are copied into the code by hand (with a pointer here), so a change is a reviewed diff.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant import Assistant, load_settings  # noqa: E402
from assistant.evaluation import seed, squad2  # noqa: E402
from assistant.evaluation.pipeline import read_jsonl, sync_with_progress  # noqa: E402
from assistant.evidence import passage_sentences, support_matrix  # noqa: E402

BENCH = REPO.parent / "shared" / "bench" / "squad2"
GRID = [round(x, 2) for x in np.arange(0.0, 1.0, 0.025)]


def question_scores(assistant: Assistant, question: str) -> dict:
    passages = assistant.retrieve(question)
    sentences = passage_sentences(passages)
    support = support_matrix([question], [s.text for s in sentences], assistant.index.embeddings)
    return {
        "relevance": max((p.relevance for p in passages), default=0.0),
        "support": float(support.max()) if support.size else 0.0,
    }


def sweep(rows: list[dict], key: str) -> list[dict]:
    table = []
    for t in GRID:
        answerable = [r for r in rows if r["answerable"]]
        unanswerable = [r for r in rows if not r["answerable"]]
        answered = sum(r[key] >= t for r in answerable)
        refused = sum(r[key] < t for r in unanswerable)
        table.append({
            "threshold": t,
            "answerable_passed": answered / max(len(answerable), 1),
            "unanswerable_refused": refused / max(len(unanswerable), 1),
            "accuracy": (answered + refused) / max(len(rows), 1),
        })
    return table


def claim_rows(assistant: Assistant, questions: list[dict], rng: random.Random) -> list[dict]:
    by_passage: dict[str, list[dict]] = {}
    for q in questions:
        by_passage.setdefault(q["passage_id"], []).append(q)
    rows = []
    for q in questions:
        others = [o for o in by_passage[q["passage_id"]] if o["answers"] and o["answers"][0] != q["answers"][0]]
        if not others:
            continue
        passages = assistant.retrieve(q["question"])
        evidence = [s.text for s in passage_sentences(passages)]
        claims = [f"{q['question']} {q['answers'][0]}", f"{q['question']} {rng.choice(others)['answers'][0]}"]
        support = support_matrix(claims, evidence, assistant.index.embeddings)
        if support.size:
            rows += [{"answerable": True, "support": float(support[0].max())},
                     {"answerable": False, "support": float(support[1].max())}]
    return rows


def pick(table: list[dict], rule) -> float:
    return rule(table)["threshold"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=int, default=200, help="SQuAD 2.0 questions to sample (0: skip)")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "reports" / "calibration")
    args = parser.parse_args()
    settings = replace(load_settings(llm="extractive"), chroma_url="")
    results: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        with Assistant(replace(settings, index_dir=Path(scratch) / "seed")) as assistant:
            assistant.ingest([REPO / "seeds"])
            seed_rows = [{"id": q.id, "answerable": q.answerable, **question_scores(assistant, q.question)}
                         for q in seed.load_questions(REPO / "eval" / "questions.yaml") if not q.history]
        squad_rows, claims = [], []
        if args.squad and BENCH.is_dir():
            with Assistant(replace(settings, index_dir=settings.home / "bench-index" / "squad2")) as assistant:
                sync_with_progress(assistant.index, squad2.load_passages(BENCH), squad2.ROOT, "index squad2")
                sample = squad2.sample_questions(read_jsonl(BENCH / "questions.jsonl"), args.squad)
                squad_rows = [{"id": q["id"], "answerable": not q["is_impossible"],
                               **question_scores(assistant, q["question"])} for q in sample]
                answerable = [q for q in read_jsonl(BENCH / "questions.jsonl") if not q["is_impossible"]]
                rng = random.Random(13)
                claims = claim_rows(assistant, rng.sample(answerable, min(args.squad, len(answerable))), rng)

    relevance = sweep(seed_rows + [r for r in squad_rows if r["answerable"]], "relevance")
    seed_support = sweep(seed_rows, "support")
    claim_table = sweep(claims, "support") if claims else []
    unanswerable_best = max((r["support"] for r in seed_rows if not r["answerable"]), default=1.0)
    results = {
        "RELEVANCE_GATE": pick(relevance, lambda t: [r for r in t if r["answerable_passed"] >= 0.99][-1]),
        "ANSWER_THRESHOLD": pick(seed_support, lambda t: max(t, key=lambda r: (r["accuracy"], -r["threshold"]))),
        "STRONG_EVIDENCE": min((t for t in GRID if t > unanswerable_best), default=1.0),
        "CLAIM_THRESHOLD": pick(claim_table, lambda t: [r for r in t if r["answerable_passed"] >= 0.98][-1])
        if claim_table else None,
        "tables": {"relevance": relevance, "seed_support": seed_support, "claims": claim_table},
        "questions": {"seed": seed_rows, "squad2": squad_rows},
        "squad2_support_at_answer_threshold": None,
    }
    if squad_rows:
        t = results["ANSWER_THRESHOLD"]
        results["squad2_support_at_answer_threshold"] = sweep(squad_rows, "support")[GRID.index(t)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(results, indent=2))
    (args.out / "report.md").write_text(render(results))
    print(render(results).split("\n## ")[0])
    return 0


def render(r: dict) -> str:
    lines = ["# Threshold calibration", "", "Reproduce: `python eval/calibrate.py` (seed set + SQuAD 2.0 sample).", ""]
    for name in ("RELEVANCE_GATE", "ANSWER_THRESHOLD", "STRONG_EVIDENCE", "CLAIM_THRESHOLD"):
        lines.append(f"- **{name}** = {r[name]}")
    if r["squad2_support_at_answer_threshold"]:
        s = r["squad2_support_at_answer_threshold"]
        lines.append(f"- On SQuAD 2.0 at ANSWER_THRESHOLD: {s['answerable_passed']:.0%} of answerable answered, "
                     f"{s['unanswerable_refused']:.0%} of unanswerable refused (on-topic unanswerables are hard "
                     "for a retrieval signal; the LLM and claim checks carry that part).")
    for name, table in r["tables"].items():
        if not table:
            continue
        lines += ["", f"## {name}", "", "| threshold | answerable passed | unanswerable refused | accuracy |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {row['threshold']} | {row['answerable_passed']:.2f} | {row['unanswerable_refused']:.2f} | "
                  f"{row['accuracy']:.2f} |" for row in table if 0.05 <= row["threshold"] <= 0.9]
    lines += ["", "## Seed questions", "", "| id | answerable | relevance | support |", "| --- | --- | --- | --- |"]
    lines += [f"| {q['id']} | {q['answerable']} | {q['relevance']:.3f} | {q['support']:.3f} |"
              for q in r["questions"]["seed"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
