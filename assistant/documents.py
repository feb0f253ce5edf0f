"""Load files into plain text plus metadata. Offsets elsewhere refer to ``SourceDocument.text``.

For .txt/.md that text is the file itself, character for character; for .html/.pdf/.docx it is the text the
well-kept parser (BeautifulSoup, pypdf, python-docx) extracts, and ``load_file`` gives it back again.
Anything that cannot be read becomes an ``UnreadableFile`` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024  # a .docx that inflates past this is treated as a zip bomb


class UnreadableFile(ValueError):
    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SourceDocument:
    source: str  # stable name: path relative to the working directory where possible
    title: str
    text: str
    sha256: str  # of the file's bytes: the document version
    root: str = ""  # the folder it was ingested from, so deletions there can be noticed


def source_name(path: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _decode_text(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableFile(path, "binary content (NUL bytes) in a text file")
    try:
        # newline translation would shift offsets, so bytes are decoded as they are
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, f"not valid UTF-8 text (byte {exc.start}); re-save it as UTF-8") from exc


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return ""


def _html(data: bytes, path: Path) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title


def _pdf(path: Path) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise UnreadableFile(path, "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(path, f"malformed PDF ({exc.__class__.__name__}: {exc})") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip()), str(title)


def _docx(path: Path) -> tuple[str, str]:
    import docx

    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNCOMPRESSED:
                raise UnreadableFile(path, "DOCX inflates to more than 200 MB (zip bomb?)")
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(path, f"malformed DOCX ({exc.__class__.__name__}: {exc})") from exc
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    return "\n\n".join(paragraphs), document.core_properties.title or ""


def load_file(path: Path, *, root: str = "", max_bytes: int = 50 * 1024 * 1024) -> SourceDocument:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(path, f"unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            # checked before reading so a huge file never reaches memory
            raise UnreadableFile(path, f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit")
        if size == 0:
            raise UnreadableFile(path, "empty file")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read ({exc.strerror or exc})") from exc

    title = ""
    if suffix in (".txt", ".md"):
        text = _decode_text(data, path)
    elif suffix in (".html", ".htm"):
        text, title = _html(data, path)
    elif suffix == ".pdf":
        text, title = _pdf(path)
    else:
        text, title = _docx(path)
    if not text.strip():
        reason = "no text layer (scanned PDF? run OCR first)" if suffix == ".pdf" else "no text in it"
        raise UnreadableFile(path, reason)
    return SourceDocument(
        source=source_name(path),
        title=title.strip() or _first_line_title(text) or path.stem,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        root=root,
    )


def find_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Every file under ``paths`` (sorted, hidden ones skipped) with the root it was found under."""
    for given in paths:
        given = Path(given)
        root = source_name(given)
        if given.is_file():
            yield given, root
        elif given.is_dir():
            for path in sorted(given.rglob("*")):
                if path.is_file() and not any(part.startswith(".") for part in path.relative_to(given).parts):
                    yield path, root
        else:
            raise FileNotFoundError(f"no such file or folder: {given}")
