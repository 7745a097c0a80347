"""Resident subscriptions (the `subscriptions:` block): who may register, the consent wording, the confirmation code,
the limits on registering, and how residents leave (the link in every message, SMS keywords)."""
from __future__ import annotations

from pydantic import Field, field_validator

from tichwatch.config.base import StrictModel
from tichwatch.config.resident_delivery import ResidentNotifySettings, ResidentSmsSettings, ZnsSettings

CONSENT_VI = ("Tôi đồng ý để UBND xã lưu số điện thoại, thôn và ngôn ngữ của tôi để nhận cảnh báo lũ, bản tin thời "
              "tiết và ô nhiễm qua Zalo hoặc tin nhắn SMS. Số điện thoại chỉ dùng cho việc này, không chia sẻ cho "
              "ai khác. Tôi có thể huỷ bất cứ lúc nào bằng đường dẫn trong tin nhắn hoặc nhắn HUY, và có thể yêu cầu "
              "xã cung cấp hoặc xoá dữ liệu của mình.")
"""The default consent wording, Vietnamese."""
CONSENT_EN = ("I agree that the commune keeps my phone number, hamlet and language to send me flood alerts and "
              "weather and pollution bulletins by Zalo or SMS. The number is used for this only and shared with no "
              "one. I can stop at any time by the link in a message or by texting HUY, and can ask the commune for a "
              "copy of my data or to erase it.")
"""The default consent wording, English."""


class SubscriptionSettings(StrictModel):
    """Residents' subscriptions to alerts and bulletins by hamlet."""

    enabled: bool = Field(True, description="Accept subscriptions and send to subscribed residents.")
    self_registration: bool = Field(True, description="Residents may register themselves on the public page "
                                    "(/dang-ky) with a code sent to their phone; off: only officers and village "
                                    "heads add residents, from the dashboard.")
    consent_version: str = Field("2026-1", pattern=r"^[A-Za-z0-9._-]{1,32}$", description="Version of the consent "
                                 "wording; change it with the wording: the page sends the version it showed, and a "
                                 "registration against an older one is refused (the resident reloads and reads the "
                                 "new text).")
    consent_vi: str = Field(CONSENT_VI, min_length=20, max_length=2000, description="Consent wording shown to and "
                            "stored with each registration, Vietnamese.")
    consent_en: str = Field(CONSENT_EN, min_length=20, max_length=2000, description="The same in English.")
    code_digits: int = Field(6, ge=4, le=10, description="Digits of the confirmation code sent to a phone that "
                             "registers itself.")
    code_valid_s: float = Field(900.0, ge=60, le=86_400, description="How long a confirmation code may be used, "
                                "seconds.")
    code_attempts: int = Field(5, ge=1, le=20, description="Wrong codes allowed before a code is void (the resident "
                               "registers again for a new one).")
    codes_per_phone_per_day: int = Field(3, ge=1, le=50, description="Codes sent to one phone number in 24 hours, "
                                         "at most (more registrations are answered alike but send nothing: no one "
                                         "floods a resident with texts).")
    codes_per_hour: int = Field(200, ge=1, le=100_000, description="Confirmation codes the whole deployment sends "
                                "per hour, at most (each costs a message and Zalo quota; rotating addresses cannot "
                                "get past this). Beyond it registrations are refused for a while (503) until the "
                                "hour has passed.")
    officer_lookups_per_hour: int = Field(60, ge=1, le=10_000, description="Searches for one whole phone number an "
                                          "officer (not an admin) may make per hour; each is audited (officers see "
                                          "numbers masked, so unbounded searches would recover them).")
    registrations_per_address_per_hour: int = Field(10, ge=1, le=10_000, description="Self-registrations one "
                                                    "client address may make per hour (a commune hall's shared "
                                                    "Wi-Fi needs a few dozen on a registration day).")
    confirmations_per_address_per_hour: int = Field(30, ge=1, le=10_000, description="Code confirmations one "
                                                    "client address may try per hour.")
    pending_keep_s: float = Field(86_400.0, ge=3600, le=30 * 86_400, description="A registration never confirmed "
                                  "is deleted after this long, with its phone number, seconds.")
    unsubscribed_keep_days: int = Field(30, ge=1, le=3650, description="A resident who unsubscribed is deleted "
                                        "this many days later, number and all (the officers' list shows who left "
                                        "meanwhile; the audit log keeps that they left, without the number).")
    unsubscribe_keywords: list[str] = Field(default_factory=lambda: ["HUY", "HUY DK", "TU CHOI", "STOP", "DUNG"],
                                            min_length=1, max_length=20, description="SMS texts that unsubscribe "
                                            "the sender (compared without diacritics, case or extra blanks; a "
                                            "keyword followed by more words counts too: \"Huỷ đăng ký\").")
    link_secret_env: str = Field("TICHWATCH_UNSUBSCRIBE_SECRET", description="Environment variable holding the key "
                                 "that signs unsubscribe links (any long random string; the same on every node). "
                                 "Unset: a random key is made once and kept in the data directory "
                                 "(`unsubscribe.key`). Changing it voids the links already sent.")
    inbound_secret_env: str = Field("TICHWATCH_SMS_INBOUND_SECRET", description="Environment variable holding the "
                                    "shared secret the SMS gateway sends with each inbound message (POST "
                                    "/api/v1/sms/inbound); unset: every inbound message is refused (401).")
    inbound_secret_header: str = Field("X-Inbound-Secret", pattern=r"^[A-Za-z0-9-]{1,64}$", description="Header "
                                       "carrying that secret (`Authorization: Bearer <secret>` is accepted too).")
    max_body_bytes: int = Field(4096, ge=512, le=65_536, description="Largest request body of the public "
                                "registration, confirmation, unsubscribe and inbound SMS endpoints, bytes (413 "
                                "beyond).")
    page_size_max: int = Field(200, ge=10, le=1000, description="Most subscribers one page of the officers' list "
                               "holds.")
    export_max: int = Field(100_000, ge=100, le=1_000_000, description="Most subscribers one export holds.")

    zns: ZnsSettings = Field(default_factory=ZnsSettings, description="Zalo ZNS template messages to residents.")
    sms: ResidentSmsSettings = Field(default_factory=ResidentSmsSettings, description="SMS to residents (and "
                                     "the fallback where ZNS fails).")
    notify: ResidentNotifySettings = Field(default_factory=ResidentNotifySettings, description="Which alerts "
                                           "and bulletins reach which residents.")

    @field_validator("unsubscribe_keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        if any(not k.strip() or len(k) > 40 for k in v):
            raise ValueError("keywords must be 1-40 characters")
        return v
