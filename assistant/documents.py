"""Load files into plain text plus metadata. Offsets elsewhere refer to ``SourceDocument.text``.

For .txt/.md that text is the file itself, character for character; for .html/.pdf/.docx it is the text the
well-kept parser (BeautifulSoup, pypdf, python-docx) extracts, and ``load_file`` gives it back again.
Where the format has them, page breaks (PDF) and headings (Markdown, HTML, DOCX) are kept as offsets into that
text, so any span can be told its page and section (``SourceDocument.locations``).
Anything that cannot be read becomes an ``UnreadableFile`` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024  # a .docx that inflates past this is treated as a zip bomb
MAX_HEADING_CHARS = 200
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Markdown: ATX headings ("## Methods"), setext underlines ("Methods" over "-------"), code fences
_ATX = re.compile(r" {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r" {0,3}(```|~~~)")

Location = tuple[int, "int | None", "str | None"]  # (offset, page there, section there)


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
    pages: tuple[tuple[int, int], ...] = ()  # (offset where a page's text starts, its 1-based number): PDFs
    headings: tuple[tuple[int, str], ...] = ()  # (offset of a heading, its text), in order

    def page_at(self, offset: int) -> int | None:
        i = bisect_right([o for o, _ in self.pages], offset)
        return self.pages[i - 1][1] if i else None

    def section_at(self, offset: int) -> str | None:
        """The nearest heading at or before ``offset``."""
        i = bisect_right([o for o, _ in self.headings], offset)
        return self.headings[i - 1][1] if i else None

    def locations(self, start: int, end: int) -> list[Location]:
        """Where ``[start, end)`` lies: (offset, page, section) at ``start`` and at each page break or heading
        inside it; empty when the document has neither."""
        if not (self.pages or self.headings):
            return []
        changes = sorted({o for o, _ in self.pages} | {o for o, _ in self.headings})
        return [(o, self.page_at(o), self.section_at(o)) for o in [start, *(c for c in changes if start < c < end)]]


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


def _heading_text(text: str) -> str:
    return " ".join(text.split())[:MAX_HEADING_CHARS]


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """(offset of the line, heading text) for ATX and setext headings outside code fences and front matter."""
    headings: list[tuple[int, str]] = []
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    fence, previous = None, None  # the open fence marker; the last plain text line (index), for setext
    first = 0
    if lines and lines[0].rstrip() == "---":  # YAML front matter: its closing "---" is no setext underline
        first = next((i + 1 for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), 0)
    for i in range(first, len(lines)):
        line = lines[i].rstrip("\r\n")
        fenced = _FENCE.match(line)
        if fence:
            if fenced and fenced.group(1) == fence:
                fence = None
            continue
        if fenced:
            fence, previous = fenced.group(1), None
            continue
        atx = _ATX.match(line)
        if atx and atx.group(1).strip("# \t"):
            headings.append((offsets[i], _heading_text(atx.group(1))))
            previous = None
        elif _SETEXT.match(line) and previous is not None:
            headings.append((offsets[previous], _heading_text(lines[previous])))
            previous = None
        else:
            previous = i if line.strip() else None
    return sorted(headings)


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden(tag) -> bool:
    return tag.has_attr("hidden") or bool(_HIDDEN_STYLE.search(tag.get("style") or ""))


def _html(data: bytes, path: Path) -> tuple[str, str, list[tuple[int, str]]]:
    """The text a reader of the page gets: comments (left out by get_text), scripts, styles and elements hidden
    from everyone are not part of it; an image's alt text is, in the image's place, as a screen reader reads it."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for tag in soup.find_all(_hidden):
        if not tag.decomposed:  # not already gone with a hidden parent
            tag.decompose()
    for image in soup.find_all("img"):
        alt = " ".join((image.get("alt") or "").split())
        image.replace_with(f"\n[image: {alt}]\n" if alt else "")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    # The text is soup.get_text("\n") with each line stripped and blank lines dropped; a heading is noted where
    # its first string starts in that raw text, then moved to the output line holding it.
    raw, pending, seen, pos = [], [], set(), 0
    for piece in soup.strings:
        heading = piece.find_parent(HTML_HEADINGS)
        if heading is not None and id(heading) not in seen and piece.strip():
            seen.add(id(heading))
            pending.append((pos + len(piece) - len(piece.lstrip()), _heading_text(heading.get_text(" "))))
        raw.append(piece)
        pos += len(piece) + 1
    lines, headings, raw_at, out_at = [], [], 0, 0
    for line in "\n".join(raw).splitlines(keepends=True):
        stripped = line.strip()
        raw_at += len(line)
        if not stripped:
            continue
        while pending and pending[0][0] < raw_at:
            headings.append((out_at, pending.pop(0)[1]))
        lines.append(stripped)
        out_at += len(stripped) + 1
    return "\n".join(lines), title, headings


WHITE = 0.95  # a fill colour this close to white is invisible on a white page


def _is_white(operator: bytes, operands: list) -> bool:
    values = [float(v) for v in operands if isinstance(v, (int, float))]
    if not values or len(values) != len(operands):
        return False  # a pattern or a named colour: not plain white
    if len(values) == 4 or operator == b"k":
        return all(v <= 1 - WHITE for v in values)  # CMYK: no ink
    return all(v >= WHITE for v in values)  # gray or RGB


def _pdf_page_text(page) -> str:
    """The page's text without text drawn in white, which a reader of the page never sees (a place to hide
    instructions or planted facts). Invisible text (render mode 3) stays: it is how OCR layers scanned pages.

    pypdf reports text in pieces, after the operators that drew it; a piece counts as white only if every
    text-showing operator behind it drew in white, so mixed lines are kept (and left to the injection filter)."""
    fill_white = [False]
    saved: list[bool] = []
    shown: list[bool] = []  # whiteness of each text-showing operator since the last piece came out
    pieces: list[tuple[str, bool]] = []

    def before(operator, operands, cm, tm):
        if operator == b"q":
            saved.append(fill_white[0])
        elif operator == b"Q":
            fill_white[0] = saved.pop() if saved else False
        elif operator in (b"g", b"rg", b"k", b"sc", b"scn"):
            fill_white[0] = _is_white(operator, operands)
        elif operator == b"cs":
            fill_white[0] = False  # a new colour space starts from black
        elif operator in (b"Tj", b"TJ", b"'", b'"'):
            shown.append(fill_white[0])

    def visit(text, cm, tm, font, size):
        white = bool(text.strip()) and bool(shown) and all(shown)
        if text.strip():
            shown.clear()
        pieces.append((text, white))

    text = page.extract_text(visitor_operand_before=before, visitor_text=visit) or ""
    if not any(white for _, white in pieces):
        return text  # pypdf's own text, exactly as before
    kept: list[str] = []
    after_white = False
    for piece, white in pieces:
        if not piece:
            continue
        if white or (after_white and not piece.strip()):  # the line break after a dropped line goes with it
            after_white = white
            continue
        kept.append(piece)
        after_white = False
    return "".join(kept)


def _pdf(path: Path) -> tuple[str, str, list[tuple[int, int]]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise UnreadableFile(path, "encrypted PDF")
        pages = [_pdf_page_text(page) for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(path, f"malformed PDF ({exc.__class__.__name__}: {exc})") from exc
    # Pages apart as paragraphs; a page without text adds nothing but keeps the numbering of those after it.
    texts, starts, at = [], [], 0
    for number, page in enumerate(pages, start=1):
        if page.strip():
            starts.append((at, number))
            texts.append(page.strip())
            at += len(texts[-1]) + 2
    return "\n\n".join(texts), str(title), starts


def _docx(path: Path) -> tuple[str, str, list[tuple[int, str]]]:
    import docx

    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNCOMPRESSED:
                raise UnreadableFile(path, "DOCX inflates to more than 200 MB (zip bomb?)")
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(path, f"malformed DOCX ({exc.__class__.__name__}: {exc})") from exc
    texts, headings, at = [], [], 0
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            headings.append((at, _heading_text(text)))
        texts.append(text)
        at += len(text) + 2
    return "\n\n".join(texts), document.core_properties.title or "", headings


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

    title, pages, headings = "", [], []
    if suffix in (".txt", ".md"):
        text = _decode_text(data, path)
        if suffix == ".md":
            headings = markdown_headings(text)
    elif suffix in (".html", ".htm"):
        text, title, headings = _html(data, path)
    elif suffix == ".pdf":
        text, title, pages = _pdf(path)
    else:
        text, title, headings = _docx(path)
    if not text.strip():
        reason = "no text layer (scanned PDF? run OCR first)" if suffix == ".pdf" else "no text in it"
        raise UnreadableFile(path, reason)
    return SourceDocument(
        source=source_name(path),
        title=title.strip() or _first_line_title(text) or path.stem,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        root=root,
        pages=tuple(pages),
        headings=tuple(headings),
    )


def link_name(path: Path) -> str:
    """How a link is named where it was found (``source_name`` would name what it points to)."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _leads_out(path: Path, folder: Path) -> str:
    """Why ``path`` must not be read as part of ``folder`` (resolved): it resolves outside it; "" when it is inside."""
    target = path.resolve()
    if target == folder or target.is_relative_to(folder):
        return ""
    kind = "a folder" if target.is_dir() else "a file"
    return f"links to {kind} outside {link_name(folder)} ({target}); give --follow-symlinks to index it"


def _walk(folder: Path, follow_symlinks: bool) -> Iterator[tuple[Path, str]]:
    """(file, reason it is skipped or "") for everything under ``folder``, hidden names left out."""
    top = folder.resolve()
    walked: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=follow_symlinks):
        here = Path(dirpath)
        if follow_symlinks:
            real = here.resolve()
            if real in walked:  # a link back up the tree: walk each real folder once
                dirnames[:] = []
                continue
            walked.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if not follow_symlinks:
            # os.walk does not descend into linked folders; one leading outside is reported, one inside is
            # walked under its real path anyway
            for name in [d for d in dirnames if (here / d).is_symlink()]:
                dirnames.remove(name)
                if reason := _leads_out(here / name, top):
                    yield here / name, reason
        for name in filenames:
            path = here / name
            if name.startswith("."):
                continue
            if path.is_symlink() and not path.exists():
                yield path, f"broken link (to {os.readlink(path)})"
            elif path.is_file():
                yield path, "" if follow_symlinks else _leads_out(path, top)


def find_files(paths: Iterable[Path], *, follow_symlinks: bool = False) -> Iterator[tuple[Path, str, str]]:
    """Every file under ``paths`` (sorted, hidden ones skipped) with the root it was found under, and why it must
    not be read ("" when it may). Ingest stays where it was pointed: unless ``follow_symlinks``, a file that
    resolves outside the folder it was found in (a link, a link to a folder, a ``..`` target) is reported instead of
    read, so ``docs/passwd -> /etc/passwd`` never reaches the index."""
    read: set[Path] = set()  # a file reached twice (through a link) is one document: its source is its real path
    for given in paths:
        given = Path(given)
        root = source_name(given)
        if given.is_dir():
            found = sorted(_walk(given, follow_symlinks))
        elif given.is_file():
            # a file named directly is judged against the folder it is named in
            folder = Path(os.path.normpath(given.absolute())).parent.resolve()
            found = [(given, "" if follow_symlinks else _leads_out(given, folder))]
        elif given.is_symlink():
            raise FileNotFoundError(f"broken link: {given} -> {os.readlink(given)}")
        else:
            raise FileNotFoundError(f"no such file or folder: {given}")
        for path, reason in found:
            if not reason:
                if path.resolve() in read:
                    continue
                read.add(path.resolve())
            yield path, root, reason
