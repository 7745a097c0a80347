"""The report renders: a PDF whose pages poppler counts and whose text (pdftotext) reads with every Vietnamese
diacritic in place, in the Nghị định 30 form (issuing body, national motto, number, place and date, title, sections,
'Nơi nhận', signer); a DOCX that python-docx opens holding the same tables; a first page that draws (pdftoppm)."""
from __future__ import annotations

import io
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import docx
import pytest
from PIL import Image

from tests.residents.reports.fixtures import TZ, WEEK, filled_store, settings_for
from tichwatch.residents.reports.document import ReportDocument, build, place_date
from tichwatch.residents.reports.gather import gather
from tichwatch.residents.reports.render_docx import render_docx
from tichwatch.residents.reports.render_pdf import render_pdf
from tichwatch.residents.reports.rows import read_rows


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportDocument, Path, int, Path]:
    """The known week's report document, its PDF file and page count, and its DOCX file."""
    d = tmp_path_factory.mktemp("render")
    settings = settings_for(d / "data", signer_name="Nguyễn Văn An", parent_body="UBND Thành phố Hà Nội")
    store = filled_store(d / "data")
    try:
        data = gather(read_rows(store.query_all, WEEK, TZ, settings.stations, settings.cameras))
    finally:
        store.close()
    document = build(data, settings.reports, date(2026, 12, 1), None, WEEK.end_ts + 7 * 3600)
    pdf, pages = render_pdf(document)
    (d / "r.pdf").write_bytes(pdf)
    (d / "r.docx").write_bytes(render_docx(document))
    return document, d / "r.pdf", pages, d / "r.docx"


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


def test_the_pdf_has_the_pages_poppler_counts(made: tuple[ReportDocument, Path, int, Path]) -> None:
    _, pdf, pages, _ = made
    info = dict(line.split(":", 1) for line in _run("pdfinfo", str(pdf)).splitlines() if ":" in line)
    assert int(info["Pages"]) == pages and 2 <= pages <= 8
    assert info["Page size"].strip().startswith("595.276 x 841.89")  # A4


def test_the_pdf_text_reads_in_vietnamese_in_the_administrative_form(
        made: tuple[ReportDocument, Path, int, Path]) -> None:
    _, pdf, _, _ = made
    extracted = unicodedata.normalize("NFC", _run("pdftotext", "-layout", str(pdf), "-"))
    flat = " ".join(extracted.split())
    for expected in ("UBND XÃ KIỀU PHÚ", "UBND THÀNH PHỐ HÀ NỘI", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "/BC-UBND", "Kiều Phú, ngày 01 tháng 12 năm 2026", "BÁO CÁO",
                     "tuần từ ngày 23/11/2026 đến ngày 29/11/2026", "I. MỰC NƯỚC SÔNG TÍCH",
                     "VII. SỰ VIỆC ĐÁNG CHÚ Ý", "Cầu Kiều Phú", "Vĩnh Phúc", "Công trường Đường 419",
                     "Báo động II", "Mực nước vượt báo động", "Trạm mất tín hiệu", "3 phút 30 giây", "96,4 %",
                     "Nơi nhận:", "Ban Chỉ huy PCTT và TKCN xã;", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH",
                     "Nguyễn Văn An"):
        assert expected in flat, expected


def test_the_docx_opens_and_holds_the_same_tables(made: tuple[ReportDocument, Path, int, Path]) -> None:
    document, _, _, path = made
    opened = docx.Document(str(path))
    grids = [[[c.text for c in row.cells] for row in t.rows] for t in opened.tables]
    header, *body, signature = grids
    assert header[0][0].startswith("UBND THÀNH PHỐ HÀ NỘI") and "Độc lập - Tự do - Hạnh phúc" in header[0][1]
    assert "Kiều Phú, ngày 01 tháng 12 năm 2026" in header[0][1]
    assert body == [[list(t.columns), *map(list, t.rows)] for t in document.tables]
    assert signature[0][0].startswith("Nơi nhận:") and "CHỦ TỊCH" in signature[0][1]
    words = "\n".join(p.text for p in opened.paragraphs)
    assert "BÁO CÁO" in words and document.subtitle in words and "VII. SỰ VIỆC ĐÁNG CHÚ Ý" in words
    assert len(opened.inline_shapes) == 3  # the two stations' charts and the alerts per day


def test_the_first_page_draws(made: tuple[ReportDocument, Path, int, Path], tmp_path: Path) -> None:
    _, pdf, _, _ = made
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
                   check=True, timeout=60)
    (png,) = tmp_path.glob("p*.png")
    page = Image.open(io.BytesIO(png.read_bytes())).convert("L")
    assert page.size == (414, 585)  # A4 at 50 dpi
    dark = sum(page.histogram()[:128])
    assert 0.01 < dark / (page.size[0] * page.size[1]) < 0.5  # text and a chart, not a blank or black page


def test_date_line_pads_days_below_ten_and_months_one_and_two() -> None:
    assert place_date("Kiều Phú", date(2026, 12, 1), "vi") == "Kiều Phú, ngày 01 tháng 12 năm 2026"
    assert place_date("Kiều Phú", date(2027, 2, 15), "vi") == "Kiều Phú, ngày 15 tháng 02 năm 2027"
    assert place_date("Kiều Phú", date(2027, 3, 5), "vi") == "Kiều Phú, ngày 05 tháng 3 năm 2027"
