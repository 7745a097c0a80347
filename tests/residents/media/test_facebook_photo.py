"""The Facebook channel posts a bulletin as its card (a photo with the text as caption) through the Graph API's
/{page-id}/photos, multipart as documented; alerts and bulletins without a card stay text posts on /feed; Graph errors
are classified in one place (190 needs a person, 4/17 throttling and 5xx are retried)."""
from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.residents.media.conftest import BULLETIN_ID, bulletin_note
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.alerts.channels.facebook import FacebookPage
from tichwatch.config.alerts import FacebookChannel
from tichwatch.residents.bulletins.files import BulletinFiles

TOKEN = "EAAB-page-token-123"


@pytest.fixture
def graph() -> Iterator[HttpRecorder]:
    server = HttpRecorder(reply=lambda r: (200, {}, {"id": "300000", "post_id": "100000_200000"})).start()
    yield server
    server.stop()


def page(server: HttpRecorder, data_dir: Path | None, lang: str = "vi") -> FacebookPage:
    """The Page channel against the local Graph API."""
    cfg = FacebookChannel(type="facebook", base_url=server.url, page_id="100000")
    return FacebookPage(cfg, TOKEN, None if data_dir is None else BulletinFiles(data_dir), lang)


def fields(req: Recorded) -> dict[str, EmailMessage]:
    """The multipart/form-data fields of a request, by name."""
    raw = f"Content-Type: {req.headers['content-type']}\r\n\r\n".encode() + req.body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert isinstance(msg, EmailMessage) and msg.is_multipart()
    out: dict[str, EmailMessage] = {}
    for part in msg.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        out[name] = part
    return out


def test_a_bulletin_goes_as_its_card_with_the_text(graph: HttpRecorder, data_dir: Path) -> None:
    result = page(graph, data_dir).send(bulletin_note(receiver="facebook"))
    assert result.ok and result.remote_id == "100000_200000"
    [req] = graph.requests
    assert req.method == "POST" and req.path == "/v19.0/100000/photos"
    form = fields(req)
    source = form["source"]
    assert source.get_content_type() == "image/png" and source.get_filename() == "card-vi.png"
    card = BulletinFiles(data_dir).path(BULLETIN_ID, "card-vi.png").read_bytes()
    assert source.get_payload(decode=True) == card
    note = bulletin_note()
    assert form["message"].get_content() == f"{note.message.title}\n\n{note.message.text}"
    assert form["published"].get_content() == "true" and form["access_token"].get_content() == TOKEN


def test_alerts_and_bulletins_without_their_card_stay_text_posts(graph: HttpRecorder, data_dir: Path) -> None:
    alert = Notification(1, "k", "abcdefabcdef", "facebook", "firing", 0.0, 1, Message("BÁO ĐỘNG II", "x", "h", "s"),
                         {})
    assert page(graph, data_dir).send(alert).ok
    assert page(graph, data_dir, lang="en").send(bulletin_note(receiver="facebook")).ok  # no card-en.png here
    assert page(graph, None).send(bulletin_note(receiver="facebook")).ok  # built without the bulletins' files
    assert [r.path for r in graph.requests] == ["/v19.0/100000/feed"] * 3
    assert graph.requests[0].form()["message"] == "BÁO ĐỘNG II\n\nx"


def _error(code: int, kind: str = "OAuthException", status: int = 400) -> Reply:
    return status, {}, {"error": {"message": f"error {code}", "type": kind, "code": code, "fbtrace_id": "AbC"}}


@pytest.mark.parametrize(("reply", "retryable"), [
    (_error(190), False),  # the Page token expired
    (_error(4, status=403), True),  # application request limit
    (_error(17, status=403), True),  # user request limit
    ((500, {}, {"error": {"message": "unknown", "type": "FacebookApiException", "code": 2, "is_transient": True}}),
     True),
    ((502, {}, "Bad Gateway"), True),  # not a Graph answer: by its status
])
def test_graph_errors_of_the_photo_upload_are_classified(graph: HttpRecorder, data_dir: Path, reply: Reply,
                                                         retryable: bool) -> None:
    graph.reply = lambda _: reply
    result = page(graph, data_dir).send(bulletin_note(receiver="facebook"))
    assert not result.ok and result.retryable is retryable and TOKEN not in result.detail
    assert graph.requests[0].path == "/v19.0/100000/photos"
