"""Loaders for each supported type, and bad files skipped with a reason while the rest is indexed."""

from __future__ import annotations

import zipfile

import pytest

from assistant import Assistant
from assistant.documents import UnreadableFile, load_file

from .conftest import make_settings


def _pdf(path, text):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


def _docx(path, paragraphs):
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))


def test_each_supported_type_loads_its_text(tmp_path):
    (tmp_path / "a.md").write_text("# Heading\n\nMarkdown body about owls.\n", encoding="utf-8")
    (tmp_path / "b.html").write_text(
        "<html><head><title>Page</title><script>var x='hidden';</script></head>"
        "<body><p>HTML body about foxes.</p></body></html>", encoding="utf-8")
    _pdf(tmp_path / "c.pdf", "PDF body about badgers.")
    _docx(tmp_path / "d.docx", ["DOCX body about otters."])
    assert "owls" in load_file(tmp_path / "a.md").text and load_file(tmp_path / "a.md").title == "Heading"
    html = load_file(tmp_path / "b.html")
    assert "foxes" in html.text and "hidden" not in html.text and html.title == "Page"
    assert "badgers" in load_file(tmp_path / "c.pdf").text
    assert "otters" in load_file(tmp_path / "d.docx").text


def test_crlf_text_keeps_exact_offsets(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Line one.\r\nLine two about herons.\r\n")
    assert load_file(path).text == "Line one.\r\nLine two about herons.\r\n"


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.txt", b"", "empty"),
        ("binary.txt", b"\x7fELF\x00\x00\x01\x02" * 100, "binary"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "UTF-8"),
        ("image.png", b"\x89PNG\r\n", "unsupported type"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "DOCX"),
    ],
)
def test_bad_files_raise_a_clear_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as err:
        load_file(path)
    assert reason in err.value.reason and name in str(err.value)


def test_size_limit_is_checked_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing on disk
    with pytest.raises(UnreadableFile, match="over the 50 MB limit"):
        load_file(path)


def test_pdf_without_text_layer_is_explained(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(UnreadableFile, match="no text layer"):
        load_file(tmp_path / "scan.pdf")


def test_zip_bomb_docx_is_refused(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (210 * 1024 * 1024))
    with pytest.raises(UnreadableFile, match="zip bomb"):
        load_file(path)


def test_ingest_skips_bad_files_and_indexes_the_rest(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("The lighthouse keeper feeds the gulls at dawn.\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 50)
    (folder / "notes.xyz").write_text("unsupported", encoding="utf-8")
    report = Assistant(make_settings(tmp_path)).ingest([folder])
    assert [s.split("/")[-1] for s in report.added] == ["good.md"]
    assert sorted(p.split("/")[-1] for p, _ in report.skipped) == ["binary.txt", "empty.txt", "notes.xyz"]
