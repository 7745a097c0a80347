"""The pure parts: ZNS phone form and error classes, template data cut to Zalo's limits, the code of a confirmation
text, the webhook signature, error texts without personal data."""
from __future__ import annotations

import pytest

from tichwatch.alerts.channels.base import DeliveryResult
from tichwatch.alerts.channels.zns import classify, zns_phone
from tichwatch.residents.subscriptions.messages import direct_message, template_data
from tichwatch.residents.subscriptions.receipts import BadSignature, receipt_of, signature, verified
from tichwatch.residents.subscriptions.sending import _masked


@pytest.mark.parametrize(("given", "expected"), [("+84987654321", "84987654321"), ("0987654321", "84987654321"),
                                                 ("84987654321", "84987654321"), ("+84 98 765 4321", "84987654321")])
def test_zns_takes_numbers_with_the_country_code_and_no_plus(given: str, expected: str) -> None:
    assert zns_phone(given) == expected


def test_error_classes() -> None:
    assert [classify(c) for c in (-100, -32, -118, -108, -115, -144, -124, -109, -999)] == [
        "retry", "retry", "recipient", "recipient", "quota", "quota", "service", "service", "service"]


def test_template_data_fills_each_parameter_and_cuts_it_to_its_limit() -> None:
    data = template_data({"a": ("station", 30), "b": ("action", 10), "c": ("missing", 5)},
                         {"station": "Cầu  Kiều\nPhú", "action": "chuẩn bị di dời người già"})
    assert data == {"a": "Cầu Kiều Phú", "b": "chuẩn bị…", "c": ""}
    assert all(len(v) <= 10 for k, v in data.items() if k != "a")


def test_the_code_of_a_confirmation_text() -> None:
    assert direct_message("Ma xac nhan xa Kieu Phu: 048213, het han sau 15 phut").fields["code"] == "048213"


def test_signature_covers_app_id_body_timestamp_and_secret() -> None:
    body = b'{"app_id": "1", "timestamp": "2", "event_name": "user_received_message", "message": {"msg_id": "m"}}'
    good = signature("1", body, "2", "k")
    assert good.startswith("mac=") and len(good) == 68
    event = verified(body, good, "k", "1")
    assert receipt_of(event) is not None and receipt_of(event).msg_id == "m"  # type: ignore[union-attr]
    for header, app in ((signature("1", body, "2", "other"), "1"), (good, "9")):
        with pytest.raises(BadSignature):
            verified(body, header, "k", app)
    with pytest.raises(BadSignature) as missing:
        verified(body, None, "k", "1")
    assert missing.value.missing


def test_a_body_nested_too_deep_is_a_bad_signature_not_a_server_error() -> None:
    # Anyone may post to the public webhook: JSON arrays nested thousands deep make json.loads raise RecursionError,
    # which must be refused like any other body that is not a signed event (403), not answered 500.
    with pytest.raises(BadSignature) as deep:
        verified(b"[" * 15_000, "mac=00", "k", None)
    assert not deep.value.missing


def test_a_providers_error_text_loses_the_number_and_the_unsubscribe_link_however_written() -> None:
    # A delivery error reaches the logs and the public delivery.failed alert: an SMS gateway echoing the message
    # (with the resident's unsubscribe link) or the number with blanks must not carry them there.
    link = "https://xa.example/huy/12.AbCdEfGhIjKlMnOpQrStUv"
    echoed = (f"400 invalid destination +84 912 345 678 (0912.345.678) for text '... Huy: {link}'; "
              f"other link /huy/77.ZZZZZZZZZZZZZZZZZZZZZZ; at 2026-12-01 code 4021")
    result = _masked(DeliveryResult(False, detail=echoed, reason="invalid"), "+84912345678", link)
    assert "345" not in result.detail and "AbCd" not in result.detail and "ZZZZ" not in result.detail
    assert "2026-12-01" in result.detail and "4021" in result.detail  # dates and codes stay readable
    assert (result.ok, result.reason) == (False, "invalid")
