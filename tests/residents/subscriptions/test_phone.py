"""Vietnamese mobile numbers: every way people write one gives the same E.164 number; landlines, foreign and malformed
numbers are refused; officers see the number masked; SMS keywords match however they are typed."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tichwatch.residents.subscriptions.keywords import is_unsubscribe, plain
from tichwatch.residents.subscriptions.links import LinkKey, load_key, unsubscribe_link
from tichwatch.residents.subscriptions.phone import (
    MOBILE_PREFIXES,
    OLD_PREFIXES,
    InvalidPhone,
    is_mobile,
    masked,
    national,
    normalise,
    scrub,
)

prefixes = st.sampled_from(sorted(MOBILE_PREFIXES))
subscriber_digits = st.text("0123456789", min_size=7, max_size=7)


@given(prefixes, subscriber_digits, st.sampled_from(["0{p}{n}", "+84{p}{n}", "84{p}{n}", "0084{p}{n}", "+84 0{p}{n}"]),
       st.sampled_from(["", " ", ".", "-"]))
def test_every_written_form_gives_one_e164_number(prefix: str, digits: str, form: str, sep: str) -> None:
    typed = form.format(p=prefix, n=digits[:3] + sep + digits[3:])
    assert normalise(typed) == f"+84{prefix}{digits}"
    assert normalise(normalise(typed)) == normalise(typed)  # idempotent


@given(st.text(max_size=40))
def test_anything_else_is_refused_or_a_valid_mobile(text: str) -> None:
    try:
        e164 = normalise(text)
    except InvalidPhone:
        return
    assert e164.startswith("+84") and len(e164) == 12 and e164[3:5] in MOBILE_PREFIXES and e164[3:].isdigit()


@pytest.mark.parametrize("typed", ["0243 826 1234",  # a Hà Nội landline
                                   "0951 234 567",  # 095: S-Fone, closed
                                   "1900 1234", "113", "+1 202 555 0143", "091234567", "09123456789",
                                   "０９１２３４５６７８", "0912345678#", "0912 345 678 ext 2", "", "+", "x" * 100])
def test_landlines_service_foreign_and_malformed_numbers_are_refused(typed: str) -> None:
    assert not is_mobile(typed)


def test_pre_2018_eleven_digit_numbers_are_renumbered() -> None:
    assert normalise("0168 123 4567") == "+84381234567"
    assert normalise("+84 120 123 4567") == "+84701234567"
    assert all(new in MOBILE_PREFIXES for new in OLD_PREFIXES.values())


def test_officers_see_the_network_digit_and_the_last_three_only() -> None:
    assert masked("+84912345678") == "+84 9x xxx x678"
    assert masked("+84381234567") == "+84 3x xxx x567"
    assert "12345" not in masked("+84912345678")
    assert national("+84912345678") == "0912 345 678"


def test_numbers_are_scrubbed_from_free_text() -> None:
    assert scrub("Bà Lan, số 0912 345 678, yêu cầu ngày 02/12") == "Bà Lan, số […], yêu cầu ngày 02/12"
    assert "345" not in scrub("+84912345678")


@pytest.mark.parametrize("text", ["HUY", "huy", "Huỷ", "Hủy", " huy. ", "HUY DK", "Huỷ đăng ký", "Từ chối", "TU CHOI",
                                  "stop", "Dừng"])
def test_unsubscribe_keywords_match_without_case_or_diacritics(text: str) -> None:
    assert is_unsubscribe(text, ["HUY", "TU CHOI", "STOP", "DUNG"])


@pytest.mark.parametrize("text", ["", "Chào xã", "HUYEN", "stopped", "toi khong muon huy", "1234"])
def test_other_texts_are_no_keyword(text: str) -> None:
    assert not is_unsubscribe(text, ["HUY", "TU CHOI", "STOP", "DUNG"])


def test_plain_drops_diacritics_and_punctuation() -> None:
    assert plain("  Đăng   ký!! ") == "DANG KY"


def test_unsubscribe_tokens_verify_without_storage_and_only_with_their_key() -> None:
    key, other = LinkKey(b"k" * 32), LinkKey(b"o" * 32)
    token = key.token_for(42)
    assert key.token_for(42) == token and key.subscriber_of(token) == 42
    assert other.subscriber_of(token) is None
    sid, mac = token.split(".")
    assert key.subscriber_of(f"43.{mac}") is None  # another id with this MAC
    assert key.subscriber_of(f"{sid}.{mac[:-1]}A" if mac[-1] != "A" else f"{sid}.{mac[:-1]}B") is None
    assert key.subscriber_of("../../etc/passwd") is None and key.subscriber_of("0." + mac) is None
    assert unsubscribe_link("https://xa.example/", token) == f"https://xa.example/huy/{token}"


def test_the_key_comes_from_the_environment_or_is_made_once_in_the_data_directory(tmp_path: object) -> None:
    from pathlib import Path
    data = Path(str(tmp_path))
    made = load_key("TW_TEST_LINK", data, env={})
    assert (data / "unsubscribe.key").stat().st_mode & 0o777 == 0o600
    assert load_key("TW_TEST_LINK", data, env={}).token_for(1) == made.token_for(1)  # kept across restarts
    from_env = load_key("TW_TEST_LINK", data, env={"TW_TEST_LINK": "a-long-random-shared-secret"})
    assert from_env.token_for(1) != made.token_for(1)
    with pytest.raises(ValueError):
        load_key("TW_TEST_LINK", data, env={"TW_TEST_LINK": "short"})
