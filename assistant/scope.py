"""Which documents a question is asked within: patterns, as a user types them, resolved to indexed sources.

A pattern is a glob (``*``, ``?``, ``[...]``) matched against a document's source path or its file name, or the
path of a file that is indexed. ``None`` means every document. A pattern that matches nothing is an error, not an
empty scope: asking nothing would look like a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from .documents import source_name


class ScopeError(ValueError):
    """The documents to ask within cannot be resolved as given; the message says why."""


def _matches(pattern: str, source: str) -> bool:
    if source == pattern or fnmatchcase(source, pattern) or fnmatchcase(PurePosixPath(source).name, pattern):
        return True
    path = Path(pattern).expanduser()
    return path.is_file() and source_name(path) == source  # "./docs/a.pdf", an absolute path


def resolve_scope(patterns: Iterable[str] | None, sources: Iterable[str]) -> list[str] | None:
    """The indexed ``sources`` the ``patterns`` select (sorted), or None for all documents."""
    if patterns is None:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]  # one pattern given bare: not a sequence of one-letter patterns
    patterns = [str(p) for p in patterns]
    if not patterns:
        raise ScopeError("no documents chosen: choose at least one, or ask all documents")
    sources = sorted(sources)
    chosen: set[str] = set()
    for pattern in patterns:
        matched = {s for s in sources if _matches(pattern, s)}
        if not matched:
            known = ", ".join(PurePosixPath(s).name for s in sources[:8]) + (", \u2026" if len(sources) > 8 else "")
            raise ScopeError(f"no indexed document matches {pattern!r} (indexed: {known or 'nothing'})")
        chosen |= matched
    return sorted(chosen)
