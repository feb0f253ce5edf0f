"""The chat page in Debian's chromium: ask, follow a citation to its highlighted source, upload, ask again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.ui import launch
from tests.servers import free_port
from tests.conftest import REPO, make_settings

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
ARTIFACTS = REPO / "test-artifacts"
LIGHTHOUSE = """# Gull Point lighthouse: the keeper's schedule

The keeper lights the lamp every evening at 18:40 and puts it out at dawn.
The brass lens is polished every Tuesday morning before nine.
Fuel oil arrives by supply boat on the first Monday of each month.
"""
TIMEOUT_MS = 120_000  # two shared cores: the first answer also warms the embedder


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    port = free_port()
    demo = launch(port=port, settings=make_settings(tmp_path_factory.mktemp("ui-browser")), prevent_thread_lock=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def page(page_url):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is missing: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 960})
        page.set_default_timeout(TIMEOUT_MS)
        off_machine: list[str] = []

        def only_local(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:")):
                return route.continue_()
            off_machine.append(url)
            return route.abort()

        page.route("**/*", only_local)
        page.goto(page_url)
        yield page
        browser.close()
        assert off_machine == [], f"the page tried to reach the network: {off_machine}"


def test_ask_follow_citation_upload_and_ask_again(page, tmp_path):
    from playwright.sync_api import expect

    # The empty chat offers examples; the Article 5 one asks the question.
    page.locator("#chat").get_by_text("What does Article 5 cover?").click()
    first = page.locator('#chat a.cite[href="#cite-0-1"]')
    first.wait_for()

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
    expect(page.locator("#status")).to_contain_text("2 documents")

    question = page.get_by_placeholder("Ask a question about the documents")
    question.fill("   ")
    question.press("Enter")
    expect(page.get_by_text("The question is empty")).to_be_visible()
    expect(page.locator('#chat [data-testid="user"]')).to_have_count(1)  # nothing was sent

    question.fill("When is the lens of the lighthouse polished?")
    question.press("Enter")
    second = page.locator('#chat a.cite[href="#cite-1-1"]')
    second.wait_for()
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
    page.wait_for_timeout(500)  # let the smooth scroll and the outline transition settle for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"))
