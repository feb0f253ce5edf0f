"""Scale: an index of N chunks, measured in fresh worker processes. Writes <out>/metrics.json and report.md
(default out: eval/reports/scale/<N>).

    python eval/bench_scale.py --chunks N [--out DIR] [--queries 100]
                               [--embed-backend openvino|torch-bf16|torch|onnx|onnx-int8]
                               [--keep DIR] [--commit-chunks 50000] [--compare-lexical]

The index is built without embedding (scaled_index.scaled_documents): the real SciFact chunks and vectors of the
SciFact benchmark index (<home>/bench-index/scifact, built by `assistant eval --suite scifact`), then copies of
whole documents with ~10 % of adjacent word pairs swapped and Gaussian noise on each vector, as separate documents,
until N chunks. It is written as a sync's writer writes it, one commit per --commit-chunks chunks (chunks and
vectors in Chroma's largest batches, then manifest entries and generation, then the lexical index caught up with
the texts just written), never holding more than one commit in memory. --keep DIR builds into DIR and reuses it on
later runs; a build that was stopped resumes where its last commit ended.

Then, each in a new Python process started by this script (`--worker`):
  cold_start_s           process start -> Assistant opened -> first Assistant.retrieve answered (imports included;
                         the parts are in metrics.json under cold_start_parts)
  hybrid_p50_ms/p95_ms   Assistant.retrieve (k=5; dense + BM25, fused) over SciFact test queries, after the first
  rss_mb                 the worker's resident memory after its first search
  update_after_ingest_s  this process ingests one new document (Index.sync_documents) while the worker runs; then
                         the worker's next retrieve, which brings its store and lexical index up to date, timed
                         (parts: the catch-up, then the search); it must find the document
  disk_mb                the index folder (Chroma + lexical)
--compare-lexical adds the BM25 part alone, 100 results per query, in fresh processes: the segment + delta index
against SQLite FTS5's bm25() over the same chunks' terms (what the lexical index was before), and the time to
rewrite the whole segment (a merge's cost at this size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

STARTED = time.perf_counter()  # before the heavy imports: a worker's cold start counts them

from assistant.config import Settings, load_settings  # noqa: E402
from assistant.embeddings import BACKENDS  # noqa: E402

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


def worker_settings(index_dir: Path, chroma_url: str):
    """The index folder, or a Chroma server over it; the home (with a server, this machine's lexical copy) inside."""
    return replace(load_settings(), chroma_url=chroma_url, index_dir=index_dir, home=index_dir / "home",
                   llm="extractive")


def worker(index_dir: Path, chroma_url: str, queries: list[str]) -> None:
    from assistant.api import Assistant

    imported = time.perf_counter()
    settings = worker_settings(index_dir, chroma_url)
    assistant = Assistant(settings)
    assistant.index  # loads the embedder, opens the store and the lexical index
    opened = time.perf_counter()
    assistant.retrieve(queries[0])
    done = time.perf_counter()
    say(cold_start_s=done - STARTED, rss_mb=rss_mb(), load=load_average(),
        cold_start_parts={"imports_s": imported - STARTED, "open_s": opened - imported,
                          "first_search_s": done - opened})
    times = []
    for query in queries[1:]:
        started = time.perf_counter()
        assistant.retrieve(query)
        times.append(time.perf_counter() - started)
    say(hybrid_p50_ms=1000 * percentile(times, 50), hybrid_p95_ms=1000 * percentile(times, 95),
        queries=len(times), load=load_average())
    sys.stdin.readline()  # the parent ingests a document, then says go
    started = time.perf_counter()
    assistant.index.refresh()  # what the search below would do first: reopen the store, catch the lexical index up
    caught_up = time.perf_counter()
    passages = assistant.retrieve(QUESTION)
    done = time.perf_counter()
    say(update_after_ingest_s=done - started, update_parts={"catch_up_s": caught_up - started,
                                                            "search_s": done - caught_up},
        found=any("Varnholm" in p.text for p in passages), load=load_average(), rss_after_mb=rss_mb())


def lexical_worker(kind: str, path: Path, queries: list[str]) -> None:
    """The BM25 part alone, 100 results per query: the lexical index (kind "segments") or an FTS5 table."""
    if kind == "segments":
        from assistant.lexical import LexicalIndex

        search = LexicalIndex(path).search
    else:
        import sqlite3

        from assistant.lexical import tokenize

        db = sqlite3.connect(path)

        def search(query: str, k: int) -> list:
            match = " OR ".join(f'"{t}"' for t in tokenize([query])[0])
            return db.execute("SELECT rowid, -rank FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT ?", (match, k)).fetchall()

    search(queries[0], 100)
    first = time.perf_counter() - STARTED
    times = []
    for query in queries[1:]:
        t = time.perf_counter()
        search(query, 100)
        times.append(time.perf_counter() - t)
    say(cold_start_s=first, p50_ms=1000 * percentile(times, 50), p95_ms=1000 * percentile(times, 95),
        rss_mb=rss_mb(), load=load_average())


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


def build(index_dir: Path, chunks: int, data: Path, noise: float, real_backend: str, commit_chunks: int) -> dict:
    from bench_ingest import bench_settings
    from scaled_index import real_chunks, scaled_documents, write_commit

    from assistant.evaluation.runner import bench_name
    from assistant.store import Index

    settings = load_settings()
    wanted = os.environ.get("ASSISTANT_EMBED_BACKEND")
    os.environ["ASSISTANT_EMBED_BACKEND"] = real_backend  # the embedder that built the SciFact index
    scifact = settings.home / "bench-index" / bench_name("scifact", replace(settings, embed_backend=real_backend))
    try:
        rows, vectors, origin = real_chunks(scifact, data, 1000)
    finally:
        os.environ.pop("ASSISTANT_EMBED_BACKEND")
        if wanted:
            os.environ["ASSISTANT_EMBED_BACKEND"] = wanted
    index = Index(bench_settings(index_dir))
    done = set(index.manifest())  # documents a stopped build committed: generated again, not written again
    resume = bool(done)
    load, started = load_average(), time.perf_counter()
    total = documents = written = 0
    pending: list = []
    cosines: list[float] = []

    def commit() -> None:
        nonlocal resume, written
        write_commit(index, pending, upsert=resume)  # a stopped build may have written part of this commit
        written += sum(len(doc[2]) for doc in pending)
        resume = False
        pending.clear()
        rate = written / (time.perf_counter() - started)
        print(f"{total:,} / {chunks:,} chunks committed, {rate:.0f} chunks/s; load {load_average()}", file=sys.stderr)

    for name, entry, doc_rows, doc_vectors, cosine in scaled_documents(rows, vectors, noise):
        if total >= chunks:
            break
        total += len(doc_rows)
        documents += 1
        if cosine is not None and len(cosines) < 10_000:
            cosines.append(cosine)
        if name not in done:
            pending.append((name, entry, doc_rows, doc_vectors))
            if sum(len(doc[2]) for doc in pending) >= commit_chunks:
                commit()
    if pending:
        commit()
    index.close()
    return {"origin": origin, "real_chunks": min(len(rows), total), "chunks": total, "documents": documents,
            "noise": noise, "noise_cosine": sum(cosines) / len(cosines) if cosines else None,
            "build_s": time.perf_counter() - started, "build_load": load, "commit_chunks": commit_chunks,
            "resumed_after": len(done)}


def ingest_one(index_dir: Path, chroma_url: str) -> float:
    from assistant.documents import SourceDocument
    from assistant.store import Index

    index = Index(worker_settings(index_dir, chroma_url))  # on the worker's machine: their lexical copy is shared
    doc = SourceDocument(source=f"bench-new-{time.time_ns()}.md", title="Harbour log", text=NEW_DOC, root="bench:new",
                         sha256=hashlib.sha256(NEW_DOC.encode()).hexdigest())
    started = time.perf_counter()
    index.sync_documents([doc], roots=[])
    seconds = time.perf_counter() - started
    index.close()
    return seconds


def measure(index_dir: Path, queries_file: Path, chroma_url: str = "") -> dict:
    """A worker process: cold start, searches, then its next search after this process ingests one document."""
    proc = spawn("--worker", str(index_dir), "--chroma-url", chroma_url, "--queries-file", str(queries_file))
    cold, search = read(proc), read(proc)
    print(f"worker ({chroma_url or 'local folder'}): {cold} {search}", file=sys.stderr)
    ingest_s = ingest_one(index_dir, chroma_url)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    update = read(proc)
    proc.stdin.close()
    proc.wait()
    print(f"update: {update}", file=sys.stderr)
    return {
        "cold_start_s": cold["cold_start_s"],
        "hybrid_p50_ms": search["hybrid_p50_ms"],
        "hybrid_p95_ms": search["hybrid_p95_ms"],
        "update_after_ingest_s": update["update_after_ingest_s"],
        "rss_mb": cold["rss_mb"],
        "queries": search["queries"],
        "ingest_s": ingest_s,
        "update_found": update["found"],
        "loads": {"cold": cold["load"], "search": search["load"], "update": update["load"]},
        "cold_start_parts": cold["cold_start_parts"],
        "update_parts": update["update_parts"],
    }


def warm_up(settings) -> float:
    """A deployed server has answered queries before a worker starts: it loads each collection's vector index on
    the first query that needs it (seconds at 1M chunks), which no worker's start should be charged with."""
    from assistant.store import GENERATION_ID, make_client

    started = time.perf_counter()
    client = make_client(settings)
    chunks = client.get_collection(settings.collection)
    chunks.query(query_embeddings=chunks.get(limit=1, include=["embeddings"])["embeddings"], n_results=1)
    client.get_collection(f"{settings.collection}-manifest").get(ids=[GENERATION_ID])
    return time.perf_counter() - started


@contextmanager
def chroma_server(index_dir: Path):
    """`chroma run` (the server in the chromadb wheel) over the index folder, on a free loopback port, with the
    folder's lexical index provisioned as this machine's copy for that server (segment files hard-linked, they
    never change), as a deployed worker machine would have it. Yields its URL and the warm-up's seconds."""
    import sqlite3
    import urllib.request

    from assistant.store import lexical_path

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with (index_dir / "server.log").open("ab") as log:
        proc = subprocess.Popen([chroma, "run", "--path", str(index_dir), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start; see {index_dir / 'server.log'}")
                time.sleep(0.5)
        target = lexical_path(worker_settings(index_dir, url))
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(index_dir / "lexical.sqlite3") as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        shutil.copytree(index_dir / "lexical-segments", target.with_name(f"{target.stem}-segments"),
                        copy_function=os.link, ignore=shutil.ignore_patterns("*.lock"))
        yield url, warm_up(worker_settings(index_dir, url))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chunk_terms(lexical) -> list[str]:
    """Each chunk BM25 ranks, as its terms joined by spaces (rebuilt from the postings: order does not matter)."""
    import numpy as np

    with lexical._snapshot() as db:
        state = lexical.state(db)
        delta: dict[int, list[str]] = {}
        for row, term, tf in db.execute("SELECT row, term, tf FROM delta_posting"):
            delta.setdefault(row, []).extend([term] * tf)
    texts = [" ".join(terms) for terms in delta.values()]
    segment = state.segment
    if segment is None:
        return texts
    terms = segment.terms()
    term_of = np.repeat(np.arange(len(terms)), np.diff(np.asarray(segment.offsets)))
    order = np.argsort(np.asarray(segment.rows), kind="stable")
    rows, tids, tfs = np.asarray(segment.rows)[order], term_of[order], np.asarray(segment.tfs)[order]
    bounds = np.searchsorted(rows, np.arange(segment.size + 1))
    for row in range(segment.size):
        if state.dead is None or not state.dead[row]:
            a, b = bounds[row], bounds[row + 1]
            texts.append(" ".join(" ".join([terms[t]] * int(n)) for t, n in zip(tids[a:b], tfs[a:b])))
    return texts


def compare_lexical(index_dir: Path, queries_file: Path, scratch: Path) -> dict:
    """The lexical index against SQLite FTS5's bm25() over the same chunks' terms, and a whole-segment rewrite."""
    import sqlite3

    from assistant import segment
    from assistant.lexical import LexicalIndex

    lexical = LexicalIndex(index_dir / "lexical.sqlite3")
    state = lexical.state()
    started = time.perf_counter()
    segment.write(scratch / "rewrite", state.segment, set(), segment.Batch())
    rewrite_s = time.perf_counter() - started
    segment.remove(scratch / "rewrite")
    fts = scratch / "fts5.sqlite3"
    db = sqlite3.connect(fts)
    db.execute("CREATE VIRTUAL TABLE fts USING fts5 (terms, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")")
    db.executemany("INSERT INTO fts (terms) VALUES (?)", ((t,) for t in chunk_terms(lexical)))
    db.commit()
    db.close()
    lexical.close()
    numbers = {}
    for kind, path in (("segments", index_dir / "lexical.sqlite3"), ("fts5", fts)):
        proc = spawn("--lexical-worker", kind, str(path), "--queries-file", str(queries_file))
        numbers[kind] = read(proc)
        proc.wait()
    segments_mb = disk_mb(index_dir / "lexical-segments") + disk_mb_file(index_dir / "lexical.sqlite3")
    numbers["segments"].update(disk_mb=segments_mb, rewrite_s=rewrite_s, load=load_average(),
                               segment_rows=state.segment.size if state.segment else 0, delta_rows=state.delta_docs)
    numbers["fts5"]["disk_mb"] = disk_mb_file(fts)
    return numbers


def disk_mb_file(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20  # with its -wal and -shm


def render(m: dict) -> str:
    b = m["build"]
    lines = [
        f"# Scale: {b['chunks']:,} chunks",
        "",
        f"Run {m['started']} ({m['seconds']} s) on {m['machine']['cpus']} CPUs; query embedder "
        f"`{m['embedder']}`. Command: `{m['command']}`",
        "",
        f"Index: {b['real_chunks']:,} real SciFact chunks ({b['origin']}), the rest copies (~10 % adjacent word pairs "
        f"swapped, vector noise sigma {b['noise']}), {b['documents']:,} documents; built in {b['build_s']:.0f} s "
        f"(load {b['build_load']}).",
        "",
    ]
    modes = [("local folder", m)] + ([("Chroma server (`chroma run`)", m["server"])] if "server" in m else [])

    def row(label: str, cell, target: str, load: str | None) -> str:
        values = " | ".join(f"{cell(x)} ({x['loads'][load]})" if load else cell(x) for _, x in modes)
        return f"| {label} | {values} | {target} |"

    lines += [
        f"| measure (load average in brackets) | {' | '.join(name for name, _ in modes)} | target at 1M chunks |",
        "|---|" + "---|" * len(modes) + "---|",
        row("cold start: new process to first hybrid search", lambda x: f"{x['cold_start_s']:.2f} s", "<= 3 s", "cold"),
        row(f"hybrid search p50 / p95 ({m['queries']} SciFact queries)",
            lambda x: f"{x['hybrid_p50_ms']:.0f} / {x['hybrid_p95_ms']:.0f} ms", "<= 150 / 400 ms", "search"),
        row("update after a one-document ingest (the running worker's next search)",
            lambda x: f"{x['update_after_ingest_s']:.2f} s", "<= 1 s", "update"),
        row("worker RSS after its first search", lambda x: f"{x['rss_mb']:.0f} MB", "", None),
        f"| index on disk (Chroma + lexical) | {m['disk_mb']:.0f} MB |" + " |" * len(modes),
        "",
        "Where the time goes: " + "; ".join(
            f"{name}: cold start = imports {x['cold_start_parts']['imports_s']:.2f} s + opening (embedder, store, "
            f"lexical index) {x['cold_start_parts']['open_s']:.2f} s + first search "
            f"{x['cold_start_parts']['first_search_s']:.2f} s; update = catching up (a local store is reopened, the "
            f"lexical index brought to the new generation) {x['update_parts']['catch_up_s']:.2f} s + the search "
            f"{x['update_parts']['search_s']:.2f} s; the one-document ingest itself {x['ingest_s']:.2f} s, the new "
            f"document found: {x['update_found']}" for name, x in modes) + ".",
    ]
    if "server" in m:
        lines += ["", f"The server, started for this run, was warmed up before its worker started (its first query "
                      f"of each collection loads that collection's vector index, as a deployed server has done long "
                      f"before): {m['server']['server_warm_up_s']:.2f} s."]
    c = m.get("lexical_comparison")
    if c:
        own, fts = c["segments"], c["fts5"]
        lines += [
            "",
            "## The BM25 part alone: segment + delta (chosen) against SQLite FTS5's bm25()",
            "",
            f"Same chunks, same terms (stemmed, stop words removed), the same scores; each searched in a fresh "
            f"process, 100 results per query (load {own['load']}). The segment holds {own['segment_rows']:,} chunks, "
            f"the delta {own['delta_rows']:,}.",
            "",
            "| | cold start (process to first query) | p50 / p95 per query | disk |",
            "|---|---|---|---|",
            f"| segment + delta | {own['cold_start_s']:.2f} s | {own['p50_ms']:.1f} / {own['p95_ms']:.1f} ms | "
            f"{own['disk_mb']:.0f} MB |",
            f"| FTS5 `bm25()` | {fts['cold_start_s']:.2f} s | {fts['p50_ms']:.1f} / {fts['p95_ms']:.1f} ms | "
            f"{fts['disk_mb']:.0f} MB |",
            "",
            f"Rewriting the whole segment (a merge's cost at this size, paid by the writer or a reader's background "
            f"thread, never by a search): {own['rewrite_s']:.1f} s.",
        ]
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, help="index size")
    parser.add_argument("--out", type=Path, help="report folder (default: eval/reports/scale/<N>)")
    parser.add_argument("--queries", type=int, default=100, help="SciFact test queries per worker")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--noise", type=float, default=0.015)
    parser.add_argument("--embed-backend", help="the workers' embedder (default: the settings')", choices=BACKENDS)
    parser.add_argument("--real-backend", default=Settings().embed_backend,
                        help="the embedder that built the SciFact index")
    parser.add_argument("--keep", type=Path, help="build the index here and reuse it on later runs")
    parser.add_argument("--commit-chunks", type=int, default=50_000, help="chunks per commit while building")
    parser.add_argument("--server", action="store_true", help="also measure workers of a Chroma server (chroma run)")
    parser.add_argument("--compare-lexical", action="store_true")
    parser.add_argument("--chroma-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lexical-worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.queries_file:
        queries = json.loads(args.queries_file.read_text())
        if args.lexical_worker:
            return lexical_worker(args.lexical_worker[0], Path(args.lexical_worker[1]), queries)
        return worker(args.worker, args.chroma_url, queries)
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
            built = build(index_dir, args.chunks, args.data, args.noise, args.real_backend, args.commit_chunks)
            (index_dir / "build.json").write_text(json.dumps(built))
        print(f"index: {built}; load {load_average()}", file=sys.stderr)
        size = disk_mb(index_dir)
        local = measure(index_dir, queries_file)
        from bench_ingest import machine

        settings = load_settings()
        metrics = {
            "benchmark": "scale",
            "started": started.isoformat(timespec="seconds"),
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "machine": machine(),
            "embedder": f"{settings.embed_model} ({settings.embed_backend})",  # the workers' query embedder
            "build": built,
            **local,
            "disk_mb": size,
        }
        if args.server:
            with chroma_server(index_dir) as (url, warm_up_s):
                metrics["server"] = {**measure(index_dir, queries_file, url), "server_warm_up_s": warm_up_s}
        if args.compare_lexical:
            metrics["lexical_comparison"] = compare_lexical(index_dir, queries_file, scratch)
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
