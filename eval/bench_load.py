"""Load test on loopback: concurrent /ask calls through gradio_client, many sequential ones for memory growth,
and the bounded queue under the default model.

    python eval/bench_load.py [--phases concurrent concurrent-llm sequential bounded] [--concurrent 50]
                              [--llm-concurrent 10] [--sequential 500] [--bounded 20] [--bounded-llm llamacpp]
                              [--out eval/reports/load]

Serves the page from this process on free loopback ports over a fresh index of seeds/ in a temporary folder.
Throughput phases (their queue is sized to hold every caller, so they measure throughput, not the bound): the
extractive backend (a concurrent burst, then a sequential run for memory), and llamacpp:smollm2 (its own burst).
The bounded phase serves the default model with the default queue bound (``queue_size``): ``--bounded`` askers
start together; each must be answered, or told "busy" within 2 s, with no errors; the wait in the queue of the
answered ones is reported. Every call has a deadline, so the run always ends. Each answer counts as verified when
every citation's quote is the exact source span it claims. Phases not run keep their last results in
metrics.json and report.md (each with its own date and load average).
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
from gradio_client.utils import QueueError, Status  # noqa: E402

from assistant.config import Settings, load_settings  # noqa: E402
from assistant.documents import load_file  # noqa: E402
from assistant.ui.app import answer_concurrency, launch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "eval" / "questions.yaml"
CALL_TIMEOUT = 900.0  # seconds one /ask may take, queueing included (a burst on one local model queues)
BUSY_WITHIN = 2.0  # seconds in which a caller past the queue's bound must be told it is busy
PHASES = ("concurrent", "concurrent-llm", "sequential", "bounded")


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


def at_once(url: str, questions: list[str], n: int, call) -> tuple[list[dict], float]:
    """``n`` users, each with its own client, make ``call(client, question)`` at the same moment: results, wall time."""
    clients = [new_client(url) for _ in range(n)]
    start_line = threading.Barrier(n)

    def user(i: int) -> dict:
        start_line.wait()
        return call(clients[i], questions[i % len(questions)])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        calls = list(pool.map(user, range(n)))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return calls, wall


def burst(url: str, questions: list[str], n: int) -> dict:
    """``n`` users, each with its own client, ask at the same moment."""
    return summarize(*at_once(url, questions, n, ask))


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


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bounded_call(client: Client, question: str) -> dict:
    """One /ask against a bounded queue: answered (with its wait in the queue before work began), told busy, or
    an error; the outcome's time as the caller sees it."""
    started = time.perf_counter()
    job = client.submit(question, api_name="/ask")
    began = None
    while not job.done():
        if began is None and job.status().code in (Status.PROCESSING, Status.ITERATING, Status.FINISHED):
            began = time.perf_counter()
        time.sleep(0.05)
        if time.perf_counter() - started > CALL_TIMEOUT:
            job.cancel()
            return {"outcome": "error", "error": "deadline", "seconds": CALL_TIMEOUT}
    seconds = time.perf_counter() - started
    try:
        result = job.result(timeout=5)
    except QueueError:
        return {"outcome": "busy", "seconds": seconds}
    except Exception as exc:  # a load test counts failures rather than stopping at the first
        busy = "Queue is full" in str(exc)
        return {"outcome": "busy" if busy else "error", "seconds": seconds,
                **({} if busy else {"error": f"{type(exc).__name__}: {exc}"[:300]})}
    wait = (began or time.perf_counter()) - started
    return {"outcome": "answered", "seconds": seconds, "wait": wait, "verified": verified(result)}


def bounded(url: str, questions: list[str], n: int, queue_size: int) -> dict:
    """``n`` askers at once against the bound: each answered or told busy (within BUSY_WITHIN), no errors."""
    calls, wall = at_once(url, questions, n, lambda client, q: {"question": q, **bounded_call(client, q)})
    answered = [c for c in calls if c["outcome"] == "answered"]
    busy = [c for c in calls if c["outcome"] == "busy"]
    errors = [c for c in calls if c["outcome"] == "error"]
    waits = [c["wait"] for c in answered]
    pct = lambda values, q: round(float(np.percentile(values, q)), 3) if values else None  # noqa: E731
    return {
        "calls": n, "queue_size": queue_size, "answered": len(answered), "busy": len(busy), "errors": len(errors),
        "verified": sum(1 for c in answered if c["verified"]),
        "busy_max_s": round(max((c["seconds"] for c in busy), default=0.0), 3),
        "busy_within_bound": all(c["seconds"] < BUSY_WITHIN for c in busy),
        "wait_p50_s": pct(waits, 50), "wait_max_s": pct(waits, 100),
        "answer_p50_s": pct([c["seconds"] for c in answered], 50),
        "answer_max_s": pct([c["seconds"] for c in answered], 100),
        "wall_s": round(wall, 2),
        "passed": not errors and all(c["seconds"] < BUSY_WITHIN for c in busy) and bool(answered),
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
    head = ("| phase | backend | calls | ok | errors | verified | refused | p50 s | p95 s | max s | wall s | calls/s "
            "| date | load average |")
    rows = [head, "|" + "---|" * 14]
    for name, m in phases.items():
        if name == "bounded":
            continue
        rows.append(
            f"| {name} | {m['backend']} | {m['calls']} | {m['ok']} | {m['errors']} | {m['verified']} | "
            f"{m['refused']} | {m['p50_s']:.3f} | {m['p95_s']:.3f} | {m['max_s']:.3f} | {m['wall_s']:.1f} | "
            f"{m['per_s']:.2f} | {m.get('date', '')} | {m.get('loadavg', '')} |"
        )
    return "\n".join(rows)


def bounded_md(m: dict) -> str:
    verdict = "passed" if m["passed"] else "**failed**"
    return f"""## Bounded queue ({m['backend']}, queue_size {m['queue_size']})

{m['date']}, load average {m['loadavg']} at start. {m['calls']} askers start together against the default model;
one answers at a time, {m['queue_size']} may wait, the rest must be told "busy" within {BUSY_WITHIN:g} s: {verdict}.

| askers | answered | told busy | errors | verified | busy told within (max) | wait in queue p50 / max | answered in p50 / max | wall |
|---|---|---|---|---|---|---|---|---|
| {m['calls']} | {m['answered']} | {m['busy']} | {m['errors']} | {m['verified']} | {m['busy_max_s']:.3f} s | {m['wait_p50_s']} / {m['wait_max_s']} s | {m['answer_p50_s']} / {m['answer_max_s']} s | {m['wall_s']:.1f} s |

The wait is the time from the call to the moment the model started on it; an answer's time includes that wait.
Timed on 2 shared cores: rerun idle for the model's own speed (`python eval/bench_load.py --phases bounded`).
"""


def report_md(metrics: dict) -> str:
    phases = metrics["phases"]
    parts = [throughput_md(metrics)] if any(name != "bounded" for name in phases) else []
    if "bounded" in phases:
        parts.append(bounded_md(phases["bounded"]))
    return "\n".join(parts)


def throughput_md(metrics: dict) -> str:
    seq = metrics["phases"].get("sequential")
    env = metrics["environment"]
    memory = "" if seq is None else f"""
Memory over {seq["calls"]} sequential questions ({len(metrics["questions"])} distinct, cycled): RSS
{seq["rss_before_mib"]} MiB before, {seq["rss_after_mib"]} MiB after ({seq["rss_growth_mib"]:+} MiB).
"""
    warm = ", ".join(f"{name} {seconds} s" for name, seconds in metrics["warm_up_s"].items())
    return f"""# Load test (loopback, gradio_client → /ask)

`python eval/bench_load.py` — {metrics["date"]}. One process serves the page (Gradio queue:
{env["extractive_concurrency"]} answers at a time for extractive, 1 for a local model) over a fresh index of `seeds/`;
concurrent users each have their own `gradio_client.Client` and start together. Latency is per call as the client
sees it, queueing included.
An answer is *verified* when it is a refusal citing nothing or every citation's quote equals its source span.

Machine: {env["cpus"]} CPUs (shared; each phase's load average at its start is in the table), Python
{env["python"]}. The throughput phases size the queue to hold every caller; the bound is measured on its own below.

{table(metrics["phases"])}

Warm-up (first call, untimed above): {warm}.
{memory}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES), help="which phases to run")
    parser.add_argument("--concurrent", type=int, default=50, help="simultaneous users, extractive backend")
    parser.add_argument("--llm-concurrent", type=int, default=10, help="simultaneous users, llamacpp:smollm2")
    parser.add_argument("--sequential", type=int, default=500, help="questions one after another (memory)")
    parser.add_argument("--bounded", type=int, default=20, help="simultaneous askers against the bounded queue")
    parser.add_argument("--bounded-llm", default="llamacpp", help="backend of the bounded phase (the default model)")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "reports" / "load")
    args = parser.parse_args()

    earlier = args.out / "metrics.json"
    metrics = json.loads(earlier.read_text(encoding="utf-8")) if earlier.is_file() else {"phases": {}, "warm_up_s": {}}
    questions = load_questions()
    phases, warm = metrics["phases"], metrics["warm_up_s"]
    for phase in phases.values():  # results from before phases carried their own date and load average
        phase.setdefault("date", metrics.get("date", ""))
        phase.setdefault("loadavg", metrics.get("environment", {}).get("loadavg_start", ""))
    metrics.pop("rss_start_mib", None)
    stamp = lambda: {"date": time.strftime("%Y-%m-%d %H:%M"), "loadavg": loadavg()}  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        base = load_settings(
            index_dir=Path(tmp) / "index", home=Path(tmp) / "home", docs_dir=Path(tmp) / "documents",
            seeds_dir=REPO / "seeds", llm="extractive",
        )  # fmt: skip
        # Throughput phases: a queue that holds every caller, so nobody is turned away.
        roomy = replace(base, queue_size=max(args.concurrent, args.llm_concurrent) + 1)
        if {"concurrent", "sequential"} & set(args.phases):
            extractive, url = serve(roomy)
            try:
                warm["extractive"] = warm_up(url, questions[0])
                if "concurrent" in args.phases:
                    phases["concurrent"] = {"backend": "extractive", **stamp(),
                                            **burst(url, questions, args.concurrent)}
                    print(table(phases), flush=True)
                if "sequential" in args.phases:
                    phases["sequential"] = {"backend": "extractive", **stamp(),
                                            **sequential(url, questions, args.sequential)}
            finally:
                extractive.close()
        if "concurrent-llm" in args.phases:
            llm_app, llm_url = serve(replace(roomy, llm="llamacpp:smollm2"))
            try:
                warm["llamacpp:smollm2"] = warm_up(llm_url, questions[0])
                phases["concurrent-llm"] = {"backend": "llamacpp:smollm2", **stamp(),
                                            **burst(llm_url, questions, args.llm_concurrent)}
                print(table(phases), flush=True)
            finally:
                llm_app.close()
        if "bounded" in args.phases:
            # The default queue bound; the real home, where the default model is assembled once.
            settings = replace(base, llm=args.bounded_llm, home=load_settings().home)
            app, app_url = serve(settings)
            try:
                warm[args.bounded_llm] = warm_up(app_url, questions[0])
                phases["bounded"] = {"backend": args.bounded_llm, **stamp(),
                                     **bounded(app_url, questions, args.bounded, settings.queue_size)}
                print(bounded_md(phases["bounded"]), flush=True)
            finally:
                app.close()

    metrics.update({
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "extractive_concurrency": answer_concurrency(base),
            "default_queue_size": Settings().queue_size,
        },
        "questions": questions,
        "phases": {name: phases[name] for name in PHASES if name in phases},
    })
    args.out.mkdir(parents=True, exist_ok=True)
    earlier.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "report.md").write_text(report_md(metrics), encoding="utf-8")
    print(f"report: {args.out / 'report.md'}")
    failed = sum(p["errors"] for p in phases.values()) + (not phases.get("bounded", {}).get("passed", True))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
