"""The CLI contract other tools rely on: command names, flags, JSON keys, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from .conftest import REPO, SEED
from .corpus import page_of, write_corpus
from .servers import Server, free_port


def cli(*args, tmp_path, check=True):
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"), "ASSISTANT_LLM": "extractive"}
    done = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_ask_json(tmp_path):
    cli("ingest", "--index", str(tmp_path / "ix"), tmp_path=tmp_path)  # asking never indexes: tests/test_first_use.py
    done = cli("ask", "What does Article 5 cover?", "--json", "--index", str(tmp_path / "ix"), "-k", "3",
               tmp_path=tmp_path)
    payload = json.loads(done.stdout)
    assert set(payload) >= {"answer", "refused", "citations", "passages", "timings"}
    assert payload["refused"] is False
    text = SEED.read_text(encoding="utf-8")
    for c in payload["citations"]:
        assert set(c) == {"n", "source", "chunk_id", "quote", "start", "end", "page", "section"}
        assert text[c["start"]:c["end"]] == c["quote"]
    assert 1 <= len(payload["passages"]) <= 3


def test_ingest_then_ask_in_plain_text(tmp_path):
    index = str(tmp_path / "ix")
    first = cli("ingest", "seeds", "--index", index, tmp_path=tmp_path)
    assert "1 added" in first.stdout
    again = cli("ingest", "seeds", "--index", index, tmp_path=tmp_path)
    assert "0 added" in again.stdout and "1 unchanged" in again.stdout
    done = cli("ask", "Who won the 2018 World Cup?", "--index", index, "--llm", "extractive", tmp_path=tmp_path)
    assert "don't say" in done.stdout and "Closest passages" in done.stdout


def test_bad_question_exits_with_a_clear_error(tmp_path):
    done = cli("ask", "   ", "--index", str(tmp_path / "ix"), tmp_path=tmp_path, check=False)
    assert done.returncode == 2 and "question is empty" in done.stderr


def test_missing_path_is_reported(tmp_path):
    done = cli("ingest", "no/such/folder", "--index", str(tmp_path / "ix"), tmp_path=tmp_path, check=False)
    assert done.returncode == 2 and "no such file or folder" in done.stderr


def test_ask_within_sources_with_pages_and_sections(tmp_path):
    """A generated 4-page PDF (page 2 blank) and a Markdown file with headings both tell a sample size."""
    pdf, notes = write_corpus(tmp_path / "docs")
    index = str(tmp_path / "ix")
    cli("ingest", str(tmp_path / "docs"), "--index", index, tmp_path=tmp_path)

    def ask(question, *sources, json_out=True, check=True):
        args = [a for s in sources for a in ("--source", s)] + (["--json"] if json_out else [])
        return cli("ask", question, "--index", index, *args, tmp_path=tmp_path, check=check)

    from_pdf = json.loads(ask("How many nurses were in the sample?", "*.pdf").stdout)
    assert from_pdf["citations"] and {c["source"] for c in from_pdf["citations"]} == {pdf.as_posix()}
    assert {p["source"] for p in from_pdf["passages"]} == {pdf.as_posix()}
    assert [(c["page"], c["section"]) for c in from_pdf["citations"] if "412" in c["quote"]] == [(3, None)]
    assert all(c["page"] == page_of(c["quote"]) for c in from_pdf["citations"])

    # a path works as well as a glob
    from_notes = json.loads(ask("How many keepers were in the sample?", str(notes), "trial-*").stdout)
    assert {p["source"] for p in from_notes["passages"]} == {pdf.as_posix(), notes.as_posix()}
    cited = [(c["page"], c["section"]) for c in from_notes["citations"] if "38 lighthouse keepers" in c["quote"]]
    assert cited == [(None, "Methods")]

    plain = ask("How many nurses were in the sample?", "*.pdf", json_out=False)
    assert "trial-report.pdf (p. 3) @" in plain.stdout

    missing = ask("How many nurses were in the sample?", "*.docx", check=False)
    assert missing.returncode == 2 and "no indexed document matches '*.docx'" in missing.stderr


def test_the_page_runs_its_exit_handlers_on_sigterm(tmp_path):
    # SIGTERM (docker stop, systemd) used to end the page at once, before any exit handler ran (the removal of its
    # download folder among them). The child's sitecustomize registers one more handler, which leaves a mark.
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, pathlib\natexit.register(pathlib.Path(__file__).with_name('exited').touch)\n")
    port = free_port()
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"), "ASSISTANT_LLM": "extractive",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    page = Server([sys.executable, "-m", "assistant", "ui", "--port", str(port), "--index", str(tmp_path / "ix")],
                  f"http://127.0.0.1:{port}/", tmp_path / "ui.log", timeout=300, env=env, cwd=REPO).start()
    page.process.send_signal(signal.SIGTERM)
    # 0 once the server closed, 130 (as for Ctrl-C) when the signal came while it was still starting
    assert page.process.wait(timeout=60) in (0, 130), (tmp_path / "ui.log").read_text()[-3000:]
    assert (tmp_path / "exited").exists()
