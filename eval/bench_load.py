"""Load test on loopback: concurrent /ask calls through gradio_client, then many sequential ones for memory growth.

    python eval/bench_load.py [--concurrent 50] [--llm-concurrent 10] [--sequential 500] [--out eval/reports/load]

Serves the page from this process on free loopback ports over a fresh index of seeds/ in a temporary folder:
first the extractive backend (the concurrent burst, then the sequential run), and between them a second app with
llamacpp:smollm2 (its own burst). Every call has a deadline, so the run always ends. Each answer counts as
verified when every citation's quote is the exact source span it claims. Writes report.md and metrics.json.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # gradio_client reads these at import
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from gradio_client import Client  # noqa: E402

from assistant.config import load_settings  # noqa: E402
from assistant.documents import load_file  # noqa: E402
from assistant.ui.app import answer_concurrency, launch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "eval" / "questions.yaml"
CALL_TIMEOUT = 900.0  # seconds one /ask may take, queueing included (a burst on one local model queues)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib() -> float:
    """Resident memory of this process (which serves both apps)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("cannot read this process's RSS (no psutil, no /proc)")


def load_questions() -> list[str]:
    """The seed question set's stand-alone questions: answerable and unanswerable, varied wording."""
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [item["question"] for item in items if not item.get("history")]


@functools.cache
def source_text(source: str) -> str:
    return load_file(Path(source)).text


def verified(result: dict) -> bool:
    if result["refused"]:
        return not result["citations"]
    return bool(result["citations"]) and all(
        source_text(c["source"])[c["start"] : c["end"]] == c["quote"] for c in result["citations"]
    )


def new_client(url: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False)


def ask(client: Client, question: str) -> dict:
    """One /ask call, timed; an error is recorded, not raised."""
    started = time.perf_counter()
    try:
        result = client.submit(question, api_name="/ask").result(timeout=CALL_TIMEOUT)
        outcome = {"ok": True, "verified": verified(result), "refused": result["refused"]}
    except Exception as exc:  # a load test counts failures rather than stopping at the first
        outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"question": question, "seconds": time.perf_counter() - started, **outcome}


def burst(url: str, questions: list[str], n: int) -> dict:
    """``n`` users, each with its own client, ask at the same moment."""
    clients = [new_client(url) for _ in range(n)]
    start_line = threading.Barrier(n)

    def user(i: int) -> dict:
        start_line.wait()
        return ask(clients[i], questions[i % len(questions)])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        calls = list(pool.map(user, range(n)))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return summarize(calls, wall)


def sequential(url: str, questions: list[str], n: int) -> dict:
    client = new_client(url)
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    calls = [ask(client, questions[i % len(questions)]) for i in range(n)]
    wall = time.perf_counter() - started
    gc.collect()
    after = rss_mib()
    client.close()
    return {**summarize(calls, wall), "rss_before_mib": round(before, 1), "rss_after_mib": round(after, 1),
            "rss_growth_mib": round(after - before, 1)}  # fmt: skip


def summarize(calls: list[dict], wall: float) -> dict:
    seconds = [c["seconds"] for c in calls]
    errors = [c for c in calls if not c["ok"]]
    return {
        "calls": len(calls),
        "ok": len(calls) - len(errors),
        "errors": len(errors),
        "verified": sum(1 for c in calls if c.get("verified")),
        "refused": sum(1 for c in calls if c.get("refused")),
        "p50_s": round(float(np.percentile(seconds, 50)), 3),
        "p95_s": round(float(np.percentile(seconds, 95)), 3),
        "max_s": round(max(seconds), 3),
        "wall_s": round(wall, 2),
        "per_s": round(len(calls) / wall, 2),
        "error_samples": [c["error"] for c in errors[:5]],
    }


def serve(settings):
    port = free_port()
    demo = launch(port=port, settings=settings, prevent_thread_lock=True)
    return demo, f"http://127.0.0.1:{port}/"


def warm_up(url: str, question: str) -> float:
    """The first call loads what is lazy (the chat model, BM25); reported apart from the steady state."""
    client = new_client(url)
    call = ask(client, question)
    client.close()
    if not call["ok"]:
        raise SystemExit(f"warm-up call failed: {call['error']}")
    return round(call["seconds"], 3)


def table(phases: dict) -> str:
    head = "| phase | backend | calls | ok | errors | verified | refused | p50 s | p95 s | max s | wall s | calls/s |"
    rows = [head, "|" + "---|" * 12]
    for name, m in phases.items():
        rows.append(
            f"| {name} | {m['backend']} | {m['calls']} | {m['ok']} | {m['errors']} | {m['verified']} | "
            f"{m['refused']} | {m['p50_s']:.3f} | {m['p95_s']:.3f} | {m['max_s']:.3f} | {m['wall_s']:.1f} | "
            f"{m['per_s']:.2f} |"
        )
    return "\n".join(rows)


def report_md(metrics: dict) -> str:
    seq = metrics["phases"]["sequential"]
    env = metrics["environment"]
    return f"""# Load test (loopback, gradio_client → /ask)

`python eval/bench_load.py` — {metrics["date"]}. One process serves the page (Gradio queue:
{env["extractive_concurrency"]} answers at a time for extractive, 1 for a local model) over a fresh index of `seeds/`;
concurrent users each have their own `gradio_client.Client` and start together. Latency is per call as the client
sees it, queueing included.
An answer is *verified* when it is a refusal citing nothing or every citation's quote equals its source span.

Machine: {env["cpus"]} CPUs (shared; load average {env["loadavg_start"]} at start), Python {env["python"]}.

{table(metrics["phases"])}

Warm-up (first call, untimed above): extractive {metrics["warm_up_s"]["extractive"]} s,
llamacpp:smollm2 {metrics["warm_up_s"]["llamacpp:smollm2"]} s.

Memory over {seq["calls"]} sequential questions ({len(metrics["questions"])} distinct, cycled): RSS
{seq["rss_before_mib"]} MiB before, {seq["rss_after_mib"]} MiB after ({seq["rss_growth_mib"]:+} MiB).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=50, help="simultaneous users, extractive backend")
    parser.add_argument("--llm-concurrent", type=int, default=10, help="simultaneous users, llamacpp:smollm2")
    parser.add_argument("--sequential", type=int, default=500, help="questions one after another (memory)")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "reports" / "load")
    args = parser.parse_args()

    questions = load_questions()
    phases: dict[str, dict] = {}
    warm: dict[str, float] = {}
    rss_start = rss_mib()
    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        settings = load_settings(
            index_dir=Path(tmp) / "index", home=Path(tmp) / "home", docs_dir=Path(tmp) / "documents",
            seeds_dir=REPO / "seeds", llm="extractive",
        )  # fmt: skip
        extractive, url = serve(settings)
        try:
            warm["extractive"] = warm_up(url, questions[0])
            phases["concurrent"] = {"backend": "extractive", **burst(url, questions, args.concurrent)}
            print(table(phases), flush=True)

            llm_app, llm_url = serve(replace(settings, llm="llamacpp:smollm2"))  # a second app, same index
            try:
                warm["llamacpp:smollm2"] = warm_up(llm_url, questions[0])
                phases["concurrent-llm"] = {
                    "backend": "llamacpp:smollm2", **burst(llm_url, questions, args.llm_concurrent)
                }
                print(table(phases), flush=True)
            finally:
                llm_app.close()

            phases["sequential"] = {"backend": "extractive", **sequential(url, questions, args.sequential)}
        finally:
            extractive.close()

    metrics = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "environment": {
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "python": platform.python_version(),
            "extractive_concurrency": answer_concurrency(settings),
        },
        "questions": questions,
        "warm_up_s": warm,
        "rss_start_mib": round(rss_start, 1),
        "phases": phases,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "report.md").write_text(report_md(metrics), encoding="utf-8")
    print(table(phases))
    seq = phases["sequential"]
    print(f"RSS over {seq['calls']} sequential: {seq['rss_before_mib']} -> {seq['rss_after_mib']} MiB")
    print(f"report: {args.out / 'report.md'}")
    failed = sum(p["errors"] for p in phases.values())
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
