"""The chat page in Debian's chromium, one test per feature: ask and follow a citation, upload; ask within
chosen documents; a PDF citation's page; thumbs-down writes its row; a reload keeps the conversation; the
Markdown download quotes the sources exactly; examples that fit; the empty index; the queue's bound.

Each test leaves a screenshot in docs/screenshots/ (the README shows them)."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant
from assistant.documents import load_file
from assistant.feedback import feedback_path
from assistant.ui.app import build_ui, launch, serve
from tests.conftest import REPO, SEED, make_settings
from tests.corpus import write_corpus
from tests.servers import free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = REPO / "docs" / "screenshots"
LIGHTHOUSE = """# Gull Point lighthouse: the keeper's schedule

The keeper lights the lamp every evening at 18:40 and puts it out at dawn.
The brass lens is polished every Tuesday morning before nine.
Fuel oil arrives by supply boat on the first Monday of each month.
"""
TIMEOUT_MS = 120_000  # two shared cores: the first answer also warms the embedder


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One page over the seed article plus a 4-page PDF and a Markdown file with headings."""
    tmp = tmp_path_factory.mktemp("ui-browser")
    settings = make_settings(tmp)
    pdf, notes = write_corpus(tmp / "corpus")
    with Assistant(settings) as assistant:
        assistant.ingest([SEED, tmp / "corpus"])
    port = free_port()
    demo = launch(port=port, settings=settings, prevent_thread_lock=True)
    yield {"url": f"http://127.0.0.1:{port}/", "settings": settings, "pdf": pdf, "notes": notes}
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is missing: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, url: str, context=None):
    """A page in a fresh browser profile (its own localStorage) that may reach loopback only."""
    context = context or browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.off_machine = []

    def only_local(route):
        address = route.request.url
        if address.startswith(("http://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        page.off_machine.append(address)
        return route.abort()

    page.route("**/*", only_local)
    page.goto(url)
    page.locator("#chat").wait_for()
    return page


@pytest.fixture
def page(browser, app):
    page = open_page(browser, app["url"])
    yield page
    page.context.close()
    assert page.off_machine == [], f"the page tried to reach the network: {page.off_machine}"


def ask(page, question: str, turn: int) -> None:
    """Type a question and wait until answer ``turn`` (0-based) is final: its bubble links [1] to a source, and the
    sources panel shows the answer's sources, not the evidence shown while it was written (the two outputs update
    apart)."""
    from playwright.sync_api import expect

    box = page.get_by_placeholder("Ask a question about the documents")
    box.fill(question)
    box.press("Enter")
    page.locator(f'#chat a.cite[href="#cite-{turn}-1"]').first.wait_for()
    page.locator("#chat .cursor").wait_for(state="detached")
    meta = page.locator(f"#turn-{turn} > summary .meta")
    meta.wait_for()
    expect(meta).not_to_have_text("evidence")


def screenshot(page, name: str) -> None:
    page.wait_for_timeout(500)  # let scrolling and transitions settle for the picture
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def test_ask_follow_citation_upload_and_ask_again(page, tmp_path):
    from playwright.sync_api import expect

    ask(page, "What does Article 5 cover?", 0)
    first = page.locator('#chat a.cite[href="#cite-0-1"]')
    first.click()
    selected = page.locator("#sources-panel .source.selected")
    expect(selected).to_have_count(1)
    expect(selected).to_have_attribute("id", "cite-0-1")
    expect(selected).to_be_in_viewport()
    expect(selected.locator("mark")).to_contain_text("obligated under Article 5 to help Japan defend")
    expect(page.locator("#sources-panel details.more").first).to_contain_text("more retrieved passage")

    # Upload a document nothing else talks about; it is indexed with a progress bar and listed.
    doc = tmp_path / "gull-point-lighthouse.md"
    doc.write_text(LIGHTHOUSE, encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#documents")).to_contain_text("gull-point-lighthouse.md")
    expect(page.locator("#upload-note")).to_contain_text("Indexed gull-point-lighthouse.md")
    expect(page.locator("#status")).to_contain_text("4 documents")

    question = page.get_by_placeholder("Ask a question about the documents")
    question.fill("   ")
    question.press("Enter")
    expect(page.get_by_text("The question is empty")).to_be_visible()
    expect(page.locator('#chat [data-testid="user"]')).to_have_count(1)  # nothing was sent

    ask(page, "When is the brass lens polished?", 1)
    second = page.locator('#chat a.cite[href="#cite-1-1"]')
    expect(page.get_by_role("tab", name="Sources")).to_have_attribute("aria-selected", "true")
    second.click()
    expect(selected).to_have_attribute("id", "cite-1-1")
    expect(selected.locator(".file")).to_have_text("gull-point-lighthouse.md")
    expect(selected.locator("mark")).to_contain_text("polished every Tuesday morning")

    # The first answer's sources are folded away now; its [1] still brings them back.
    first.click()
    expect(selected).to_have_attribute("id", "cite-0-1")
    expect(selected).to_be_in_viewport()
    second.click()
    expect(selected).to_have_attribute("id", "cite-1-1")
    expect(selected).to_be_in_viewport()
    screenshot(page, "chat.png")


def choose_scope(page, *names: str) -> None:
    for name in names:
        page.locator("#scope input").click()
        page.get_by_role("option", name=name, exact=True).click()
    page.keyboard.press("Escape")


def test_scope_restricts_the_sources_shown(page, app):
    from playwright.sync_api import expect

    question = "How many people were in the sample?"
    ask(page, question, 0)  # all documents: both reports come up
    shown = page.locator("#turn-0 .source .file")
    expect(shown.first).to_be_visible()
    if page.locator("#turn-0 details.more").count():  # the sources not cited are folded away
        page.locator("#turn-0 details.more > summary").click()
    assert {"field-notes.md", "trial-report.pdf"} <= set(shown.all_inner_texts())

    choose_scope(page, "field-notes.md")
    ask(page, question, 1)
    within = page.locator("#turn-1")
    expect(within.locator(".note.scope")).to_contain_text("Asked within field-notes.md")
    if within.locator("details.more").count():
        within.locator("details.more > summary").click()
    names = within.locator(".source .file").all_inner_texts()
    assert names and set(names) == {"field-notes.md"}, names
    expect(within.locator(".source.cited mark").first).to_contain_text("38 lighthouse keepers")
    screenshot(page, "scope.png")


def test_a_pdf_citation_shows_its_page(page, app):
    from playwright.sync_api import expect

    choose_scope(page, "trial-report.pdf")
    ask(page, "How many nurses were in the sample?", 0)
    # The source whose quote is that sentence: another cited sentence of the same passage shows it too.
    cited = page.locator("#sources-panel .source.cited").filter(has=page.locator("mark", has_text="412 nurses")).first
    expect(cited.locator(".where")).to_have_text("p. 3")
    expect(cited.locator(".file")).to_have_text("trial-report.pdf")
    screenshot(page, "page.png")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def wait_for_row(path: Path, check, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [r for r in rows(path) if check(r)]
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no such row in {path}: {rows(path)}")


def test_thumbs_down_writes_its_row(page, app):
    from playwright.sync_api import expect

    log = feedback_path(app["settings"].home)
    question = "What did Iwaya say about deterrence?"
    ask(page, question, 0)
    page.locator("#chat").get_by_role("button", name="Dislike").last.click()
    row = wait_for_row(log, lambda r: r["question"] == question and r["rating"] == "down")
    assert row["citations"] and row["answer"] and row["backend"] == "extractive" and row["generation"]

    comment = page.locator("#feedback-text textarea")
    expect(comment).to_be_visible()
    comment.fill("It should quote the whole sentence.")
    screenshot(page, "feedback.png")
    page.locator("#feedback-send").click()
    commented = wait_for_row(log, lambda r: r["comment"] == "It should quote the whole sentence.")
    assert commented["id"] == row["id"] and commented["rating"] == "down"
    expect(comment).to_be_hidden()


def test_a_reload_keeps_the_conversation(page, app):
    from playwright.sync_api import expect

    ask(page, "What does Article 5 cover?", 0)
    page.locator("#new-conversation").click()
    expect(page.locator('#chat [data-testid="user"]')).to_have_count(0)
    ask(page, "Which islands do China and Japan dispute?", 0)
    page.locator("#chat").get_by_role("button", name="Like").last.click()

    page.reload()
    page.locator('#chat a.cite[href="#cite-0-1"]').wait_for()
    expect(page.locator('#chat [data-testid="user"]')).to_have_text(["Which islands do China and Japan dispute?"])
    conversations = page.locator("#conversations label")
    expect(conversations).to_have_count(2)
    expect(page.locator("#sources-panel")).to_contain_text("Which islands do China and Japan dispute?")

    page.locator("#conversations label", has_text="What does Article 5 cover?").click()
    expect(page.locator('#chat [data-testid="user"]')).to_have_text(["What does Article 5 cover?"])
    expect(page.locator("#sources-panel .source.cited mark").first).to_contain_text("Article 5")
    screenshot(page, "conversations.png")
    page.locator("#delete-conversation").click()
    expect(conversations).to_have_count(1)
    expect(page.locator('#chat [data-testid="user"]')).to_have_text(["Which islands do China and Japan dispute?"])


def test_the_download_is_markdown_whose_quotes_are_the_source_spans(page, app):
    ask(page, "How many nurses were in the sample?", 0)
    ask(page, "What did the keepers keep a log of?", 1)
    for _ in range(40):  # the file follows the conversation's save, which can land just after the answer is drawn
        with page.expect_download() as download:
            page.locator("#download-conversation").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        if "*(pending)*" not in exported:
            break
        page.wait_for_timeout(250)
    assert download.value.suggested_filename.endswith(".md")
    assert "## How many nurses were in the sample?" in exported and "## What did the keepers" in exported
    cited = re.findall(r"^\[(\d+)\] (.+?)(?:, (p\. \d+|[^,]+?))?, characters (\d+)\u2013(\d+):\n\n((?:>.*\n?)+)",
                       exported, re.M)
    assert len(cited) >= 2, exported
    for _, source, _, start, end, block in cited:
        quote = "\n".join(line[2:] for line in block.rstrip("\n").split("\n"))
        assert load_file(Path(source)).text[int(start):int(end)] == quote
    assert re.search(r"trial-report\.pdf, p\. 3, characters", exported)
    assert re.search(r"field-notes\.md, Findings, characters", exported)


def test_examples_fit_what_is_indexed(page, app):
    from playwright.sync_api import expect

    examples = page.locator("#chat").get_by_role("button", name=re.compile(r"^Select example"))
    expect(examples.first).to_be_visible()
    texts = examples.all_inner_texts()
    assert any("Lighthouse field notes" in t and "Methods" in t for t in texts), texts
    assert not any("Article 5" in t for t in texts)  # no fixed list about the seed article
    screenshot(page, "examples.png")
    page.locator("#chat").get_by_role("button", name=re.compile("Methods")).first.click()
    page.locator('#chat a.cite[href="#cite-0-1"]').wait_for()


def test_an_empty_index_offers_upload_instead_of_examples(browser, tmp_path):
    from playwright.sync_api import expect

    settings = make_settings(tmp_path, seeds_dir=tmp_path / "no-seeds")
    port = free_port()
    demo = launch(port=port, settings=settings, prevent_thread_lock=True)
    page = open_page(browser, f"http://127.0.0.1:{port}/")
    try:
        expect(page.locator("#chat")).to_contain_text("No documents yet")
        expect(page.locator("#chat").get_by_role("button", name=re.compile(r"^Select example"))).to_have_count(0)
        offer = page.locator("#empty-upload")
        expect(offer).to_be_visible()
        screenshot(page, "empty.png")
        doc = tmp_path / "gull-point-lighthouse.md"
        doc.write_text(LIGHTHOUSE, encoding="utf-8")
        with page.expect_file_chooser() as chooser:
            offer.click()
        chooser.value.set_files(str(doc))
        expect(offer).to_be_hidden()
        expect(page.locator("#status")).to_contain_text("1 document")
        expect(page.locator("#chat").get_by_role("button", name=re.compile("Gull Point"))).to_have_count(1)
    finally:
        page.context.close()
        demo.close()


def test_the_queue_shows_a_place_and_turns_away_past_its_bound(browser, tmp_path):
    """One slow answer runs, one waits (the bound is 1), a third asker is told at once the page is busy."""
    from playwright.sync_api import expect

    settings = replace(make_settings(tmp_path), llm="llamacpp:smollm2", queue_size=1)
    slow = FakeListChatModel(responses=["The keeper polishes the brass lens every Tuesday morning. " * 3],
                             sleep=0.15)  # about 25 s of streaming: a stand-in for a busy model
    assistant = Assistant(settings, chat_model=slow)
    assistant.ingest([SEED])
    port = free_port()
    demo = serve(build_ui(assistant), settings, None, port=port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    pages = [open_page(browser, url) for _ in range(3)]
    try:
        first, second, third = pages
        box = lambda p: p.get_by_placeholder("Ask a question about the documents")  # noqa: E731
        box(first).fill("What does Article 5 cover?")
        box(first).press("Enter")
        first.locator("#chat .draft").wait_for()  # the model is busy with it
        box(second).fill("Who took part in the 2+2 meeting?")
        box(second).press("Enter")
        expect(second.get_by_text(re.compile(r"queue: 1/1")).first).to_be_visible()  # shown by chat and box
        screenshot(second, "queue.png")
        started = time.monotonic()
        box(third).fill("What did Iwaya say about deterrence?")
        box(third).press("Enter")
        expect(third.get_by_text(re.compile("busy", re.I)).first).to_be_visible(timeout=5_000)
        assert time.monotonic() - started < 5
        expect(box(third)).to_have_value("What did Iwaya say about deterrence?")  # kept, to try again
    finally:
        for p in pages:
            p.context.close()
        demo.close()
        assistant.close()
