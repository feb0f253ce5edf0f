"""The page's API through gradio_client against a live server, plus its pure helpers (rendering, uploads)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.answering import REFUSAL
from assistant.types import Answer, Citation, Passage
from assistant.ui.app import launch
from assistant.ui.render import answer_html, cite_id, sources_html
from assistant.uploads import MAX_NAME_CHARS, UploadRejected, safe_upload_name, store_upload
from tests.servers import free_port
from tests.conftest import SEED, make_settings

# gradio_client reads these in the client process; assistant.config set them already, this makes it explicit.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("ui-api"))


@pytest.fixture(scope="module")
def server(app_settings):
    port = free_port()
    demo = launch(port=port, settings=app_settings, prevent_thread_lock=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def source_text(source: str) -> str:
    return Path(source).read_text(encoding="utf-8")


# --- the live API ----------------------------------------------------------------------------------------------


def test_ask_endpoint_returns_verified_citations(client):
    result = client.predict("What does Article 5 cover?", api_name="/ask")
    assert not result["refused"]
    assert result["citations"], result
    for citation in result["citations"]:
        assert citation["quote"] == source_text(citation["source"])[citation["start"] : citation["end"]]
        assert f"[{citation['n']}]" in result["answer"]
    assert any("obligated under Article 5 to help Japan defend" in c["quote"] for c in result["citations"])
    assert result["backend"] == "extractive"


def test_ask_endpoint_passes_history_to_the_pipeline(client):
    """A vague follow-up is read in the light of the previous question: retrieval changes with the history."""
    history = [
        {"role": "user", "content": "Which islands do China and Japan clash over?"},
        {"role": "assistant", "content": "The Senkaku Islands [1]."},
    ]
    alone = client.predict("What is it called in China?", api_name="/ask")
    followed = client.predict("What is it called in China?", history, api_name="/ask")
    ranked = lambda result: [p["chunk_id"] for p in result["passages"]]  # noqa: E731
    assert ranked(followed) != ranked(alone)


def test_ask_endpoint_asks_within_sources(client):
    result = client.predict("What does Article 5 cover?", [], ["us-japan-*.txt"], api_name="/ask")
    assert result["citations"] and all(c["source"].endswith(SEED.name) for c in result["citations"])
    with pytest.raises(AppError, match="no indexed document matches '\\*.pdf'"):
        client.predict("What does Article 5 cover?", [], ["*.pdf"], api_name="/ask")


def test_empty_question_is_a_clear_error(client):
    with pytest.raises(AppError, match="question is empty"):
        client.predict("   ", api_name="/ask")


def test_malformed_history_is_a_clear_error(client):
    with pytest.raises(AppError, match="history must be a list"):
        client.predict("What does Article 5 cover?", [{"role": "system", "content": 3}], api_name="/ask")


def test_only_the_ask_endpoint_is_public(client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


def test_login_when_auth_is_set(app_settings, server):
    port = free_port()
    demo = launch(port=port, settings=replace(app_settings, auth="reader:s3cret"), prevent_thread_lock=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False).predict("What does Article 5 cover?", api_name="/ask")
        logged_in = Client(url, auth=("reader", "s3cret"), verbose=False)
        result = logged_in.predict("What does Article 5 cover?", api_name="/ask")
        assert result["citations"]
    finally:
        demo.close()


# --- uploads ----------------------------------------------------------------------------------------------------


@pytest.fixture
def uploaded(tmp_path):
    path = tmp_path / "incoming" / "upload.bin"
    path.parent.mkdir()
    path.write_text("Lighthouse log.\n", encoding="utf-8")
    return path


def test_path_traversal_stays_in_docs_dir(tmp_path, uploaded):
    docs = tmp_path / "a" / "b" / "documents"
    kept = store_upload(uploaded, "../../evil.txt", docs, max_bytes=1024)
    assert kept.parent == docs.resolve()
    assert kept.name == "evil.txt"
    assert not (tmp_path / "a" / "evil.txt").exists() and not (docs.parent.parent / "evil.txt").exists()
    assert sorted(p.name for p in docs.iterdir()) == ["evil.txt"]  # no temp file left behind


@pytest.mark.parametrize(
    "name, expected",
    [
        ("..\\..\\windows.md", "windows.md"),
        ("/etc/cron.d/job.txt", "job.txt"),
        (".hidden.md", "hidden.md"),
        ("<>.md", "upload.md"),
        ("notes <1>?.MD", "notes _1.md"),
    ],
)
def test_upload_names_are_sanitised(name, expected):
    assert safe_upload_name(name) == expected


def test_long_names_are_capped():
    name = safe_upload_name("x" * 500 + ".pdf")
    assert len(name) == MAX_NAME_CHARS and name.endswith(".pdf")


def test_unsupported_type_is_refused(tmp_path, uploaded):
    with pytest.raises(UploadRejected, match="unsupported type .exe"):
        store_upload(uploaded, "setup.exe", tmp_path / "documents", max_bytes=1024)
    assert not (tmp_path / "documents").exists() or not any((tmp_path / "documents").iterdir())


def test_too_big_is_refused(tmp_path, uploaded):
    with pytest.raises(UploadRejected, match="over the"):
        store_upload(uploaded, "log.txt", tmp_path / "documents", max_bytes=8)


def test_a_symlink_in_docs_dir_is_replaced_not_followed(tmp_path, uploaded):
    docs = tmp_path / "documents"
    docs.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    (docs / "log.txt").symlink_to(outside)
    kept = store_upload(uploaded, "log.txt", docs, max_bytes=1024)
    assert outside.read_text(encoding="utf-8") == "keep me"
    assert not kept.is_symlink() and kept.read_text(encoding="utf-8") == "Lighthouse log.\n"


# --- rendering ---------------------------------------------------------------------------------------------------

TEXT = SEED.read_text(encoding="utf-8")
QUOTE = (
    "The United States is obligated under Article 5 to help Japan defend its territories in the case of an armed attack."
)


def turn(question: str, answer: Answer) -> dict:
    return {"question": question, "status": "answered", "answer": answer.to_dict()}


def seed_answer() -> Answer:
    start = TEXT.index(QUOTE)
    passage = Passage("c3", str(SEED), TEXT[start : start + 400], start, start + 400, relevance=0.3)
    other = Passage("c1", str(SEED), TEXT[61:300], 61, 300, relevance=0.1)
    citation = Citation(1, str(SEED), "c3", QUOTE, start, start + len(QUOTE))
    return Answer(text=f"{QUOTE[:-1]} [1]. <script>x</script> [7]", citations=[citation], passages=[other, passage])


def test_answer_markers_link_to_their_source_entry():
    rendered = answer_html(seed_answer(), turn=2)
    assert f'<a class="cite" href="#{cite_id(2, 1)}">[1]</a>' in rendered
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="#cite-2-7"' not in rendered  # a marker with no citation is not a link


def test_sources_panel_highlights_the_quote_and_folds_the_rest():
    answer = seed_answer()
    panel = sources_html([turn("first?", answer), turn("What does Article 5 cover?", answer)])
    assert f'id="{cite_id(1, 1)}"' in panel and f'id="{cite_id(0, 1)}"' in panel
    assert f"<mark>{QUOTE}</mark>" in panel
    assert "1 more retrieved passage</summary>" in panel
    assert panel.index("What does Article 5 cover?") < panel.index("first?")  # newest first
    assert SEED.name in panel


def test_refusal_shows_the_closest_passages():
    relevances = [0.05, 0.1, 0.02, 0.08]
    passages = [Passage(f"c{i}", str(SEED), f"passage {i}", 0, 9, relevance=r) for i, r in enumerate(relevances)]
    refusal = Answer(text=REFUSAL, passages=passages, refused=True)
    assert "refusal" in answer_html(refusal, 0)
    panel = sources_html([turn("Who won the 1998 World Cup?", refusal)])
    assert "The documents don't say" in panel
    shown = [p.text for p in passages if p.text in panel]
    assert shown == ["passage 0", "passage 1", "passage 3"]  # the three most relevant
