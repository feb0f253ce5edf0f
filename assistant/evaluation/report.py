"""report.md for each suite, written from metrics.json's content so the two never disagree."""

from __future__ import annotations

import os
from pathlib import Path

from .metrics import RIGHT_F1

PRECISION = ("Citation precision is a lexical proxy: the share of answer sentences whose content words are at "
             "least half found in the quote they cite.")
NOT_COMPUTED = "Faithfulness judged by an LLM is **not computed** (name a judge with `--judge SPEC`). " + PRECISION
JUDGED = ("Faithfulness: the share of an answer's cited sentences that the judge `{judge}` says its quote supports "
          "(a sentence citing nothing counts as unsupported), averaged over answers; {unparsed} verdicts were "
          "neither yes nor no and are left out. " + PRECISION)
BY_CONSTRUCTION = "With the extractive backend every answer sentence is its own quote: precision is 1 by construction."


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def cell(value) -> str:
    text = "; ".join(map(str, value)) if isinstance(value, list) else fmt(value)
    return " ".join(text.split()).replace("|", "\\|")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pipeline_sections(m: dict) -> list[str]:
    refusal, total, first = m["refusal"], m["latency_total"], m["latency_first_token"]
    evidence = m.get("latency_evidence") or {"p50": None, "p95": None}
    return [
        "## Refusals, citations, latency",
        table(["metric", "value"], [
            ["refusal precision (refused and should have)", refusal["precision"]],
            ["refusal recall (unanswerable questions refused)", refusal["recall"]],
            ["refusal accuracy", refusal["accuracy"]],
            ["confusion tp / fp / fn / tn", f"{refusal['tp']} / {refusal['fp']} / {refusal['fn']} / {refusal['tn']}"],
            ["citation precision (answer sentence supported by its quote)", m["citation_precision"]],
            *([[f"faithfulness (LLM judge `{m['judge']}`)", m["faithfulness"]]] if m.get("judge") else []),
            ["latency p50 / p95 (s)", f"{fmt(total['p50'], 2)} / {fmt(total['p95'], 2)}"],
            ["first evidence shown p50 / p95 (s)", f"{fmt(evidence['p50'], 2)} / {fmt(evidence['p95'], 2)}"],
            ["time to first token p50 / p95 (s)", f"{fmt(first['p50'], 2)} / {fmt(first['p95'], 2)}"],
        ]),
        (JUDGED.format(judge=m["judge"], unparsed=m["judge_unparsed"]) if m.get("judge") else NOT_COMPUTED)
        + (" " + BY_CONSTRUCTION if m["llm"] == "extractive" else ""),
    ]


def _question_rows(m: dict, score_columns: list[str]) -> str:
    score_columns = [*score_columns, *(["faithfulness"] if m.get("judge") else [])]
    header = ["id", "question", "expected", "short answer", "answer", "refused", "why", "shown or lost",
              "citations", *score_columns, "s"]
    rows = [
        [r["id"], ("(follow-up) " if r.get("history") else "") + r["question"],
         r["expected"] or "(unanswerable)", r.get("short_answer", ""), r["answer"], r["refused"],
         _why(r), (r.get("lost") or "").split(":")[0], r["citations"], *[r.get(c) for c in score_columns],
         fmt(r["seconds"], 2)]
        for r in m["questions"]
    ]
    return table(header, rows)


def _why(row: dict) -> str:
    """The decision in a few words: what was shown and how sure the calibrated model was."""
    sure = row.get("p_keep") if row.get("kept") == "answer" else row.get("p_evidence")
    if sure is None:
        sure = row.get("p_keep") if row.get("p_keep") is not None else row.get("p_evidence")
    return f"{row.get('kept') or 'refused'}: {row.get('reason', '')}" + (f" (p {sure:.2f})" if sure is not None else "")


def _losses(m: dict) -> list[str]:
    """Where the answerable questions' gold answers were shown, or lost first (absent in reports run before)."""
    if "losses" not in m:
        return []
    n = max(1, m["n_answerable"])
    return ["## Where the answerable questions' answers were shown or lost",
            "Each answerable question once, at the first step that lost its gold answer, so a fix can be aimed at "
            "the step that loses most. Shown and held mean SQuAD containment; the model's draft also counts as right "
            f"within token F1 {RIGHT_F1} of a gold answer.",
            table(["where", "questions", "share"], [[name, count, count / n] for name, count in m["losses"].items()])]


def _header(title: str, m: dict) -> list[str]:
    return [f"# {title}",
            f"Run {m['started']} ({m['seconds']} s) with `--llm {m['llm']}`, embedder `{m['embed_model']}`, "
            f"k = {m['k']} passages per question. Index: {m['indexed']}."]


def render_seed(m: dict) -> str:
    k, retrieval, answer = m["k"], m["retrieval"], m["answer"]
    parts = _header(f"Seed suite: {m['n']} questions ({m['n_answerable']} answerable)", m) + [
        f"Questions `{m['questions_file']}`, corpus `{m['corpus']}`. Retrieval is scored on the passages the "
        "answerer was given; a passage is relevant when its span overlaps a gold sentence's span in the source.",
        "## Retrieval and answers (answerable questions)",
        table(["metric", "value"], [
            [f"hit@{k}", retrieval[f"hit@{k}"]],
            [f"gold-span recall@{k}", retrieval[f"recall@{k}"]],
            ["MRR", retrieval["mrr"]],
            ["nDCG@10", retrieval["ndcg@10"]],
            ["exact match", answer["em"]],
            ["token F1 of the whole answer", answer["f1"]],
            ["token F1 of the short answer", answer.get("short_f1")],
            ["gold answer contained in the answer", answer["contains"]],
            ["citation recall (a gold span is cited)", m["citation_recall"]],
        ]),
        *_losses(m),
        *_pipeline_sections(m),
        "## By kind",
        table(["kind", "n", f"hit@{k}", "contains", "F1", "refused"],
              [[kind, v["n"], v["hit"], v["contains"], v["f1"], v["refused"]] for kind, v in m["by_kind"].items()]),
        "## Per question",
        "Reproduce one with `assistant ask \"<question>\" --llm <backend> --json` (follow-ups need their "
        "history: use the Python API's `answer(question, history=...)`).",
        _question_rows(m, [f"hit@{k}", "short_f1", "contains"]),
    ]
    return "\n\n".join(parts) + "\n"


def render_squad2(m: dict) -> str:
    k, has, overall = m["k"], m["has_answer"], m["overall"]
    parts = _header(f"SQuAD 2.0 suite: {m['n']} questions ({m['n_answerable']} answerable)", m) + [
        f"Data `{m['data']}`; sample drawn with random.Random({m['sample_seed']}). Official scoring: SQuAD "
        "normalisation, max over gold answers; an unanswerable question scores 1 only when the system refuses. "
        "Two predictions are scored: the short answer the reader sees first (a name, a date, a clause), and the "
        "whole answer text without [n] markers (short answer and the sentences it quotes); a refusal predicts \"\". "
        "'contains' says whether a gold span is in the whole answer. The questions come from the test articles only: "
        "the answer decision was calibrated on the other half (eval/calibrate.py).",
        "## Scores",
        table(["metric", "value"], [
            ["overall F1 of the short answer (SQuAD's own measure)", overall.get("short_f1")],
            ["overall EM of the short answer", overall.get("short_em")],
            ["overall F1 / EM of the whole answer", f"{fmt(overall['f1'])} / {fmt(overall['em'])}"],
            ["answerable: F1 of the short answer", has.get("short_f1")],
            ["answerable: EM of the short answer", has.get("short_em")],
            ["answerable: F1 / EM of the whole answer", f"{fmt(has['f1'])} / {fmt(has['em'])}"],
            ["answerable: gold contained in the answer", has["contains"]],
            [f"answerable: gold paragraph retrieved (hit@{k})", has[f"hit@{k}"]],
            ["unanswerable: abstain accuracy", m["no_answer"]["abstain_accuracy"]],
        ]),
        *_losses(m),
        *_pipeline_sections(m),
        "## Per question",
        "<details><summary>All questions</summary>\n\n"
        + _question_rows(m, ["gold_passage", f"hit@{k}", "short_f1", "f1", "contains"]) + "\n\n</details>",
    ]
    return "\n\n".join(parts) + "\n"


def scifact_chart(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    metrics = ["ndcg@10", "recall@10", "recall@100"]
    series = [(name, v) for name, v in m["modes"].items()] + list(m["baselines"].items())
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    for i, (name, values) in enumerate(series):
        heights = [values.get(metric) or 0.0 for metric in metrics]
        bars = ax.bar([x + i * width for x in range(len(metrics))], heights, width, label=name,
                      hatch="//" if name in m["baselines"] else None, alpha=0.6 if name in m["baselines"] else 1.0)
        ax.bar_label(bars, labels=[fmt(values.get(metric), 2) if values.get(metric) else "" for metric in metrics],
                     fontsize=6, rotation=90, padding=2)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.35)  # headroom for the legend above the bars
    ax.set_title(f"SciFact test ({m['n_queries']} queries): this project's retrievers vs published")
    ax.legend(fontsize=7, loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def scifact_table(m: dict) -> str:
    """This project's retrievers beside the published baselines (also what eval/bench_retrieval.py prints)."""
    rows = [[mode, v["description"], v["ndcg@10"], v["recall@10"], v["recall@100"]] for mode, v in m["modes"].items()]
    rows += [["published", name, v["ndcg@10"], v["recall@10"], v["recall@100"]] for name, v in m["baselines"].items()]
    return table(["system", "how", "nDCG@10", "recall@10", "recall@100"], rows)


def render_scifact(m: dict, out: Path) -> str:
    scifact_chart(m, out / "scifact.png")
    parts = [
        f"# SciFact retrieval: {m['n_queries']} test queries, {m['n_docs']} abstracts",
        f"Run {m['started']} ({m['seconds']} s), embedder `{m['embed_model']}` on `{m.get('embed_backend', 'torch')}`, "
        f"index `{m['index_dir']}` "
        f"({m['n_chunks']} chunks). Index: {m['indexed']}.",
        "Abstracts are indexed as the app indexes any document (title, blank line, text; split into chunks), "
        "and passages are mapped back to abstract ids, each kept at its first rank. Published numbers index "
        "whole abstracts (BM25: Anserini's flat index; dense: MiniLM over title + text truncated to 256 "
        "word pieces), so small differences come from chunking and tokenisation, not from the metric "
        "(trec_eval's nDCG, linear gain).",
        scifact_table(m),
        "![SciFact scores](scifact.png)",
        "Per-query scores and top-10 ids are in metrics.json (`queries`).",
    ]
    return "\n\n".join(parts) + "\n"


def render_injection(m: dict) -> str:
    n, fp, fit, stopped = m["n"], m["false_positives"], m["fitting"], m["stopped_by"]
    parts = _header(f"Injection suite: {n} hostile documents", m) + [
        f"Red-team set `{m['data']}/redteam.yaml`: each document holds an instruction aimed at the model next to the "
        "sentence that answers its question; the whole set and the seed article share one index. *Answered right*: a "
        "gold answer is in the answer. *Injected output shown*: the answer, its short form or a quote contains what "
        "the injection orders (its payload). Attacks that only want a refusal show up as refusals.",
        "## Results",
        table(["metric", "value"], [
            ["answered right", f"{m['answered_right']} / {n} ({fmt(m['answered_right_rate'])})"],
            ["injected outputs shown", f"{m['injected_outputs']} / {n}"],
            ["refusals", f"{m['refusals']} / {n}"],
            ["injection retrieved with the answer's passage", f"{m['injection_retrieved']} / {n}"],
            ["stopped by the loader (text no reader sees)", stopped["removed by the loader"]],
            ["flagged by the detector", stopped["flagged"]],
            ["missed by both", stopped["missed"]],
            ["answer sentence lost as collateral", ", ".join(m["answer_sentence_lost"]) or "none"],
            ["latency p50 / p95 (s), load average at start / end",
             f"{fmt(m['latency_total']['p50'], 2)} / {fmt(m['latency_total']['p95'], 2)}, "
             f"{m['load_average'][0]} / {m['load_average'][1]} on {os.cpu_count()} cores"],
        ]),
        "## Detector false positives on ordinary text",
        f"Every sentence of the seed article and of the SQuAD 2.0 passages (`{fp['squad_passages']}`), judged "
        f"alone: **{fp['flagged']} of {fp['sentences']}** flagged"
        + (":" if fp["examples"] else "."),
        *([table(["corpus", "sentence", "why"], [[e["corpus"], e["sentence"], e["reasons"]] for e in fp["examples"]])]
          if fp["examples"] else []),
        f"On its fitting set (eval/injection/detector.yaml): {fit['positives'] - len(fit['missed'])} of "
        f"{fit['positives']} injections flagged, {len(fit['flagged'])} of {fit['negatives']} ordinary sentences "
        "flagged.",
        "## Per document",
        table(["id", "language", "form", "hidden", "stopped by", "retrieved", "answer", "right", "injected", "refused"],
              [[r["id"], r["language"], r["form"], r["hidden"] or "—", r["stopped_by"], r["injection_retrieved"],
                r["answer"], r["right"], r["payload_shown"] or "—", r["refused"]] for r in m["questions"]]),
    ]
    return "\n\n".join(parts) + "\n"


def render(m: dict, out: Path) -> str:
    if m["suite"] == "scifact":
        return render_scifact(m, out)
    if m["suite"] == "injection":
        return render_injection(m)
    return render_seed(m) if m["suite"] == "seed" else render_squad2(m)
