"""`assistant eval`: run one suite, write metrics.json and report.md (plus a chart where one helps) to a folder.

Suites never touch the user's own index: the seed and injection suites index their corpus into a throw-away
folder unless ``--index`` names one, and the benchmarks keep theirs under ``<home>/bench-index/<suite>`` so a
second run does not embed the corpus again (``<suite>-<backend>`` with another embedder backend than the default;
its report goes to ``eval/reports/<suite>-<backend>``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from ..config import Settings, load_settings
from ..feedback import feedback_path
from . import feedback, injection, report, scifact, seed, squad2
from .judge import Judge

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO.parent / "shared" / "bench"  # the read-only benchmark data beside the project
SUITES = ("seed", "scifact", "squad2", "injection", "feedback")


def bench_name(suite: str, settings: Settings) -> str:
    """A suite's folder name: with an embedder other than the default one, its index and report get their own (an
    index refuses another embedder's queries, and the default one's report stays the reference)."""
    default = Settings().embed_backend
    return suite if settings.embed_backend == default else f"{suite}-{settings.embed_backend}"


def default_out(suite: str, settings: Settings) -> Path:
    return REPO / "eval" / "reports" / bench_name(suite, settings)


def _run(suite: str, settings: Settings, *, questions: Path | None, data: Path | None, limit: int | None,
         judge: Judge | None) -> dict:
    if suite == "seed":
        return seed.run(settings, questions_file=Path(questions or REPO / "eval" / "questions.yaml"),
                        corpus=Path(data or settings.seeds_dir), limit=limit, judge=judge)
    if suite == "injection":
        return injection.run(settings, data=Path(data or REPO / "eval" / "injection"), seeds=REPO / "seeds",
                             squad_passages=BENCH / "squad2" / "passages.jsonl", limit=limit)
    bench_data = Path(data or BENCH / suite)
    if not bench_data.is_dir():
        raise FileNotFoundError(f"no benchmark data at {bench_data} (give the folder with --data)")
    if suite == "scifact":
        return scifact.run(settings, data=bench_data, limit=limit)
    return squad2.run(settings, data=bench_data, limit=limit, judge=judge)


def run_suite(
    suite: str = "seed",
    *,
    questions: Path | None = None,
    data: Path | None = None,
    limit: int | None = None,
    out: Path | None = None,
    index_dir: Path | None = None,
    llm: str | None = None,
    judge: str | None = None,
    feedback_file: Path | None = None,
    user: str | None = None,
) -> Path:
    """Run ``suite`` and return the folder its report was written to; ``judge`` names an optional LLM
    ("provider:model") that scores faithfulness."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    if questions is not None and suite != "seed":
        raise ValueError("--questions applies to the seed suite only")
    if judge and suite in ("scifact", "injection", "feedback"):
        raise ValueError("--judge applies to the suites scored on answer faithfulness (seed, squad2)")
    if (feedback_file or user) and suite != "feedback":
        raise ValueError("--feedback and --user apply to the feedback suite only")
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    if suite == "feedback":
        return _run_feedback(feedback_file, limit=limit, out=out, index_dir=index_dir, llm=llm, user=user)
    # A local index folder always: an eval must not write its corpus into a configured Chroma server.
    settings = replace(load_settings(llm=llm), chroma_url="")
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as scratch:
        if index_dir is not None:
            folder = Path(index_dir)
        elif suite in ("seed", "injection"):
            folder = Path(scratch) / "index"
        else:
            folder = settings.home / "bench-index" / bench_name(suite, settings)
        metrics = _run(suite, replace(settings, index_dir=folder),
                       questions=questions, data=data, limit=limit,
                       judge=Judge.from_spec(judge, settings) if judge else None)
    metrics["started"] = started.isoformat(timespec="seconds")
    metrics["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    return _write(metrics, Path(out or default_out(suite, settings)), report.render)


def _write(metrics: dict, out: Path, render) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render(metrics, out), encoding="utf-8")
    return out


def _run_feedback(feedback_file: Path | None, *, limit: int | None, out: Path | None, index_dir: Path | None,
                  llm: str | None, user: str | None) -> Path:
    """Rated answers asked again against the user's own index (not a throw-away one: that is what was rated);
    the report is about the user's data, so it goes to ``$ASSISTANT_HOME/reports/feedback`` by default."""
    settings = load_settings(llm=llm, index_dir=index_dir)
    source = Path(feedback_file or feedback_path(settings.home))
    if not source.is_file():
        raise FileNotFoundError(f"no feedback yet at {source} (rate answers on the page, or give --feedback FILE)")
    started = datetime.now(timezone.utc)
    metrics = feedback.run(settings, feedback_file=source, limit=limit, user=user)
    metrics["started"] = started.isoformat(timespec="seconds")
    metrics["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    return _write(metrics, Path(out or settings.home / "reports" / "feedback"), lambda m, _: feedback.render(m))
