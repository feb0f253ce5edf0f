"""Where a span stands in its document: the 1-based PDF page and the nearest heading above it.

Loaders keep page breaks and headings as offsets (``SourceDocument.locations``); each chunk stores the ones that
concern its span in its metadata (``"locations"``, JSON), ``Passage.locations`` carries them on, and ``located``
gives a ``Citation`` the page and section where its quote starts. ``None`` where the format has no pages
(everything but PDF) or no heading precedes the quote.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import replace

from .documents import Location
from .types import Citation, Passage

METADATA_KEY = "locations"


def encode(locations: list[Location]) -> str:
    return json.dumps(locations, ensure_ascii=False, separators=(",", ":"))


def decode(metadata: dict) -> tuple[Location, ...]:
    """A chunk's locations; none for chunks stored before they were recorded (re-ingest to add them)."""
    value = metadata.get(METADATA_KEY)
    return tuple((int(o), p, s) for o, p, s in json.loads(value)) if value else ()


def merged(a: tuple[Location, ...], b: tuple[Location, ...]) -> tuple[Location, ...]:
    """Locations of two overlapping spans of one document, as one span's."""
    return tuple(sorted({loc[0]: loc for loc in (*a, *b)}.values()))


def locate(locations: tuple[Location, ...], offset: int) -> tuple[int | None, str | None]:
    """(page, section) at ``offset``; the first location stands for anything before it."""
    if not locations:
        return None, None
    i = max(bisect_right([loc[0] for loc in locations], offset), 1)
    _, page, section = locations[i - 1]
    return page, section


def located(citation: Citation, passage: Passage | None) -> Citation:
    """``citation`` with the page and section where its quote starts, read from the passage it quotes."""
    if passage is None or not passage.locations:
        return citation
    page, section = locate(passage.locations, citation.start)
    return replace(citation, page=page, section=section)


def describe(page: int | None, section: str | None) -> str:
    """ "p. 4 \u00b7 Methods", or the part of it that is known ("" when neither)."""
    return " \u00b7 ".join(part for part in (f"p. {page}" if page else "", section or "") if part)
