"""A report document as DOCX (python-docx), for the commune to edit before signing: the same words, tables and
charts as the PDF, in Times New Roman 13 pt (the face Nghị định 30/2020/NĐ-CP names; Word on the commune's computers
has it), A4 with NĐ 30's margins, the header as a borderless two-column table, the signer's block likewise.

Followed: python-docx documentation, "Working with Documents", "Working with Text" (paragraph_format, runs, fonts),
"Working with Sections" (page size, margins) and the Table API (Document.add_table, style 'Table Grid').
"""
from __future__ import annotations

import io
import unicodedata

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from tichwatch.residents.reports import document as doc_model
from tichwatch.residents.reports.render_pdf import MARGINS_MM

FACE = "Times New Roman"
"""The face of the editable document."""
TEXT_WIDTH_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]
"""Width between the margins on A4, millimetres."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _para(where: DocxDocument | _Cell, text: str, size: float = 13, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY, indent_mm: float = 0,
          after_pt: float = 4) -> Paragraph:
    p = where.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(after_pt)
    p.paragraph_format.space_before = Pt(0)
    if indent_mm:
        p.paragraph_format.first_line_indent = Mm(indent_mm)
    run = p.add_run(_nfc(text))
    run.font.size, run.bold, run.italic = Pt(size), bold, italic
    return p


def _first(cell: _Cell, text: str, size: float, bold: bool = False, italic: bool = False,
           align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER) -> None:
    """Put text in a cell's own first paragraph (a new cell has one, empty)."""
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    run = p.add_run(_nfc(text))
    run.font.size, run.bold, run.italic = Pt(size), bold, italic


def _header(docx: DocxDocument, d: doc_model.ReportDocument) -> None:
    table = docx.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.width, right.width = Mm(TEXT_WIDTH_MM * 0.42), Mm(TEXT_WIDTH_MM * 0.58)
    if d.parent_body:
        _first(left, d.parent_body.upper(), 12.5)
        _para(left, d.issuing_body, 12.5, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)
    else:
        _first(left, d.issuing_body, 12.5, bold=True)
    _para(left, "———", 10, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=2)
    _para(left, d.number, 13, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)
    _first(right, d.nation, 12, bold=True)
    _para(right, d.motto, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)
    _para(right, "—————————", 10, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=2)
    _para(right, d.place_date, 13, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)


def _table(docx: DocxDocument, t: doc_model.Table) -> None:
    table = docx.add_table(rows=1 + len(t.rows), cols=len(t.columns))
    table.style = "Table Grid"
    total = sum(t.widths)
    for j, head in enumerate(t.columns):
        _first(table.cell(0, j), head, 11, bold=True)
    for i, row in enumerate(t.rows, start=1):
        for j, value in enumerate(row):
            _first(table.cell(i, j), value, 11, align=WD_ALIGN_PARAGRAPH.LEFT if j == 0 or not value[:1].isdigit()
                   else WD_ALIGN_PARAGRAPH.CENTER)
    for j, w in enumerate(t.widths):
        for cell in table.columns[j].cells:
            cell.width = Mm(TEXT_WIDTH_MM * w / total)
    docx.add_paragraph().paragraph_format.space_after = Pt(2)


def _signature(docx: DocxDocument, d: doc_model.ReportDocument) -> None:
    table = docx.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    _first(left, d.recipients_heading, 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for r in d.recipients:
        _para(left, r, 11, align=WD_ALIGN_PARAGRAPH.LEFT, after_pt=0)
    lines = [line for line in (d.signer_authority, d.signer_title) if line]
    _first(right, lines[0], 13, bold=True)
    for line in lines[1:]:
        _para(right, line, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)
    for _ in range(4):
        _para(right, "", 13, after_pt=0)
    if d.signer_name:
        _para(right, d.signer_name, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=0)


def render_docx(d: doc_model.ReportDocument) -> bytes:
    """The DOCX of a report document."""
    docx = Document()
    normal = docx.styles["Normal"]
    normal.font.name, normal.font.size = FACE, Pt(13)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FACE)
    section = docx.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    props = docx.core_properties
    props.title, props.author, props.subject = f"{d.title} {d.subtitle}", d.issuing_body, d.subtitle
    props.language = "vi-VN"
    _header(docx, d)
    _para(docx, "", after_pt=6)
    _para(docx, d.title, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=2)
    _para(docx, d.subtitle, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=2)
    _para(docx, "—————", 10, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=8)
    _para(docx, d.intro, indent_mm=10)
    for s in d.sections:
        _para(docx, s.heading, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT, indent_mm=10, after_pt=4)
        for b in s.blocks:
            if isinstance(b, doc_model.Table):
                _table(docx, b)
            elif isinstance(b, doc_model.Chart):
                docx.add_picture(io.BytesIO(b.png), width=Mm(TEXT_WIDTH_MM))
                docx.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                _para(docx, b.caption, 11, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=8)
            else:
                _para(docx, b, indent_mm=10)
    _para(docx, d.closing, 12, italic=True, indent_mm=10, after_pt=10)
    _signature(docx, d)
    out = io.BytesIO()
    docx.save(out)
    return out.getvalue()
