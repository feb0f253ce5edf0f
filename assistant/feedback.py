"""Ratings people give answers, kept as an append-only log: ``$ASSISTANT_HOME/feedback.jsonl``.

Each line is one JSON object (``FeedbackRow``). A comment added after the thumbs is a new line with the same
``id``: readers take the last line per id, so nothing is ever rewritten in place and a crash mid-write loses at
most the line being written (a torn last line is skipped when read).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

FILE_NAME = "feedback.jsonl"
RATINGS = ("up", "down")


@dataclass
class FeedbackRow:
    question: str
    answer: str
    rating: str  # "up" or "down"
    history: list[dict] = field(default_factory=list)  # the conversation before the question, as it was asked
    short_answer: str = ""
    citations: list[dict] = field(default_factory=list)  # as in ``ask --json``: n, source, quote, offsets, page...
    backend: str = ""
    comment: str = ""
    sources: list[str] | None = None  # the documents it was asked within (None: all)
    user: str = ""  # the login that rated it ("" without auth)
    generation: str = ""  # the index generation the answer came from
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


def feedback_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


def append(path: Path, row: FeedbackRow) -> FeedbackRow:
    if row.rating not in RATINGS:
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {row.rating!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(row), ensure_ascii=False) + "\n"
    with FileLock(str(path) + ".lock", timeout=30):  # several page workers may share one home
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line)
    return row


def read(path: Path, user: str | None = None) -> list[FeedbackRow]:
    """The latest version of every rated answer (of ``user`` only, if given), oldest first."""
    if not Path(path).is_file():
        return []
    latest: dict[str, FeedbackRow] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            row = FeedbackRow(**{k: v for k, v in data.items() if k in FeedbackRow.__dataclass_fields__})
        except (ValueError, TypeError):
            continue  # a torn or hand-edited line does not hide the others
        latest.pop(row.id, None)  # re-inserted: a later comment moves the row to its latest time
        latest[row.id] = row
    return [r for r in latest.values() if user is None or r.user == user]
