"""Conversations that last: kept in the browser (``gr.BrowserState``, encrypted in localStorage), so a reload
or a server restart loses nothing; listed, started, switched, deleted, and downloaded as Markdown.

With logins on, each user's conversations are kept apart (``{"users": {name: [...]}}``): on a shared browser
one user's page never lists another's.
"""

from __future__ import annotations

import copy
import re
import secrets
import tempfile
import uuid
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import gradio as gr

from ..types import Answer
from .page import CHANGED, OPENED, QUICK, Page
from .render import conversation_markdown

MAX_KEPT = 50  # conversations kept per user, newest first (localStorage holds about 5 MB per site)
TITLE_CHARS = 60


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_conversation() -> dict:
    return {"id": uuid.uuid4().hex, "title": "", "created": now(), "turns": []}


def new_turn(question: str, scope: list[str] | None) -> dict:
    return {"question": question, "status": "pending", "answer": None, "evidence": None, "error": "",
            "scope": scope, "rating": None, "comment": "", "feedback_id": "", "time": now()}


def with_turn(conversation: dict, turn: dict) -> dict:
    """A copy of ``conversation`` with ``turn`` as its last turn (replacing a pending last turn)."""
    updated = copy.deepcopy(conversation)
    if updated["turns"] and updated["turns"][-1]["status"] == "pending":
        updated["turns"].pop()
    updated["turns"].append(copy.deepcopy(turn))
    if not updated["title"]:
        question = " ".join(turn["question"].split())
        updated["title"] = question if len(question) <= TITLE_CHARS else question[: TITLE_CHARS - 1] + "\u2026"
    return updated


def history(conversation: dict) -> list[dict]:
    """The answered turns as chat history: a stopped draft or an error never feeds a follow-up."""
    messages: list[dict] = []
    for turn in conversation["turns"]:
        if turn["status"] == "answered":
            messages += [{"role": "user", "content": turn["question"]},
                         {"role": "assistant", "content": Answer.from_dict(turn["answer"]).text}]
    return messages


def browser_secret(home: Path) -> str:
    """The key the page's stored conversations are encrypted with: kept in ``home`` so a restart (or another
    worker sharing ``home``) can still read them."""
    path = Path(home) / "ui-secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def user_key(request: gr.Request | None) -> str:
    return (request.username if request is not None else None) or ""


def kept(saved: dict | None, user: str) -> list[dict]:
    return list(((saved or {}).get("users") or {}).get(user) or [])


def keep(saved: dict | None, user: str, conversations: list[dict]) -> dict:
    users = dict((saved or {}).get("users") or {})
    users[user] = conversations[:MAX_KEPT]
    return {"users": users}


@cache
def _exports() -> tempfile.TemporaryDirectory:
    """Where files handed to the download button go (Gradio serves its own copy): made on the first download, not
    by every process that imports the page, and removed when the process exits."""
    return tempfile.TemporaryDirectory(prefix="assistant-exports-")


def export_file(conversation: dict) -> Path | None:
    if not conversation["turns"]:
        return None
    stem = re.sub(r"[^\w\-]+", "-", conversation["title"]).strip("-")[:40] or "conversation"
    folder = Path(_exports().name) / conversation["id"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.md"
    path.write_text(conversation_markdown(conversation), encoding="utf-8")
    return path


def _label(conversation: dict) -> str:
    return f"{conversation['title']} \u00b7 {conversation['created'][:10]}"


class ConversationsPanel:
    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        self.saved = gr.BrowserState({"users": {}}, storage_key="assistant-conversations",
                                     secret=browser_secret(self.page.settings.home))
        with gr.Row():
            self.new = gr.Button("New", size="sm", variant="primary", elem_id="new-conversation", min_width=60)
            self.delete = gr.Button("Delete", size="sm", variant="secondary", elem_id="delete-conversation",
                                    min_width=60)
        self.listing = gr.Radio([], label="Conversations", elem_id="conversations", container=False)
        self.download = gr.DownloadButton("Download .md", value=None, size="sm", interactive=False,
                                          elem_id="download-conversation")

    # Each opener returns what the page shows: (conversation, saved, list, download).

    def _shown(self, conversation: dict, saved: dict, user: str) -> tuple:
        conversations = kept(saved, user)
        listing = gr.Radio(choices=[(_label(c), c["id"]) for c in conversations],
                           value=conversation["id"] if any(c["id"] == conversation["id"] for c in conversations)
                           else None)
        path = export_file(conversation)
        download = gr.DownloadButton(value=str(path) if path else None, interactive=path is not None)
        return conversation, saved, listing, download

    def restore(self, saved: dict, request: gr.Request):
        """On page load: the user's latest conversation, or a new one."""
        conversations = kept(saved, user_key(request))
        return self._shown(conversations[0] if conversations else new_conversation(), saved, user_key(request))

    def start(self, saved: dict, request: gr.Request):
        return self._shown(new_conversation(), saved, user_key(request))

    def switch(self, chosen: str | None, saved: dict, request: gr.Request):
        conversations = kept(saved, user_key(request))
        found = next((c for c in conversations if c["id"] == chosen), None)
        return self._shown(found or new_conversation(), saved, user_key(request))

    def remove(self, conversation: dict, saved: dict, request: gr.Request):
        user = user_key(request)
        rest = [c for c in kept(saved, user) if c["id"] != conversation["id"]]
        saved = keep(saved, user, rest)
        return self._shown(rest[0] if rest else new_conversation(), saved, user)

    def save(self, conversation: dict, saved: dict, request: gr.Request):
        """Every change to the open conversation is stored, newest first (an empty one is not listed)."""
        user = user_key(request)
        others = [c for c in kept(saved, user) if c["id"] != conversation["id"]]
        if conversation["turns"]:
            saved = keep(saved, user, [{**conversation, "updated": now()}, *others])
        _, saved, listing, download = self._shown(conversation, saved, user)
        return saved, listing, download

    def subscribe(self) -> None:
        self.page.subscribe(CHANGED, self.save, [self.page.conversation, self.saved],
                            [self.saved, self.listing, self.download])

    def wire(self) -> None:
        page = self.page
        shown = [page.conversation, self.saved, self.listing, self.download]
        for opened in (page.demo.load(self.restore, self.saved, shown, **QUICK),
                       self.new.click(self.start, self.saved, shown, **QUICK),
                       self.listing.input(self.switch, [self.listing, self.saved], shown, **QUICK),
                       self.delete.click(self.remove, [page.conversation, self.saved], shown, **QUICK)):
            page.publish(OPENED, opened)
