"""Scale: an index of N chunks, measured in fresh worker processes. Writes <out>/metrics.json and report.md
(default out: eval/reports/scale/<N>).

    python eval/bench_scale.py --chunks N [--out DIR] [--queries 100] [--embed-backend torch|onnx-int8]
                               [--keep DIR] [--compare-bm25s]

The index is built without embedding (bench_latency.scaled_rows): the real SciFact chunks and vectors of the
SciFact benchmark index (<home>/bench-index/scifact, built by `assistant eval --suite scifact`), then copies of
whole documents with ~10 % of adjacent word pairs swapped and Gaussian noise on each vector, as separate documents,
until N chunks; the lexical index is built as a sync's writer builds it. --keep DIR builds into DIR and reuses it
on the next run (building 1M chunks takes most of an hour).

Then, each in a new Python process started by this script (`--worker`):
  cold_start_s           process start -> Assistant opened -> first Assistant.retrieve answered (imports included)
  hybrid_p50_ms/p95_ms   Assistant.retrieve (k=5; dense + BM25, fused) over SciFact test queries, after the first
  rss_mb                 the worker's resident memory after its first search
  update_after_ingest_s  this process ingests one new document (Index.sync_documents) while the worker runs; then
                         the worker's next retrieve, which catches its lexical index up, timed; it must find the
                         document
  disk_mb                the index folder (Chroma + lexical.sqlite3)
--compare-bm25s adds the alternative that was measured before choosing FTS5: a bm25s index of the same chunks
saved to disk, loaded with mmap in a fresh process (load, first query, p50), and its rebuild (bm25s has no
incremental update).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

STARTED = time.perf_counter()  # before the heavy imports: a worker's cold start counts them

from assistant.config import load_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "scifact"

QUESTION = "When was the Varnholm lighthouse relit after the storm broke its lens?"
NEW_DOC = ("# Harbour log\n\nThe Varnholm lighthouse was relit on 3 March after a storm broke its lens. The keeper "
           "logged the repair in the harbour book.\n")


def load_average() -> float:
    return round(os.getloadavg()[0], 2)  # as bench_ingest's; not imported from there, so workers start light


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


# --- the worker (a fresh process) ----------------------------------------------------------------------------


def worker(index_dir: Path, queries: list[str]) -> None:
    from assistant.api import Assistant

    settings = replace(load_settings(), chroma_url="", index_dir=index_dir, home=index_dir / "home", llm="extractive")
    assistant = Assistant(settings)
    assistant.retrieve(queries[0])
    say(cold_start_s=time.perf_counter() - STARTED, rss_mb=rss_mb(), load=load_average())
    times = []
    for query in queries[1:]:
        started = time.perf_counter()
        assistant.retrieve(query)
        times.append(time.perf_counter() - started)
    say(hybrid_p50_ms=1000 * percentile(times, 50), hybrid_p95_ms=1000 * percentile(times, 95),
        queries=len(times), load=load_average())
    sys.stdin.readline()  # the parent ingests a document, then says go
    started = time.perf_counter()
    passages = assistant.retrieve(QUESTION)
    say(update_after_ingest_s=time.perf_counter() - started, found=any("Varnholm" in p.text for p in passages),
        load=load_average(), rss_after_mb=rss_mb())


def bm25s_worker(folder: Path, queries: list[str]) -> None:
    import bm25s

    from assistant.lexical import tokenize

    started = time.perf_counter()
    model = bm25s.BM25.load(str(folder), mmap=True)
    load_s = time.perf_counter() - started

    def search(query: str):
        terms = [t for t in tokenize([query])[0] if t in model.vocab_dict]
        return model.retrieve([terms], k=100, show_progress=False, n_threads=1) if terms else None

    search(queries[0])
    first = time.perf_counter() - STARTED
    times = []
    for query in queries[1:]:
        t = time.perf_counter()
        search(query)
        times.append(time.perf_counter() - t)
    say(load_s=load_s, cold_start_s=first, p50_ms=1000 * percentile(times, 50), p95_ms=1000 * percentile(times, 95),
        rss_mb=rss_mb())


def fts5_worker(path: Path, queries: list[str]) -> None:
    from assistant.lexical import LexicalIndex

    lexical = LexicalIndex(path)
    lexical.search(queries[0], 100)
    first = time.perf_counter() - STARTED
    times = []
    for query in queries[1:]:
        t = time.perf_counter()
        lexical.search(query, 100)
        times.append(time.perf_counter() - t)
    say(cold_start_s=first, p50_ms=1000 * percentile(times, 50), p95_ms=1000 * percentile(times, 95),
        rss_mb=rss_mb())


# --- the parent ----------------------------------------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                [str(REPO), str(REPO / "eval"), os.environ.get("PYTHONPATH", "")])})


def read(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"worker exited {proc.wait()} without answering")
    return json.loads(line)


def build(index_dir: Path, chunks: int, data: Path, noise: float, real_backend: str) -> dict:
    from bench_latency import build_scaled_index, real_chunks, scaled_rows

    settings = load_settings()
    wanted = os.environ.get("ASSISTANT_EMBED_BACKEND")
    os.environ["ASSISTANT_EMBED_BACKEND"] = real_backend  # the embedder that built the SciFact index
    try:
        rows, vectors, origin = real_chunks(settings.home / "bench-index" / "scifact", data, 1000)
    finally:
        os.environ.pop("ASSISTANT_EMBED_BACKEND")
        if wanted:
            os.environ["ASSISTANT_EMBED_BACKEND"] = wanted
    scaled = scaled_rows(rows, vectors, chunks, noise)
    load = load_average()
    index, seconds = build_scaled_index(index_dir, scaled)
    index.close()
    return {"origin": origin, "real_chunks": scaled.real, "chunks": len(scaled.rows), "documents": len(scaled.manifest),
            "noise": noise, "noise_cosine": scaled.noise_cosine, "build_s": seconds, "build_load": load}


def ingest_one(index_dir: Path) -> float:
    from assistant.documents import SourceDocument
    from assistant.store import Index

    index = Index(replace(load_settings(), chroma_url="", index_dir=index_dir, home=index_dir / "home"))
    doc = SourceDocument(source=f"bench-new-{time.time_ns()}.md", title="Harbour log", text=NEW_DOC, root="bench:new",
                         sha256=hashlib.sha256(NEW_DOC.encode()).hexdigest())
    started = time.perf_counter()
    index.sync_documents([doc], roots=[])
    seconds = time.perf_counter() - started
    index.close()
    return seconds


def compare_bm25s(index_dir: Path, queries_file: Path) -> dict:
    """The saved-bm25s alternative over the same chunks' terms, and FTS5's own numbers beside it."""
    import bm25s
    import sqlite3

    db = sqlite3.connect(index_dir / "lexical.sqlite3")
    terms = [row[0].split() for row in db.execute("SELECT terms FROM fts ORDER BY rowid")]
    db.close()
    with tempfile.TemporaryDirectory(prefix="bench-bm25s-") as scratch:
        started = time.perf_counter()
        model = bm25s.BM25()
        model.index(terms, show_progress=False)
        build_s = time.perf_counter() - started
        model.save(scratch)
        size = disk_mb(Path(scratch))
        del model, terms
        proc = spawn("--bm25s-worker", scratch, "--queries-file", str(queries_file))
        bm25s_numbers = read(proc)
        proc.wait()
    proc = spawn("--fts5-worker", str(index_dir / "lexical.sqlite3"), "--queries-file", str(queries_file))
    fts5_numbers = read(proc)
    proc.wait()
    return {"bm25s": {**bm25s_numbers, "update_s": build_s, "disk_mb": size},
            "fts5": {**fts5_numbers, "disk_mb": (index_dir / "lexical.sqlite3").stat().st_size / 2**20}}


def render(m: dict) -> str:
    b = m["build"]
    lines = [
        f"# Scale: {b['chunks']:,} chunks",
        "",
        f"Run {m['started']} ({m['seconds']} s) on {m['machine']['cpus']} CPUs shared with other jobs; embedder "
        f"`{m['embedder']}`. Command: `{m['command']}`",
        "",
        f"Index: {b['real_chunks']:,} real SciFact chunks ({b['origin']}), the rest copies (~10 % adjacent word pairs "
        f"swapped, vector noise sigma {b['noise']}), {b['documents']:,} documents; built in {b['build_s']:.0f} s "
        f"(load {b['build_load']}).",
        "",
        "| measure | value | target at 1M chunks | load (1 min) |",
        "|---|---|---|---|",
        f"| cold start: new process to first hybrid search | {m['cold_start_s']:.2f} s | <= 3 s | {m['loads']['cold']} |",
        f"| hybrid search p50 / p95 ({m['queries']} SciFact queries) | {m['hybrid_p50_ms']:.0f} / "
        f"{m['hybrid_p95_ms']:.0f} ms | <= 150 / 400 ms | {m['loads']['search']} |",
        f"| update after a one-document ingest (the running worker's next search) | {m['update_after_ingest_s']:.2f} s "
        f"| <= 1 s | {m['loads']['update']} |",
        f"| worker RSS after its first search | {m['rss_mb']:.0f} MB | | |",
        f"| index on disk (Chroma + lexical) | {m['disk_mb']:.0f} MB | | |",
        "",
        f"The one-document ingest itself took {m['ingest_s']:.2f} s; the worker found the new document: "
        f"{m['update_found']}.",
    ]
    c = m.get("lexical_comparison")
    if c:
        f, s = c["fts5"], c["bm25s"]
        lines += [
            "",
            "## Lexical index: SQLite FTS5 (chosen) against a saved bm25s index opened with mmap",
            "",
            "Same chunks, same terms (stemmed, stop words removed); each searched in a fresh process, 100 results "
            "per query.",
            "",
            "| | cold start (process to first query) | p50 / p95 per query | update after one document | disk |",
            "|---|---|---|---|---|",
            f"| FTS5 `bm25()` | {f['cold_start_s']:.2f} s | {f['p50_ms']:.1f} / {f['p95_ms']:.1f} ms | "
            f"{m['update_after_ingest_s']:.2f} s (incremental catch-up, above) | {f['disk_mb']:.0f} MB |",
            f"| bm25s, mmap | {s['cold_start_s']:.2f} s (load {s['load_s']:.2f} s) | {s['p50_ms']:.1f} / "
            f"{s['p95_ms']:.1f} ms | {s['update_s']:.1f} s (full re-index: no incremental update) | "
            f"{s['disk_mb']:.0f} MB |",
        ]
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, help="index size")
    parser.add_argument("--out", type=Path, help="report folder (default: eval/reports/scale/<N>)")
    parser.add_argument("--queries", type=int, default=100, help="SciFact test queries per worker")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--noise", type=float, default=0.015)
    parser.add_argument("--embed-backend", help="torch or onnx-int8 (default: the settings')")
    parser.add_argument("--real-backend", default="torch", help="the embedder that built the SciFact index")
    parser.add_argument("--keep", type=Path, help="build the index here and reuse it on later runs")
    parser.add_argument("--compare-bm25s", action="store_true")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bm25s-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fts5-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.queries_file:
        queries = json.loads(args.queries_file.read_text())
        for flag, run in ((args.worker, worker), (args.bm25s_worker, bm25s_worker), (args.fts5_worker, fts5_worker)):
            if flag:
                return run(flag, queries)
    if not args.chunks:
        parser.error("--chunks is required")
    if args.embed_backend:
        os.environ["ASSISTANT_EMBED_BACKEND"] = args.embed_backend  # this process and its workers

    from assistant.evaluation.pipeline import read_jsonl
    from assistant.evaluation.scifact import load_qrels

    started = datetime.now(timezone.utc)
    out = args.out or REPO / "eval" / "reports" / "scale" / str(args.chunks)
    by_id = {str(q["_id"]): str(q["text"]) for q in read_jsonl(args.data / "queries.jsonl")}
    queries = [by_id[q] for q in load_qrels(args.data / "qrels" / "test.tsv") if q in by_id][: args.queries + 1]
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    index_dir = args.keep or scratch / "index"
    try:
        queries_file = scratch / "queries.json"
        queries_file.write_text(json.dumps(queries))
        if args.keep and (index_dir / "build.json").is_file():
            built = json.loads((index_dir / "build.json").read_text())
        else:
            built = build(index_dir, args.chunks, args.data, args.noise, args.real_backend)
            (index_dir / "build.json").write_text(json.dumps(built))
        print(f"index: {built}; load {load_average()}", file=sys.stderr)
        size = disk_mb(index_dir)
        proc = spawn("--worker", str(index_dir), "--queries-file", str(queries_file))
        cold, search = read(proc), read(proc)
        print(f"worker: {cold} {search}", file=sys.stderr)
        ingest_s = ingest_one(index_dir)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        update = read(proc)
        proc.stdin.close()
        proc.wait()
        print(f"update: {update}", file=sys.stderr)
        from assistant.embeddings import identity
        from bench_ingest import machine

        settings = load_settings()
        metrics = {
            "benchmark": "scale",
            "started": started.isoformat(timespec="seconds"),
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "machine": machine(),
            "embedder": identity(settings.embed_model, settings.embed_backend),
            "build": built,
            "cold_start_s": cold["cold_start_s"],
            "hybrid_p50_ms": search["hybrid_p50_ms"],
            "hybrid_p95_ms": search["hybrid_p95_ms"],
            "update_after_ingest_s": update["update_after_ingest_s"],
            "rss_mb": cold["rss_mb"],
            "disk_mb": size,
            "queries": search["queries"],
            "ingest_s": ingest_s,
            "update_found": update["found"],
            "loads": {"cold": cold["load"], "search": search["load"], "update": update["load"]},
        }
        if args.compare_bm25s:
            metrics["lexical_comparison"] = compare_bm25s(index_dir, queries_file)
        metrics["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        (out / "report.md").write_text(render(metrics), encoding="utf-8")
        print(render(metrics))
        print(f"report: {out / 'report.md'}", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
