"""Each channel against a real local server speaking the documented shape of the real service."""
from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.alerts.servers import HttpRecorder, Recorded, Reply, SmtpServer
from tests.support import Recorder, wait_for
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.alerts.channels.email import Email
from tichwatch.alerts.channels.facebook import FacebookPage
from tichwatch.alerts.channels.mqtt import MqttState
from tichwatch.alerts.channels.sms import Sms
from tichwatch.alerts.channels.telegram import Telegram
from tichwatch.alerts.channels.webhook import Webhook, signature
from tichwatch.alerts.channels.zalo import Zalo
from tichwatch.config.alerts import (
    EmailChannel,
    FacebookChannel,
    MqttChannel,
    SmsChannel,
    TelegramChannel,
    WebhookChannel,
    ZaloChannel,
)
from tichwatch.tools.broker import MosquittoProcess, free_port

TOKEN = "123456:ABC-secret-token"
NOTE = Notification(7, "key-7-abc", "abcdefabcdef", "duty", "firing", 1_790_000_000.0, 1,
                    Message("[BÁO ĐỘNG II] Trạm thử: mực nước 7,42 m", "Dòng 1\nDòng 2 <b>&", "<p>html</p>",
                            "BÁO ĐỘNG II Trạm thử: 7,42 m"),
                    {"id": "abcdefabcdef", "state": "firing", "severity": "critical"})


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


def test_webhook_is_signed_and_carries_the_idempotency_key(server: HttpRecorder) -> None:
    result = Webhook(WebhookChannel(type="webhook", url=f"{server.url}/hook"), "s3cret").send(NOTE)
    assert result.ok
    req = server.requests[0]
    assert req.path == "/hook" and req.headers["idempotency-key"] == "key-7-abc"
    expected = signature(b"s3cret", req.headers["x-tichwatch-timestamp"], req.body)
    assert req.headers["x-tichwatch-signature"] == expected
    body = req.json()
    assert body["idempotency_key"] == "key-7-abc" and body["alert"]["id"] == "abcdefabcdef"
    assert body["message"]["title"].startswith("[BÁO ĐỘNG II]")


def test_webhook_credentials_in_the_url_go_as_basic_authorization(server: HttpRecorder) -> None:
    url = f"http://alerts:p%40ss@127.0.0.1:{server.port}/hook?token=t1"
    assert Webhook(WebhookChannel(type="webhook", url=url), None).send(NOTE).ok
    req = server.requests[0]
    assert req.path == "/hook?token=t1" and req.headers["authorization"] == "Basic YWxlcnRzOnBAc3M="  # alerts:p@ss


@pytest.mark.parametrize(("reply", "retryable", "after"), [
    ((503, {"Retry-After": "7"}, {}), True, 7.0),
    ((429, {}, {}), True, None),
    ((400, {}, {"error": "bad"}), False, None),
])
def test_webhook_errors_are_classified(server: HttpRecorder, reply: Reply, retryable: bool,
                                       after: float | None) -> None:
    server.reply = lambda _: reply
    result = Webhook(WebhookChannel(type="webhook", url=server.url), None).send(NOTE)
    assert not result.ok and result.retryable is retryable and result.retry_after_s == after


def test_network_errors_are_retryable() -> None:
    nobody = WebhookChannel(type="webhook", url=f"http://127.0.0.1:{free_port()}/", timeout_s=2)
    result = Webhook(nobody, None).send(NOTE)
    assert not result.ok and result.retryable and "network error" in result.detail


def telegram_api(req: Recorded) -> Reply:
    """The Bot API's sendMessage, with the real error shapes."""
    if req.path != f"/bot{TOKEN}/sendMessage":
        return 404, {}, {"ok": False, "error_code": 404, "description": f"Not Found: {req.path}"}
    chat = req.json()["chat_id"]
    if chat == "flood":
        return 429, {}, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                         "parameters": {"retry_after": 3}}
    if chat == "nobody":
        return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    return 200, {}, {"ok": True, "result": {"message_id": 42, "chat": {"id": chat}, "text": req.json()["text"]}}


def test_telegram(server: HttpRecorder) -> None:
    server.reply = telegram_api

    def send(chat: str, token: str | None = TOKEN):
        return Telegram(TelegramChannel(type="telegram", base_url=server.url, chat_id=chat), token).send(NOTE)

    ok = send("-100123")
    assert ok.ok and ok.remote_id == "42"
    body = server.requests[0].json()
    assert body["parse_mode"] == "HTML" and body["text"].startswith("<b>[BÁO ĐỘNG II]")
    assert "&lt;b&gt;&amp;" in body["text"]  # the message text is escaped for HTML parse mode
    limited = send("flood")
    assert limited.retryable and limited.retry_after_s == 3
    wrong = send("nobody")
    assert not wrong.retryable and "chat not found" in wrong.detail
    bad_token = send("-100123", "999:other-token")
    assert not bad_token.ok and "999:other-token" not in bad_token.detail and "***" in bad_token.detail
    assert not send("-100123", None).ok


def zalo_api(req: Recorded) -> Reply:
    """Zalo OA's message/cs with its error shape (HTTP 200, non-zero error)."""
    if req.headers.get("access_token") != "zalo-token":
        return 200, {}, {"error": -216, "message": "Access token is invalid"}
    if req.json()["recipient"]["user_id"] == "busy":
        return 200, {}, {"error": -32, "message": "The number of requests exceeds the limit"}
    return 200, {}, {"error": 0, "message": "Success", "data": {"message_id": "m-1", "user_id": "u"}}


def test_zalo(server: HttpRecorder) -> None:
    server.reply = zalo_api

    def send(user: str, token: str = "zalo-token"):
        return Zalo(ZaloChannel(type="zalo", base_url=server.url, user_id=user), token).send(NOTE)

    ok = send("84912")
    req = server.requests[0]
    assert ok.ok and ok.remote_id == "m-1" and req.path == "/v3.0/oa/message/cs"
    assert req.json() == {"recipient": {"user_id": "84912"}, "message": {"text": f"{NOTE.message.title}\n"
                                                                                 f"{NOTE.message.text}"}}
    assert send("busy").retryable
    invalid = send("84912", "wrong")
    assert not invalid.ok and not invalid.retryable and "-216" in invalid.detail


def graph_api(req: Recorded) -> Reply:
    """The Graph API's page feed with its error shape."""
    form = req.form()
    if form.get("access_token") != "page-token":
        return 400, {}, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190,
                                   "fbtrace_id": "Abc"}}
    if form["message"].startswith("throttle"):
        return 403, {}, {"error": {"message": "Application request limit reached", "type": "OAuthException",
                                   "code": 4, "fbtrace_id": "Abd"}}
    return 200, {}, {"id": "100000_200000"}


def test_facebook_page(server: HttpRecorder) -> None:
    server.reply = graph_api
    cfg = FacebookChannel(type="facebook", base_url=server.url, page_id="100000")
    ok = FacebookPage(cfg, "page-token").send(NOTE)
    assert ok.ok and ok.remote_id == "100000_200000" and server.requests[0].path == "/v19.0/100000/feed"
    assert server.requests[0].form()["message"].startswith("[BÁO ĐỘNG II]")
    expired = FacebookPage(cfg, "old-token").send(NOTE)
    assert not expired.retryable and "190" in expired.detail and "old-token" not in expired.detail
    from dataclasses import replace
    throttled = FacebookPage(cfg, "page-token").send(replace(NOTE, message=replace(NOTE.message, title="throttle")))
    assert throttled.retryable


def test_sms_gateway_post_and_get(server: HttpRecorder) -> None:
    body = '{"to": {{ to|tojson }}, "text": {{ text|tojson }}, "ref": {{ idempotency_key|tojson }}}'
    post = SmsChannel(type="sms", url_template=f"{server.url}/send", to="+84912345678", token_env="T",
                      body_template=body)
    assert Sms(post, "gw-token").send(NOTE).ok
    req = server.requests[0]
    assert req.headers["authorization"] == "Bearer gw-token"
    assert req.json() == {"to": "+84912345678", "text": "BAO DONG II Tram thu: 7,42 m", "ref": "key-7-abc"}
    get = SmsChannel(type="sms", method="GET", to="+84912345678",
                     url_template=f"{server.url}/send?to={{{{ to }}}}&msg={{{{ text }}}}", ascii_only=False)
    assert Sms(get, None).send(NOTE).ok
    assert server.requests[1].path == ("/send?to=%2B84912345678&msg=B%C3%81O%20%C4%90%E1%BB%98NG%20II%20"
                                       "Tr%E1%BA%A1m%20th%E1%BB%AD%3A%207%2C42%20m")


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, "canhbao", "mat-khau-smtp").start()
    yield server
    server.stop()


def test_email_over_starttls_with_authentication(smtp: SmtpServer) -> None:
    cfg = EmailChannel(type="email", host="127.0.0.1", port=smtp.port, tls_ca_file=smtp.cert, username="canhbao",
                       from_addr="canhbao@kieuphu.vn", to=["truc.ban@kieuphu.vn"])
    assert Email(cfg, "mat-khau-smtp").send(NOTE).ok
    envelope = smtp.messages[0]
    msg = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
    assert msg["Subject"] == NOTE.message.title and msg["Message-ID"] == "<key-7-abc@tichwatch>"
    assert msg.get_body(("plain",)).get_content().startswith("Dòng 1")  # type: ignore[union-attr]
    assert msg.get_body(("html",)).get_content().strip() == "<p>html</p>"  # type: ignore[union-attr]
    refused = Email(cfg, "wrong-password").send(NOTE)
    assert not refused.ok and not refused.retryable and "authentication" in refused.detail
    untrusted = Email(cfg.model_copy(update={"tls_ca_file": None}), "mat-khau-smtp").send(NOTE)
    assert not untrusted.ok  # a self-signed certificate the system does not trust is refused


def test_mqtt_alert_state_is_retained(broker: MosquittoProcess) -> None:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        result = MqttState(MqttChannel(type="mqtt"), client.publish, "tich/v1").send(NOTE)
        assert result.ok
        late = Recorder(broker.port, "tich/v1/alerts/#")  # subscribes after the publication: gets the retained state
        wait_for(lambda: late.messages)
        topic, payload = late.messages[0]
        assert topic == "tich/v1/alerts/abcdefabcdef"
        assert json.loads(payload) == {**NOTE.alert, "notice": "firing", "idempotency_key": "key-7-abc"}
        late.close()
        broker.stop()
        down = MqttState(MqttChannel(type="mqtt", publish_timeout_s=0.5), client.publish, "tich/v1").send(NOTE)
        assert not down.ok and down.retryable
    finally:
        client.loop_stop()
        client.disconnect()
