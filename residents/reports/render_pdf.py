"""A report document as PDF (ReportLab's platypus), laid out as Nghị định 30/2020/NĐ-CP asks: A4, margins top and
bottom 20 mm, left 30 mm, right 15 mm; a serif face at 13 pt; the issuing body and the national motto side by side at
the top, the title centred, the signer's block on the right and the 'Nơi nhận' list on the left; page numbers at the
top centre from the second page.

NĐ 30 names Times New Roman, which Debian does not ship; the text is set in DejaVu Serif (Debian package
fonts-dejavu-core, embedded and subset by ReportLab), which has every Vietnamese letter, so the text extracted from
the PDF (pdftotext) reads as typed. Followed: ReportLab user guide, "Using TrueType fonts" (pdfmetrics.registerFont,
TTFont, registerFontFamily) and "Platypus" (SimpleDocTemplate, Table, TableStyle, Image, KeepTogether).
"""
from __future__ import annotations

import io
import threading
import unicodedata
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from tichwatch.residents.pictures import FONT_DIR, FontMissing
from tichwatch.residents.reports import document as doc_model
from tichwatch.residents.reports.charts import SIZE as CHART_SIZE

Align = Literal[0, 1, 2, 4]
"""ReportLab's paragraph alignments (TA_LEFT, TA_CENTER, TA_RIGHT, TA_JUSTIFY)."""
FACE = "DejaVuSerifCondensed"
"""The font family the PDF registers (the condensed cut: about as wide as Times New Roman)."""
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
"""Page margins, millimetres (NĐ 30: top and bottom 20–25, left 30–35, right 15–20)."""
_FILES = {FACE: f"{FACE}.ttf", f"{FACE}-Bold": f"{FACE}-Bold.ttf", f"{FACE}-Italic": f"{FACE}-Italic.ttf",
          f"{FACE}-BoldItalic": f"{FACE}-BoldItalic.ttf"}
_registered = threading.Lock()


def register_fonts() -> None:
    """Register DejaVu Serif Condensed (regular, bold, italic, bold italic) with ReportLab once; FontMissing when
    absent."""
    with _registered:
        if FACE in pdfmetrics.getRegisteredFontNames():
            return
        for name, file in _FILES.items():
            path = FONT_DIR / file
            if not path.exists():
                raise FontMissing(f"{path} not found: install the Debian package fonts-dejavu-core")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(FACE, normal=FACE, bold=f"{FACE}-Bold", italic=f"{FACE}-Italic",
                                      boldItalic=f"{FACE}-BoldItalic")


def _style(name: str, size: float = 13, bold: bool = False, italic: bool = False, align: Align = TA_JUSTIFY,
           indent: float = 0, before: float = 0, after: float = 4) -> ParagraphStyle:
    face = FACE + ("-Bold" if bold else "") + ("Italic" if bold and italic else "-Italic" if italic else "")
    return ParagraphStyle(name, fontName=face, fontSize=size, leading=size * 1.3, alignment=align,
                          firstLineIndent=indent, spaceBefore=before, spaceAfter=after)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    escaped = unicodedata.normalize("NFC", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, style)


class _Rule(Flowable):
    """A short centred line under the issuing body and the motto (NĐ 30: a third to a half of the line above)."""

    def __init__(self, width: float, length: float):
        super().__init__()
        self.width, self.length, self.height = width, length, 2

    def draw(self) -> None:
        """Draw the line."""
        x = (self.width - self.length) / 2
        self.canv.setLineWidth(0.6)
        self.canv.line(x, 1, x + self.length, 1)


def _header(d: doc_model.ReportDocument, width: float) -> Table:
    left_w, right_w = width * 0.42, width * 0.58
    body = _style("body-c", 12.5, bold=True, align=TA_CENTER, after=0)
    left: list[Flowable] = ([_p(d.parent_body.upper(), _style("parent", 12.5, align=TA_CENTER, after=0))]
                            if d.parent_body else [])
    left += [_p(d.issuing_body, body), Spacer(1, 3), _Rule(left_w - 6, 30 * mm),
             Spacer(1, 4), _p(d.number, _style("number", 13, align=TA_CENTER, after=0))]
    right: list[Flowable] = [_p(d.nation, _style("nation", 12, bold=True, align=TA_CENTER, after=0)),
             _p(d.motto, _style("motto", 13, bold=True, align=TA_CENTER, after=0)), Spacer(1, 3),
             _Rule(right_w - 6, 58 * mm),
             Spacer(1, 4), _p(d.place_date, _style("date", 13, italic=True, align=TA_CENTER, after=0))]
    table = Table([[left, right]], colWidths=[left_w, right_w])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _table(t: doc_model.Table, width: float) -> Table:
    head = _style("th", 10.5, bold=True, align=TA_CENTER, after=0)
    cell = _style("td", 10.5, align=TA_LEFT, after=0)
    number = _style("tn", 10.5, align=TA_CENTER, after=0)
    total = sum(t.widths)
    rows = [[_p(c, head) for c in t.columns]]
    rows += [[_p(c, cell if i == 0 or not c[:1].isdigit() else number) for i, c in enumerate(r)] for r in t.rows]
    table = Table(rows, colWidths=[width * w / total for w in t.widths], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                               ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return table


def _chart(c: doc_model.Chart, width: float) -> KeepTogether:
    height = width * CHART_SIZE[1] / CHART_SIZE[0]
    return KeepTogether([Spacer(1, 4), Image(io.BytesIO(c.png), width=width, height=height),
                         _p(c.caption, _style("caption", 11, italic=True, align=TA_CENTER, after=8))])


def _signature(d: doc_model.ReportDocument, width: float) -> Table:
    rec_head = _style("rec-h", 12, bold=True, italic=True, align=TA_LEFT, after=0)
    rec = _style("rec", 11, align=TA_LEFT, after=0)
    sign = _style("sign", 13, bold=True, align=TA_CENTER, after=0)
    left = [_p(d.recipients_heading, rec_head), *(_p(r, rec) for r in d.recipients)]
    right = ([_p(d.signer_authority, sign)] if d.signer_authority else []) + [
        _p(d.signer_title, sign), Spacer(1, 26 * mm)] + ([_p(d.signer_name, sign)] if d.signer_name else [])
    table = Table([[left, right]], colWidths=[width * 0.5, width * 0.5])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _page_number(canvas: Canvas, doc: BaseDocTemplate) -> None:
    canvas.setFont(FACE, 13)
    canvas.drawCentredString(A4[0] / 2, A4[1] - 12 * mm, str(doc.page))


def render_pdf(d: doc_model.ReportDocument) -> tuple[bytes, int]:
    """The PDF of a report document and its number of pages."""
    register_fonts()
    out = io.BytesIO()
    pdf = SimpleDocTemplate(out, pagesize=A4, topMargin=MARGINS_MM["top"] * mm,
                            bottomMargin=MARGINS_MM["bottom"] * mm, leftMargin=MARGINS_MM["left"] * mm,
                            rightMargin=MARGINS_MM["right"] * mm, title=f"{d.title} {d.subtitle}",
                            author=d.issuing_body, subject=d.subtitle, creator="TichWatch", lang="vi")
    width = A4[0] - (MARGINS_MM["left"] + MARGINS_MM["right"]) * mm
    body = _style("body", 13, indent=10 * mm, after=5)
    story: list[Flowable] = [_header(d, width), Spacer(1, 10 * mm),
                             _p(d.title, _style("title", 14, bold=True, align=TA_CENTER, after=2)),
                             _p(d.subtitle, _style("subtitle", 14, bold=True, align=TA_CENTER, after=2)),
                             Spacer(1, 3), _Rule(width, 40 * mm), Spacer(1, 6 * mm), _p(d.intro, body)]
    heading = _style("h", 13, bold=True, align=TA_LEFT, indent=10 * mm, before=6, after=4)
    for section in d.sections:
        blocks: list[Flowable] = []
        for b in section.blocks:
            if isinstance(b, doc_model.Table):
                blocks += [_table(b, width), Spacer(1, 6)]
            elif isinstance(b, doc_model.Chart):
                blocks.append(_chart(b, width))
            else:
                blocks.append(_p(b, body))
        story += [KeepTogether([_p(section.heading, heading), *blocks[:1]]), *blocks[1:]]
    story += [Spacer(1, 4), _p(d.closing, _style("closing", 12, italic=True, indent=10 * mm, after=10)),
              KeepTogether([_signature(d, width)])]
    pdf.build(story, onLaterPages=_page_number)
    return out.getvalue(), pdf.page
