"""Builds each receiver's channel from its config block, with its secret read from the environment, wrapped so that
nothing it answers carries an address or a secret."""
from __future__ import annotations

from collections.abc import Mapping

from tichwatch.alerts.channels.base import Channel
from tichwatch.alerts.channels.email import Email
from tichwatch.alerts.channels.facebook import FacebookPage
from tichwatch.alerts.channels.log import LogChannel
from tichwatch.alerts.channels.loudspeaker import Loudspeaker
from tichwatch.alerts.channels.mqtt import MqttState, Publish
from tichwatch.alerts.channels.redacted import RedactedChannel
from tichwatch.alerts.channels.sms import Sms
from tichwatch.alerts.channels.telegram import Telegram
from tichwatch.alerts.channels.webhook import Webhook
from tichwatch.alerts.channels.youtube import Credentials, YouTube
from tichwatch.alerts.channels.zalo import Zalo
from tichwatch.alerts.redaction import Redactor
from tichwatch.config.alerts import (
    ChannelConfig,
    EmailChannel,
    FacebookChannel,
    MqttChannel,
    ReceiverConfig,
    SmsChannel,
    TelegramChannel,
    WebhookChannel,
    YouTubeChannel,
    ZaloChannel,
)
from tichwatch.config.loader import secret
from tichwatch.config.loudspeaker import LoudspeakerChannel
from tichwatch.config.schema import Settings
from tichwatch.residents.bulletins.files import BulletinFiles
from tichwatch.residents.loudspeaker.audio import AudioCache


def secret_env_of(cfg: ChannelConfig) -> str | None:
    """The environment variable holding a channel's secret (token, password, HMAC key), None when it has none."""
    if isinstance(cfg, WebhookChannel):
        return cfg.secret_env
    if isinstance(cfg, EmailChannel):
        return cfg.password_env
    if isinstance(cfg, TelegramChannel):
        return cfg.token_env
    if isinstance(cfg, (ZaloChannel, FacebookChannel)):
        return cfg.access_token_env
    if isinstance(cfg, SmsChannel):
        return cfg.token_env
    if isinstance(cfg, LoudspeakerChannel):
        return cfg.token_env
    if isinstance(cfg, YouTubeChannel):
        return cfg.refresh_token_env
    return None


def _secret(cfg: ChannelConfig, env: Mapping[str, str] | None) -> str | None:
    name = secret_env_of(cfg)
    return secret(name, env) if name else None


def deployment_redactor(settings: Settings, env: Mapping[str, str] | None = None) -> Redactor:
    """The redactor of a deployment: every receiver's addresses and ids, and every channel's secret."""
    receivers = settings.alerts.receivers
    return Redactor.for_receivers(receivers, [_secret(r.channel, env) for r in receivers])


def build_channel(receiver: ReceiverConfig, settings: Settings, publish: Publish | None, redactor: Redactor,
                  env: Mapping[str, str] | None = None) -> Channel:
    """The channel of one receiver (not yet wrapped)."""
    cfg = receiver.channel
    key = _secret(cfg, env)
    if isinstance(cfg, WebhookChannel):
        return Webhook(cfg, key)
    if isinstance(cfg, EmailChannel):
        return Email(cfg, key)
    if isinstance(cfg, TelegramChannel):
        return Telegram(cfg, key)
    if isinstance(cfg, ZaloChannel):
        return Zalo(cfg, key)
    if isinstance(cfg, FacebookChannel):
        return FacebookPage(cfg, key, BulletinFiles(settings.store.data_dir), receiver.language or settings.language)
    if isinstance(cfg, YouTubeChannel):
        credentials = Credentials(secret(cfg.client_id_env, env), secret(cfg.client_secret_env, env), key)
        return YouTube(cfg, credentials, BulletinFiles(settings.store.data_dir), receiver.language or settings.language)
    if isinstance(cfg, SmsChannel):
        return Sms(cfg, key)
    if isinstance(cfg, LoudspeakerChannel):
        return Loudspeaker(cfg, settings, key, AudioCache(settings.store.data_dir, settings.loudspeaker))
    if isinstance(cfg, MqttChannel):
        return MqttState(cfg, publish, settings.mqtt.topic_prefix)
    return LogChannel(redactor)


def build_channels(settings: Settings, publish: Publish | None, redactor: Redactor,
                   env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every configured receiver's channel, by receiver name, each wrapped in the deployment's redactor."""
    return {r.name: RedactedChannel(r.name, build_channel(r, settings, publish, redactor, env), redactor)
            for r in settings.alerts.receivers}
