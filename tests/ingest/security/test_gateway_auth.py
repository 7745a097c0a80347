"""Per-message HMAC: signing, verification, clock window and age, the replay cache and its file (time passed in)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.support import make_settings
from tichwatch.config.loader import ConfigError
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Rejection, Topics, encode_reading
from tichwatch.ingest.gateway_auth import GatewayVerifier, build_verifier, sign
from tichwatch.ingest.gateway_auth_nonces import NONCE_DB, NonceStore

T = Topics()
KEY_A = b"key-of-gateway-a-0123456789abcdef"
KEY_B = b"key-of-gateway-b-fedcba9876543210"
ENV = {"KEY_A": KEY_A.decode(), "KEY_B": KEY_B.decode()}
NOW = 1_790_000_000.0
PAYLOAD = encode_reading(NOW - 10, 5.0)


def auth_settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(tmp_path, gateway_auth={"gateways": [
        {"username": "gw-a", "stations": ["st1"], "cameras": ["cam1"], "key_env": "KEY_A"},
        {"username": "gw-b", "stations": ["st2"], "key_env": "KEY_B"}], **overrides})


@pytest.fixture
def verifier(tmp_path: Path) -> GatewayVerifier:
    v = build_verifier(auth_settings(tmp_path), ENV)
    assert v is not None
    return v


def reason(result: Rejection | None) -> str | None:
    return None if result is None else result.reason


def test_a_signed_message_passes_once(verifier: GatewayVerifier) -> None:
    props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW - 2)
    assert verifier.verify(T.reading("st1"), PAYLOAD, props, NOW) is None
    again = verifier.verify(T.reading("st1"), PAYLOAD, props, NOW + 1)
    assert reason(again) == "replayed" and again is not None and props["nonce"] in again.detail
    frame = b"\xff\xd8\xff" + bytes(range(256)) * 40
    assert verifier.verify(T.frame("cam1"), frame, sign(T.frame("cam1"), frame, KEY_A, NOW), NOW) is None


def test_a_redelivery_by_the_broker_is_not_a_replay(verifier: GatewayVerifier) -> None:
    props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW)
    assert verifier.verify(T.reading("st1"), PAYLOAD, props, NOW) is None
    assert verifier.verify(T.reading("st1"), PAYLOAD, props, NOW + 5, redelivered=True) is None
    other = sign(T.reading("st1"), PAYLOAD + b" ", KEY_A, NOW, nonce=props["nonce"])
    assert reason(verifier.verify(T.reading("st1"), PAYLOAD + b" ", other, NOW, redelivered=True)) == "replayed"


@pytest.mark.parametrize("topic, payload, key, signed_topic, why", [
    (T.reading("st1"), PAYLOAD, KEY_B, T.reading("st1"), "another gateway's key"),
    (T.reading("st2"), PAYLOAD, KEY_A, T.reading("st2"), "gw-a signing for gw-b's station"),
    (T.reading("st2"), PAYLOAD, KEY_B, T.reading("st1"), "signed for another topic"),
    (T.reading("st1"), PAYLOAD, b"x" * 32, T.reading("st1"), "a guessed key"),
])
def test_forgeries_are_bad_signatures(verifier: GatewayVerifier, topic: str, payload: bytes, key: bytes,
                                      signed_topic: str, why: str) -> None:
    props = sign(signed_topic, payload, key, NOW)
    assert reason(verifier.verify(topic, payload, props, NOW)) == "bad_signature", why


def test_tampered_time_or_nonce_and_malformed_properties_are_bad_signatures(verifier: GatewayVerifier) -> None:
    props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW)
    for changed in ({"sig_ts": str(int(NOW) + 1)}, {"nonce": props["nonce"][::-1]}, {"sig": "0" * 64},
                    {"sig": "é" * 64}, {"sig_ts": "soon"}, {"sig_ts": "1e9"}, {"nonce": "short"},
                    {"nonce": "bad nonce with spaces"}):
        assert reason(verifier.verify(T.reading("st1"), PAYLOAD, {**props, **changed}, NOW)) == "bad_signature", changed
    assert verifier.verify(T.reading("st1"), PAYLOAD, {**props, "sig": props["sig"].upper()}, NOW) is None


def test_unsigned_messages_for_keyed_gateways_are_refused(verifier: GatewayVerifier) -> None:
    props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW)
    for missing in ("sig", "sig_ts", "nonce"):
        partial = {k: v for k, v in props.items() if k != missing}
        assert reason(verifier.verify(T.reading("st1"), PAYLOAD, partial, NOW)) == "missing_signature"
    assert reason(verifier.verify(T.reading("st1"), PAYLOAD, {"ts": "1"}, NOW)) == "missing_signature"


def test_signatures_too_far_ahead_or_too_old_are_stale(tmp_path: Path) -> None:
    v = build_verifier(auth_settings(tmp_path, signature_max_age_s=3600), ENV)
    assert v is not None
    for skew in (301, 86400, -3601, -86400):
        props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW + skew)
        assert reason(v.verify(T.reading("st1"), PAYLOAD, props, NOW)) == "stale_signature", skew
    for skew in (300, -300, -3600):
        assert v.verify(T.reading("st1"), PAYLOAD, sign(T.reading("st1"), PAYLOAD, KEY_A, NOW + skew), NOW) is None


def test_by_default_messages_the_broker_kept_for_a_week_are_not_stale(verifier: GatewayVerifier) -> None:
    day_old = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW - 86400)
    assert verifier.verify(T.reading("st1"), PAYLOAD, day_old, NOW) is None
    assert reason(verifier.verify(T.reading("st1"), PAYLOAD, day_old, NOW + 60)) == "replayed"
    eight_days = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW - 8 * 86400)
    assert reason(verifier.verify(T.reading("st1"), PAYLOAD, eight_days, NOW)) == "stale_signature"


def test_the_age_limit_cannot_be_below_the_clock_window(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="signature_max_age_s must be at least clock_window_s"):
        auth_settings(tmp_path, clock_window_s=600, signature_max_age_s=300)


def test_subjects_without_a_keyed_gateway_and_foreign_topics_pass_to_the_usual_checks(tmp_path: Path) -> None:
    s = make_settings(tmp_path, gateway_auth={"gateways": [
        {"username": "gw-a", "stations": ["st1"], "key_env": "KEY_A"}, {"username": "gw-b", "stations": ["st2"]}]})
    v = build_verifier(s, ENV)
    assert v is not None
    for topic in (T.reading("st2"), T.reading("nowhere"), T.frame("cam1"), "tich/v1/water/st1/other", "else/x"):
        assert v.verify(topic, PAYLOAD, {}, NOW) is None, topic
    assert build_verifier(make_settings(tmp_path), ENV) is None


def test_keys_must_be_set_and_long_enough(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="KEY_B"):
        build_verifier(auth_settings(tmp_path), {"KEY_A": ENV["KEY_A"]})
    with pytest.raises(ValueError, match="at least 16 bytes"):
        build_verifier(auth_settings(tmp_path), {**ENV, "KEY_B": "short"})


def test_the_replay_cache_is_bounded_and_refuses_what_it_may_have_forgotten() -> None:
    cache = NonceStore(":memory:", max_age_s=300, max_entries=3)
    for i in range(3):
        assert cache.check_and_add(f"n{i}", NOW + i, "s", NOW, False) is None
    assert cache.check_and_add("n3", NOW + 3, "s", NOW, False) is None  # forgets n0 (the oldest time)
    assert len(cache) == 3
    assert cache.check_and_add("n0", NOW, "s", NOW, False) == "older than the oldest remembered nonce " \
                                                              "(replay cache full)"
    assert cache.check_and_add("n3", NOW + 3, "s", NOW, False) == "nonce already used"
    assert cache.check_and_add("n9", NOW + 600, "s", NOW + 601, False) is None  # expiry empties the window
    assert len(cache) == 1
    assert cache.check_and_add("n1", NOW + 601, "s", NOW + 601, False) is None


def test_nonces_and_the_floor_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / NONCE_DB
    first = NonceStore(path, max_age_s=300, max_entries=3)
    for i in range(4):  # the fourth pushes n0 out and raises the floor to its time
        assert first.check_and_add(f"n{i}", NOW + i, f"sig{i}", NOW, False) is None
    first.close()
    again = NonceStore(path, max_age_s=300, max_entries=3)
    assert len(again) == 3
    assert again.check_and_add("n2", NOW + 2, "sig2", NOW + 5, False) == "nonce already used"
    assert again.check_and_add("n2", NOW + 2, "sig2", NOW + 5, True) is None  # the broker's redelivery
    assert again.check_and_add("n2", NOW + 2, "forged", NOW + 5, True) == "nonce already used"
    assert again.check_and_add("n0", NOW, "sig0", NOW + 5, False) == "older than the oldest remembered nonce " \
                                                                     "(replay cache full)"
    assert again.check_and_add("n4", NOW + 4, "sig4", NOW + 5, False) is None
    again.close()


def test_a_verifier_built_again_on_the_same_data_directory_refuses_a_replay(tmp_path: Path) -> None:
    props = sign(T.reading("st1"), PAYLOAD, KEY_A, NOW)
    before = build_verifier(auth_settings(tmp_path), ENV)
    assert before is not None and before.verify(T.reading("st1"), PAYLOAD, props, NOW) is None
    before.close()
    after = build_verifier(auth_settings(tmp_path), ENV)
    assert after is not None
    assert reason(after.verify(T.reading("st1"), PAYLOAD, props, NOW + 30)) == "replayed"
    assert after.verify(T.reading("st1"), PAYLOAD, props, NOW + 30, redelivered=True) is None
    assert (tmp_path / NONCE_DB).exists()


def test_a_full_replay_cache_never_lets_a_replay_through(tmp_path: Path) -> None:
    v = build_verifier(auth_settings(tmp_path, replay_cache_max=100), ENV)
    assert v is not None
    payloads = [PAYLOAD + b"%d" % i for i in range(250)]
    sent = [(p, sign(T.reading("st1"), p, KEY_A, NOW - 250 + i)) for i, p in enumerate(payloads)]
    assert all(v.verify(T.reading("st1"), p, props, NOW) is None for p, props in sent)
    assert all(reason(v.verify(T.reading("st1"), p, props, NOW)) == "replayed" for p, props in sent)


@hyp_settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=1, max_size=300), index=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_change_to_the_payload_breaks_the_signature(tmp_path_factory: pytest.TempPathFactory, payload: bytes,
                                                        index: int, flip: int) -> None:
    v = build_verifier(auth_settings(tmp_path_factory.mktemp("h")), ENV)
    assert v is not None
    props = sign(T.reading("st1"), payload, KEY_A, NOW)
    i = index % len(payload)
    tampered = payload[:i] + bytes([payload[i] ^ flip]) + payload[i + 1:]
    assert reason(v.verify(T.reading("st1"), tampered, props, NOW)) == "bad_signature"
    assert v.verify(T.reading("st1"), payload, props, NOW) is None
