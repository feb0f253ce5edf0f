"""Small generated documents with known pages and headings, shared by the scope, location and page tests."""

from __future__ import annotations

from pathlib import Path

# A PDF whose page 2 is blank, so page numbers cannot be guessed from the order of text blocks.
TRIAL_PAGES = [
    "Night shift trial. This report describes a randomised sleep trial among hospital night shift workers. "
    "Shift work disturbs the body clock, and nurses on rotating rosters report poor daytime sleep. The trial "
    "asked whether a low dose of melatonin before daytime sleep helps. It was run by the occupational health "
    "service and approved by the regional ethics committee in the spring.",
    "",
    "Recruitment. The sample size was 412 nurses, recruited from four hospitals in Leeds. Nurses were eligible "
    "after six months on night rosters. Each was assigned at random to melatonin or to a placebo tablet, and "
    "neither the nurses nor the assessors knew which. Sleep was measured with a wrist actigraph for four weeks.",
    "Outcomes. Melatonin shortened the time to fall asleep by nine minutes on average. Total sleep time rose by "
    "a quarter of an hour. Daytime alertness did not change. Two nurses stopped the tablets because of "
    "headaches. The authors recommend a larger trial with a longer follow-up before any change in guidance.",
]
FIELD_NOTES = """# Lighthouse field notes

A survey of keepers on the northern coast, written up for the archive.

## Methods

The sample size was 38 lighthouse keepers, each interviewed twice in one winter.

## Findings

Most keepers kept a written log of every passing ship, and wrote home to their families once a week.
"""


def flat(text: str) -> str:
    """Text with its whitespace runs as single spaces: a PDF's text wraps its lines where the page did."""
    return " ".join(text.split())


def page_of(quote: str) -> int:
    """The 1-based page of TRIAL_PAGES holding ``quote``."""
    return next(n for n, text in enumerate(TRIAL_PAGES, start=1) if text and flat(quote) in text)


def write_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def write_corpus(folder: Path) -> tuple[Path, Path]:
    """trial-report.pdf (4 pages, page 2 blank) and field-notes.md (two sections): both tell a sample size."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = write_pdf(folder / "trial-report.pdf", TRIAL_PAGES)
    notes = folder / "field-notes.md"
    notes.write_text(FIELD_NOTES, encoding="utf-8")
    return pdf, notes
