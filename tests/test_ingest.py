"""Ingest into a real Chroma folder with the real embedder: chunk spans, stable ids, incremental sync."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from dataclasses import replace

import pytest

from assistant import Assistant, chunking
from assistant.chunking import TokenCounter
from assistant.documents import SourceDocument, load_file
from assistant.embeddings import tokenizer_of
from assistant.lexical import LexicalIndex

from .conftest import REPO, SEED, make_settings


def _chunk_rows(assistant):
    got = assistant.index.chunks.get(include=["documents", "metadatas"])
    return dict(zip(got["ids"], zip(got["documents"], got["metadatas"])))


def test_chunks_are_verbatim_spans_with_metadata(seed_assistant):
    text = SEED.read_text(encoding="utf-8")
    rows = _chunk_rows(seed_assistant)
    assert len(rows) >= 3  # the 2.9 kB article cannot fit MiniLM's window in one piece
    for body, meta in rows.values():
        assert text[meta["start"] : meta["end"]] == body
        assert meta["source"].endswith(SEED.name)
        assert meta["title"].startswith("Cyberattack on Japan")
    indexes = sorted(meta["chunk_index"] for _, meta in rows.values())
    assert indexes == list(range(len(rows)))


def test_chunks_fit_the_embedder_window(seed_assistant):
    tokenizer = tokenizer_of(seed_assistant.index.embeddings)  # no truncation: it counts every token
    for body, _ in _chunk_rows(seed_assistant).values():
        assert len(tokenizer.encode(body, add_special_tokens=False)) <= 256


@pytest.mark.parametrize("window", [chunking.WINDOW_CHARS, 37])  # the document tokenized whole, or in many windows
def test_token_counter_counts_any_piece_as_the_tokenizer_does(seed_assistant, window, monkeypatch):
    monkeypatch.setattr(chunking, "WINDOW_CHARS", window)
    tokenizer = tokenizer_of(seed_assistant.index.embeddings)
    count = TokenCounter(tokenizer)
    text = SEED.read_text(encoding="utf-8") + " Café naïve 日本語テキスト x—y a.b.c ｆｕｌｌ supercalifragilistic, 3.5%!"
    count.use(text)
    rng = random.Random(0)
    spans = [(rng.randrange(len(text)), rng.randrange(1, 300)) for _ in range(400)]  # many start or end mid-word
    spans += [(m.start(), 80) for m in re.finditer(r"\b\w", text)][:200]  # word starts, as the splitter cuts
    for start, length in spans:
        piece = text[start : start + length]
        assert count(piece) == len(tokenizer.encode(piece, add_special_tokens=False).ids), piece


def test_a_document_that_repeats_a_passage_is_chunked_at_the_true_offsets(seed_assistant):
    article = SEED.read_text(encoding="utf-8")
    text = f"{article}\n\nInterlude between the copies.\n\n{article}\n\nThe end."  # the article twice
    doc = SourceDocument(source="twice.txt", title="twice", text=text, sha256="x")
    chunks = chunking.Chunker(tokenizer_of(seed_assistant.index.embeddings)).chunk(doc)
    starts = [c.metadata["start"] for c in chunks]
    assert starts == sorted(set(starts)) and starts[0] == 0
    for chunk in chunks:
        assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.page_content
    first_copy = [c for c in chunks if c.metadata["end"] <= len(article)]
    second_at = text.index(article, 1)
    second_copy = [c for c in chunks if c.metadata["start"] >= second_at]
    assert len(first_copy) >= 3 and len(second_copy) >= 3  # each copy chunked where it stands


def test_reingest_adds_nothing(tmp_path, corpus):
    assistant = Assistant(make_settings(tmp_path))
    first = assistant.ingest([corpus])
    ids_before = set(_chunk_rows(assistant))
    second = assistant.ingest([corpus])
    assert len(first.added) == 1 and first.chunks_written == len(ids_before)
    assert second.unchanged == first.added and second.chunks_written == 0
    assert set(_chunk_rows(assistant)) == ids_before


def test_two_versions_of_a_source_in_one_sync_leave_the_last(tmp_path, corpus):
    """Entries are looked up a window of documents at a time: one source twice in a window is one lookup."""
    assistant = Assistant(make_settings(tmp_path))
    doc = load_file(corpus / SEED.name, root=str(corpus))
    text = doc.text + "\n\nKono later visited Canberra.\n"
    later = replace(doc, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
    assistant.index.sync_documents([doc, later], roots=[str(corpus)])
    assert assistant.index.committed() == {doc.source: later.sha256}
    assert "Canberra" in assistant.index.document_text(doc.source)


def test_changed_and_deleted_files_update_the_index(tmp_path, corpus):
    assistant = Assistant(make_settings(tmp_path))
    article = corpus / SEED.name
    other = corpus / "note.md"
    other.write_text("# Note\n\nThe harbour master inspects the lighthouse every Tuesday.\n", encoding="utf-8")
    assistant.ingest([corpus])
    old_ids = {i for i, (_, m) in _chunk_rows(assistant).items() if m["source"].endswith(SEED.name)}

    article.write_text(article.read_text(encoding="utf-8") + "\n\nKono later visited Canberra.\n", encoding="utf-8")
    report = assistant.ingest([corpus])
    assert [s.split("/")[-1] for s in report.updated] == [SEED.name]
    assert report.unchanged and report.unchanged[0].endswith("note.md")
    rows = _chunk_rows(assistant)
    new_ids = {i for i, (_, m) in rows.items() if m["source"].endswith(SEED.name)}
    assert not (old_ids & new_ids), "old version's chunks must be replaced"
    new_text = load_file(article).text
    assert all(new_text[m["start"] : m["end"]] == body for body, m in rows.values() if m["source"].endswith(SEED.name))
    assert "Canberra" in " ".join(assistant.index.document_text(s) for s in assistant.index.committed())

    other.unlink()
    report = assistant.ingest([corpus])
    assert [s.split("/")[-1] for s in report.removed] == ["note.md"]
    assert not any(m["source"].endswith("note.md") for _, m in _chunk_rows(assistant).values())
    assert [d["source"].split("/")[-1] for d in assistant.index.documents()] == [SEED.name]


def test_remove_forgets_a_document(tmp_path, corpus):
    assistant = Assistant(make_settings(tmp_path))
    assistant.ingest([corpus])
    (source,) = assistant.index.committed()
    assert assistant.index.remove(source)
    assert assistant.index.chunks.count() == 0 and assistant.index.documents() == []
    assert not assistant.index.remove(source)


def test_index_reopens_from_disk(tmp_path, corpus):
    settings = make_settings(tmp_path)
    Assistant(settings).ingest([corpus])
    reopened = Assistant(settings)
    assert len(reopened.index.documents()) == 1
    assert reopened.retrieve("Senkaku Islands")[0].source.endswith(SEED.name)


def test_open_index_sees_another_process_ingest(tmp_path, corpus):
    settings = make_settings(tmp_path)
    open_one = Assistant(settings)
    open_one.ingest([corpus])
    assert open_one.retrieve("Senkaku Islands")  # its Chroma client is now live in this process
    (corpus / "ferry.md").write_text("# Ferry\n\nThe ferry to Rebun island leaves at nine.\n", encoding="utf-8")
    env = {**os.environ, "ASSISTANT_HOME": str(settings.home)}
    subprocess.run([sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(settings.index_dir)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    passages = open_one.retrieve("When does the ferry to Rebun island leave?")
    assert passages[0].source.endswith("ferry.md") and "nine" in passages[0].text


def test_document_text_keeps_every_chunk_at_its_offsets(seed_assistant):
    (source,) = seed_assistant.index.committed()
    rebuilt = seed_assistant.index.document_text(source)
    original = SEED.read_text(encoding="utf-8")
    assert len(rebuilt) == len(original.rstrip()) or len(rebuilt) == len(original)
    for body, meta in _chunk_rows(seed_assistant).values():
        assert rebuilt[meta["start"]:meta["end"]] == body


def _recording_chunk_gets(monkeypatch, index) -> list[str]:
    """Ids of every read of the index's chunks collection from here on ("<every chunk>" for a full read)."""
    collection = type(index.chunks)
    requested: list[str] = []
    original_get = collection.get

    def get(self, ids=None, **kwargs):
        if self.name == index.chunks.name:
            requested.extend(ids or ["<every chunk>"])
        return original_get(self, ids=ids, **kwargs)

    monkeypatch.setattr(collection, "get", get)
    return requested


def test_lexical_mirror_follows_the_index_reading_only_new_chunks(tmp_path, corpus, monkeypatch):
    assistant = Assistant(make_settings(tmp_path))
    (corpus / "note.md").write_text("# Note\n\nThe harbour master inspects the lighthouse every Tuesday.\n",
                                    encoding="utf-8")
    (corpus / "ferry.md").write_text("# Ferry\n\nThe ferry to Rebun island leaves at nine.\n", encoding="utf-8")
    assistant.ingest([corpus])
    index = assistant.index
    # another machine's copy (a worker of a Chroma server), brought up to date at this generation
    behind = LexicalIndex(tmp_path / "worker-copy.sqlite3")
    behind.catch_up(index)
    before = behind.chunk_ids()
    assert before == set(index.live_chunk_ids()) == index.lexical.chunk_ids()
    assert behind.search("Rebun ferry", 5)

    article = corpus / SEED.name
    article.write_text(article.read_text(encoding="utf-8") + "\n\nKono later visited Canberra.\n", encoding="utf-8")
    (corpus / "ferry.md").unlink()  # note.md stays as it was
    requested = _recording_chunk_gets(monkeypatch, index)
    assistant.ingest([corpus])
    assert requested == [], "the writer indexes the texts it has just embedded, reading none back"
    live = set(index.live_chunk_ids())
    assert index.lexical.chunk_ids() == live and index.lexical.generation() == index.generation()
    assert live & before, "the unchanged note keeps its chunks"

    behind.catch_up(index)
    assert behind.chunk_ids() == live
    assert requested and set(requested) == live - before, "only the new version's chunks are read"
    assert not behind.search("Rebun ferry", 5)
    assert behind.search("lighthouse", 5)[0][0] in live & before
    (top, _), *_ = behind.search("Canberra", 5)
    assert top in live - before


def test_a_new_process_finds_the_lexical_index_current(tmp_path, corpus, monkeypatch):
    settings = make_settings(tmp_path)
    Assistant(settings).ingest([corpus])
    reopened = Assistant(settings)
    assert reopened.index.lexical.generation() == reopened.index.generation()  # nothing to catch up
    requested = _recording_chunk_gets(monkeypatch, reopened.index)
    assert reopened.retrieve("Senkaku Islands")[0].source.endswith(SEED.name)
    assert "<every chunk>" not in requested, "nothing rebuilt: BM25 was on disk"
