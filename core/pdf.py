"""PDFs we send out (a care plan for fax, a care-gap report): letter pages, built-in fonts, and a
confidentiality line on every page naming the sender. fpdf2, pure Python: no font files or system
libraries to ship or find."""

from __future__ import annotations

from fpdf import FPDF

_PLAIN_TEXT = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "•": "-"})


def latin1(text: str) -> str:
    """The built-in fonts cover Latin-1 only: typographic punctuation becomes plain, anything else
    outside Latin-1 a question mark."""
    return text.translate(_PLAIN_TEXT).encode("latin-1", "replace").decode("latin-1")


class ConfidentialDocument(FPDF):
    """A letter-size document whose every page says it holds PHI and who sent it, and ends with
    `footer_text` and the page number."""

    footer_text = ""

    def __init__(self, sender: str, *, orientation: str = "portrait"):
        super().__init__(orientation=orientation, format="letter")
        self.sender = sender
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def header(self) -> None:
        self.set_font("Helvetica", "B", 8)
        self.cell(
            0,
            5,
            latin1(f"CONFIDENTIAL: protected health information. From {self.sender}."),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, latin1(f"{self.footer_text} - page {self.page_no()}"))

    def line(self, text: str, size: int = 11, style: str = "", gap: float = 0) -> None:
        """A paragraph that wraps at the margins."""
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        if gap:
            self.ln(gap)
