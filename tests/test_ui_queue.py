"""The answer queue is bounded: past ``queue_size`` waiting questions, an asker is told "busy" at once."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant
from assistant.ui.app import build_ui, serve
from tests.conftest import SEED, make_settings
from tests.servers import free_port

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from gradio_client import Client  # noqa: E402


@pytest.fixture
def slow_page(tmp_path):
    """A page whose model takes about 6 s per answer (a stand-in for a busy local model), two may wait."""
    settings = replace(make_settings(tmp_path), llm="llamacpp:smollm2", queue_size=2)
    model = FakeListChatModel(responses=["The United States would help Japan defend its territories."], sleep=0.1)
    assistant = Assistant(settings, chat_model=model)
    assistant.ingest([SEED])
    port = free_port()
    demo = serve(build_ui(assistant), settings, None, port=port, prevent_thread_lock=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    assistant.close()


def test_past_the_bound_an_asker_is_told_busy_at_once(slow_page):
    clients = [Client(slow_page, verbose=False) for _ in range(5)]
    outcomes: list[tuple[str, float]] = [("", 0.0)] * 5
    start_line = threading.Barrier(5)

    def asker(i: int) -> None:
        start_line.wait()
        time.sleep(0.3 * i)  # in order: one answering, two waiting, then two more
        started = time.monotonic()
        try:
            clients[i].predict("What does Article 5 cover?", api_name="/ask")
            outcomes[i] = ("answered", time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001  (the client raises its own error types)
            outcomes[i] = (f"{type(exc).__name__}: {exc}", time.monotonic() - started)

    threads = [threading.Thread(target=asker, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    answered = [o for o in outcomes if o[0] == "answered"]
    busy = [o for o in outcomes if "Queue is full" in o[0]]
    assert len(answered) == 3 and len(busy) == 2, outcomes
    assert all(seconds < 2 for _, seconds in busy), busy
