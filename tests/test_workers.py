"""Several workers on one Chroma server: two `assistant ui` processes (each with its own home, as on two machines,
so each keeps its own lexical index) answer from a document that a third process ingests, within 5 s of its
commit, without a restart. The extractive backend keeps this about retrieval freshness, not model speed."""

from __future__ import annotations

import os
import sys
import subprocess
import threading
import time
from pathlib import Path

from assistant.store import Index
from tests.conftest import REPO, make_settings
from tests.servers import Server, free_port
from tests.test_scale import chroma_url, collection  # noqa: F401  (fixtures: the server, a fresh collection)

os.environ["HF_HUB_OFFLINE"] = "1"  # gradio_client reads these at import
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from gradio_client import Client  # noqa: E402

FRESHNESS_S = 5.0
QUESTION = "When was the Varnholm lighthouse relit?"


def _env(home: Path, chroma: str, name: str) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_CHROMA_URL": chroma, "ASSISTANT_COLLECTION": name,
            "ASSISTANT_LLM": "extractive", "ASSISTANT_SEEDS_DIR": str(home / "no-seeds")}


class Worker(Server):
    """`assistant ui` in its own process, with its own home (its own lexical copy, as on another machine)."""

    def __init__(self, home: Path, chroma: str, name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.home = home
        home.mkdir(parents=True)
        super().__init__([sys.executable, "-m", "assistant", "ui", "--port", str(self.port), "--llm", "extractive"],
                         self.url, home / "ui.log", timeout=300, env=_env(home, chroma, name), cwd=REPO)


def cites(result: dict, name: str) -> bool:
    return not result["refused"] and any(c["source"].endswith(name) for c in result["citations"])


def test_two_ui_workers_answer_from_a_document_ingested_elsewhere(tmp_path, chroma_url, collection):  # noqa: F811
    seed = make_settings(tmp_path / "seeder", chroma_url=chroma_url, collection=collection)
    index = Index(seed)
    index.sync([REPO / "seeds"])  # the workers start on an index that already has documents
    workers = [Worker(tmp_path / f"worker{i}", chroma_url, collection).start() for i in (1, 2)]
    try:
        clients = [Client(w.url, verbose=False) for w in workers]
        for client in clients:
            assert not client.predict("What does Article 5 cover?", [], api_name="/ask")["refused"]
            assert not cites(client.predict(QUESTION, [], api_name="/ask"), "lighthouse.md")

        note = tmp_path / "lighthouse.md"
        note.write_text("# Harbour log\n\nThe Varnholm lighthouse was relit on 3 March after a storm broke its "
                        "lens.\n", encoding="utf-8")
        ingest = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(note)], cwd=REPO,
                                  env=_env(tmp_path / "ingester", chroma_url, collection),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The commit is the manifest entry switching to the note's version; time the workers from when it is seen.
        deadline = time.monotonic() + 600
        while not any(s.endswith("lighthouse.md") and e["sha256"] for s, e in index.manifest().items()):
            assert ingest.poll() in (None, 0), ingest.stdout.read()
            assert time.monotonic() < deadline, "the ingest did not commit"
            time.sleep(0.05)
        committed_at = time.monotonic()
        answered: dict[int, float] = {}

        def poll(i: int, client: Client) -> None:  # one thread per worker: neither waits on the other's answers
            while time.monotonic() - committed_at < 30:
                if cites(client.predict(QUESTION, [], api_name="/ask"), "lighthouse.md"):
                    answered[i] = time.monotonic() - committed_at
                    return

        pollers = [threading.Thread(target=poll, args=(i, c)) for i, c in enumerate(clients)]
        for thread in pollers:
            thread.start()
        for thread in pollers:
            thread.join()
        assert ingest.wait(timeout=600) == 0, ingest.stdout.read()
        assert sorted(answered) == [0, 1], f"answered after commit: {answered}"
        assert max(answered.values()) <= FRESHNESS_S, answered
        for worker in workers:  # each caught up its own lexical copy, on its own machine's disk
            assert list((worker.home / "lexical").glob("*.sqlite3"))
    finally:
        for worker in workers:
            worker.stop()
        index.close()
