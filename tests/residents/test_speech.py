"""Spoken Vietnamese: numbers to words, measures, times and dates as read aloud, and the synthesised audio."""
from __future__ import annotations

import io
import wave

import pytest

from tichwatch.residents.speech import (
    date_words,
    decimal_words,
    metres_words,
    number_words,
    spoken,
    synthesize,
    time_words,
)

NUMBERS = [
    (0, "không"), (1, "một"), (4, "bốn"), (5, "năm"), (10, "mười"), (11, "mười một"), (14, "mười bốn"),
    (15, "mười lăm"), (20, "hai mươi"), (21, "hai mươi mốt"), (24, "hai mươi bốn"), (25, "hai mươi lăm"),
    (55, "năm mươi lăm"), (99, "chín mươi chín"), (100, "một trăm"), (101, "một trăm linh một"),
    (105, "một trăm linh năm"), (110, "một trăm mười"), (115, "một trăm mười lăm"), (121, "một trăm hai mươi mốt"),
    (1000, "một nghìn"), (1005, "một nghìn không trăm linh năm"), (1010, "một nghìn không trăm mười"),
    (2026, "hai nghìn không trăm hai mươi sáu"), (10_000, "mười nghìn"), (21_000, "hai mươi mốt nghìn"),
    (115_000, "một trăm mười lăm nghìn"), (1_000_000, "một triệu"), (1_000_001, "một triệu không trăm linh một"),
    (2_000_500, "hai triệu năm trăm"), (3_045_000, "ba triệu không trăm bốn mươi lăm nghìn"),
    (1_000_000_000, "một tỷ"), (5_000_000_021, "năm tỷ không trăm hai mươi mốt"), (-7, "âm bảy"),
]


@pytest.mark.parametrize(("n", "words"), NUMBERS)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


def test_measures_times_and_dates() -> None:
    assert metres_words("7", "42") == "bảy mét bốn mươi hai"
    assert metres_words("7", "05") == "bảy mét linh năm"
    assert metres_words("7", "4") == "bảy mét bốn mươi"
    assert metres_words("8", "00") == "tám mét"
    assert metres_words("0", "12") == "mười hai xăng-ti-mét"
    assert metres_words("10", "15") == "mười mét mười lăm"
    assert decimal_words("0", "71") == "không phẩy bảy mươi mốt"
    assert decimal_words("0", "05") == "không phẩy không năm"
    assert time_words(7, 10) == "bảy giờ mười phút"
    assert time_words(7, 0) == "bảy giờ"
    assert time_words(0, 5) == "không giờ năm phút"
    assert date_words(20, 9, 2026) == "hai mươi tháng chín năm hai nghìn không trăm hai mươi sáu"
    assert date_words(5, 4) == "mồng năm tháng tư"
    assert date_words(1, 12) == "mồng một tháng mười hai"


def test_spoken_rewrites_a_written_sentence() -> None:
    text = ("Lúc 07:10 ngày 20/09, mực nước là 7,42 m, trên báo động II 0,12 m và đang lên 5 cm/giờ; "
            "2 trong số 3 trạm; chỉ số bụi 0,71; tăng 15%.")
    assert spoken(text) == (
        "Lúc bảy giờ mười phút ngày hai mươi tháng chín, mực nước là bảy mét bốn mươi hai, trên báo động hai "
        "mười hai xăng-ti-mét và đang lên năm xăng-ti-mét mỗi giờ; hai trong số ba trạm; chỉ số bụi không phẩy "
        "bảy mươi mốt; tăng mười lăm phần trăm.")
    assert spoken(spoken(text)) == spoken(text)  # words stay words


def test_synthesised_audio_is_speech_of_some_length() -> None:
    script = spoken("Thông báo của xã Kiều Phú: lúc 07:00 mực nước sông Tích là 7,42 m và đang lên 5 cm/giờ.")
    with wave.open(io.BytesIO(synthesize(script, "wav")), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 16000)
        assert w.getnframes() / w.getframerate() > 3.0
    ogg = synthesize(script, "ogg")
    assert ogg[:4] == b"OggS" and 5_000 < len(ogg) < 200_000
