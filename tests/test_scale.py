"""The scale path: a real Chroma server shared by several workers, and answers from an OpenAI-compatible server.

The Chroma server comes from ``ASSISTANT_TEST_CHROMA_URL`` when CI started one, else from a session fixture that
runs ``chroma run`` on a free loopback port. The LLM server is tests/test_llm.py's real ``llama_cpp.server``.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.documents import load_file
from assistant.store import make_client
from assistant.types import Answer, Evidence
from tests.conftest import SEED, make_settings
from tests.servers import ChromaServer
from tests.test_llm import llama_server  # noqa: F401  (a fixture: the real server, started once per module)

CHROMA_URL_ENV = "ASSISTANT_TEST_CHROMA_URL"
DEFEND_JAPAN = "The United States is obligated under Article 5 to help Japan defend its territories"


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory) -> str:
    """CI's Chroma server if it exported one, else our own `chroma run` on loopback for this session."""
    given = os.environ.get(CHROMA_URL_ENV)
    if given:
        yield given.rstrip("/")
        return
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.fail("the `chroma` CLI is not installed (it comes with chromadb)")
    server = ChromaServer(chroma, tmp_path_factory.mktemp("chroma-server")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def collection(chroma_url) -> str:
    """A fresh collection per test (Chroma names: 3-512 characters of [a-zA-Z0-9._-]), dropped afterwards so a
    long-lived CI server does not accumulate them."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    client = make_client(Settings(chroma_url=chroma_url))
    for existing in client.list_collections():
        if existing.name in (name, f"{name}-manifest"):  # the index's chunks and its manifest
            client.delete_collection(existing.name)


def assert_verified(answer: Answer) -> None:
    """A refusal cites nothing; otherwise every quote is the exact source span and its [n] is in the text."""
    if answer.refused:
        assert answer.citations == [], answer
        return
    assert answer.citations, answer
    for c in answer.citations:
        assert load_file(Path(c.source)).text[c.start : c.end] == c.quote, c
        assert f"[{c.n}]" in answer.text, (c.n, answer.text)


def test_workers_share_one_server_index(tmp_path, chroma_url, collection):
    first = Assistant(make_settings(tmp_path / "worker1", chroma_url=chroma_url, collection=collection))
    second = Assistant(make_settings(tmp_path / "worker2", chroma_url=chroma_url, collection=collection))
    seed = load_file(SEED).source
    try:
        report = first.ingest()
        assert report.added == [seed] and report.chunks_written > 0, report.summary()

        answer = first.answer("What does Article 5 cover?")
        assert not answer.refused
        assert any(DEFEND_JAPAN in c.quote for c in answer.citations), answer.text
        assert_verified(answer)

        again = first.ingest()
        assert (again.added, again.updated, again.unchanged, again.chunks_written) == ([], [], [seed], 0)
        assert first.index.chunks.count() == report.chunks_written  # no duplicate chunks either

        # A second worker (its own process in production) finds the documents on the server, indexes nothing.
        assert second.ensure_indexed() is None
        assert second.index.committed() == first.index.committed()
        seen = second.answer("What does Article 5 cover?")
        assert [(c.source, c.start, c.end) for c in seen.citations] == [
            (c.source, c.start, c.end) for c in answer.citations
        ]
        assert_verified(seen)
        assert not (tmp_path / "worker1" / "index").exists() and not (tmp_path / "worker2" / "index").exists()
    finally:
        first.close()
        second.close()


def test_a_document_added_by_one_worker_is_answered_by_another(tmp_path, chroma_url, collection):
    note = tmp_path / "lighthouse.md"
    note.write_text(
        "# Harbour log\n\nThe Varnholm lighthouse was relit on 3 March after a storm broke its lens.\n",
        encoding="utf-8",
    )
    first = Assistant(make_settings(tmp_path / "worker1", chroma_url=chroma_url, collection=collection))
    second = Assistant(make_settings(tmp_path / "worker2", chroma_url=chroma_url, collection=collection))
    try:
        first.ingest()
        assert first.answer("When was the Varnholm lighthouse relit?").refused  # not indexed yet
        second.ingest([note])
        answer = first.answer("When was the Varnholm lighthouse relit?")  # no restart: first sees the new version
        assert not answer.refused
        assert any("relit on 3 March" in c.quote and c.source == load_file(note).source for c in answer.citations)
        assert_verified(answer)
    finally:
        first.close()
        second.close()


def test_llm_server_streams_a_verified_answer(
    tmp_path, chroma_url, collection, llama_server, monkeypatch  # noqa: F811  (the imported fixture)
):
    """The whole scale path: Chroma server for retrieval, llama_cpp.server (SmolLM2, --n_ctx 4096) for the draft."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = make_settings(tmp_path, chroma_url=chroma_url, collection=collection, llm="openai:smollm2")
    with Assistant(settings) as assistant:
        assistant.ingest()
        items = list(assistant.stream("What does Article 5 cover?"))
    evidence, *pieces, final = items
    assert isinstance(evidence, Evidence) and isinstance(final, Answer)
    assert len(pieces) >= 2 and all(isinstance(p, str) for p in pieces)  # drafted piece by piece, not in one go
    assert final.backend.startswith("openai:smollm2")
    assert final.passages and "first_token" in final.timings
    assert_verified(final)


def test_status_reads_a_chroma_server_without_changing_it(tmp_path, chroma_url, collection):
    from assistant.status import gather

    settings = dict(chroma_url=chroma_url, collection=collection, home=tmp_path / "home", llm="extractive")
    before = gather(**settings)
    assert before["chroma_server"]["answers"] is True and before["chroma_server"]["url"] == chroma_url
    assert (before["index"]["documents"], before["index"]["chunks"]) == (0, 0)
    names = {c.name for c in make_client(Settings(chroma_url=chroma_url)).list_collections()}
    assert collection not in names and f"{collection}-manifest" not in names  # looking created nothing

    with Assistant(make_settings(tmp_path, chroma_url=chroma_url, collection=collection)) as assistant:
        report = assistant.ingest()
    after = gather(**settings)["index"]
    assert after["documents"] == 1 and after["chunks"] == report.chunks_written and after["last_commit"]
    assert after["path"] is None and after["embed_model"] == "all-MiniLM-L6-v2 (torch)"
