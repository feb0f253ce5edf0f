"""Cold start: a new process's first answer (`assistant ask`), each model role's prompt prefix processed from nothing
against restored from the state an earlier process saved (assistant/prefix_state.py). Writes
eval/reports/perf/cold.{md,json}.

    python eval/bench_cold.py [--questions 4] [--llm llamacpp]

Every question is asked twice, each time by a new `python -m assistant ask` process, one right after the other: first
with a scratch home that links the real home's models/ but holds no prefix-states/ (a machine's first process, and
every process before the states were kept), then again with the states that first process saved. Both answer from
one index of seeds/ built in the scratch folder. The ratio is each question's restored time over its from-nothing
time, median over questions (the machine's drift hits both runs of a question alike).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from assistant.config import load_settings
from assistant.llm import PREFIX_STATES
from bench_ingest import REPO, load_average, machine, median, publish
from bench_latency import pick_questions


def ask(question: str, env: dict[str, str]) -> tuple[float, str, float]:
    """Seconds a new process takes to answer, its answer, and the load average before it started."""
    load, started = load_average(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant", "ask", question], env=env, capture_output=True,
                          text=True, check=True)
    return time.perf_counter() - started, done.stdout, load


def cold_starts(questions: list[str], llm: str, scratch: Path) -> list[dict]:
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(scratch / "index"), "ASSISTANT_LLM": llm}
    subprocess.run([sys.executable, "-m", "assistant", "ingest", str(REPO / "seeds")], env=env, check=True,
                   capture_output=True)
    models = load_settings().model_dir
    rows = []
    for n, question in enumerate(questions):
        home = scratch / f"home-{n}"
        home.mkdir()
        (home / "models").symlink_to(models, target_is_directory=True)
        env_n = {**env, "ASSISTANT_HOME": str(home)}
        fresh, fresh_answer, fresh_load = ask(question, env_n)
        states = sorted((home / PREFIX_STATES).glob("*.state"))
        restored, restored_answer, restored_load = ask(question, env_n)
        rows.append({"question": question, "from_nothing_s": fresh, "restored_s": restored,
                     "ratio": restored / fresh, "same_answer": fresh_answer == restored_answer,
                     "answer": restored_answer.split("\n\n")[0], "loads": [fresh_load, restored_load],
                     "states": {p.name.split(".")[-3]: p.stat().st_size for p in states}})
        print(f"{question}: {fresh:.1f} s -> {restored:.1f} s", file=sys.stderr)
    return rows


def render(m: dict) -> str:
    rows = m["questions"]
    states = ", ".join(f"{role} {size / 1e6:.1f} MB" for role, size in rows[0]["states"].items())
    lines = [
        "# Cold start",
        "",
        f"Run {m['started']}: `{m['command']}`",
        "",
        "A new `python -m assistant ask` process per answer (`--llm` " + m["llm"] + "): each question first with no "
        "saved prompt prefixes (the model roles process their instructions and examples from nothing), then again "
        f"restoring the states that first run saved ({states}).",
        "",
        "| questions | from nothing p50 | restored p50 | **restored / from nothing, p50** | same answers |",
        "|---|---|---|---|---|",
        f"| {len(rows)} | {m['from_nothing_p50']:.1f} s | {m['restored_p50']:.1f} s | **{m['ratio_p50']:.2f}** | "
        f"{sum(r['same_answer'] for r in rows)} / {len(rows)} |",
        "",
        "| question | load | from nothing | restored | ratio | same answer |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['question']} | {r['loads'][0]} | {r['from_nothing_s']:.1f} s | {r['restored_s']:.1f} s | "
              f"{r['ratio']:.2f} | {r['same_answer']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--llm", default="llamacpp")
    args = parser.parse_args()
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        rows = cold_starts(pick_questions(args.questions)[0], args.llm, Path(scratch))
    metrics = {"benchmark": "cold", "started": started.isoformat(timespec="seconds"),
               "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "machine": machine(),
               "llm": args.llm, "questions": rows,
               "from_nothing_p50": median(r["from_nothing_s"] for r in rows),
               "restored_p50": median(r["restored_s"] for r in rows), "ratio_p50": median(r["ratio"] for r in rows)}
    publish("cold", metrics, render, started)


if __name__ == "__main__":
    main()
