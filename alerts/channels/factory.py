"""Builds each receiver's channel from its config block, with its secret read from the environment."""
from __future__ import annotations

from typing import Mapping

from alerts.channels.base import Channel
from alerts.channels.email import Email
from alerts.channels.facebook import FacebookPage
from alerts.channels.log import LogChannel
from alerts.channels.mqtt import MqttState, Publish
from alerts.channels.sms import Sms
from alerts.channels.telegram import Telegram
from alerts.channels.webhook import Webhook
from alerts.channels.zalo import Zalo
from alerts.settings import (EmailChannel, FacebookChannel, MqttChannel, ReceiverConfig, SmsChannel, TelegramChannel,
                             WebhookChannel, ZaloChannel)
from config.loader import secret
from config.schema import Settings


def build_channel(receiver: ReceiverConfig, settings: Settings, publish: Publish | None,
                  env: Mapping[str, str] | None = None) -> Channel:
    """The channel of one receiver."""
    cfg = receiver.channel
    if isinstance(cfg, WebhookChannel):
        return Webhook(cfg, secret(cfg.secret_env, env) if cfg.secret_env else None)
    if isinstance(cfg, EmailChannel):
        return Email(cfg, secret(cfg.password_env, env))
    if isinstance(cfg, TelegramChannel):
        return Telegram(cfg, secret(cfg.token_env, env))
    if isinstance(cfg, ZaloChannel):
        return Zalo(cfg, secret(cfg.access_token_env, env))
    if isinstance(cfg, FacebookChannel):
        return FacebookPage(cfg, secret(cfg.access_token_env, env))
    if isinstance(cfg, SmsChannel):
        return Sms(cfg, secret(cfg.token_env, env) if cfg.token_env else None)
    if isinstance(cfg, MqttChannel):
        return MqttState(cfg, publish, settings.mqtt.topic_prefix)
    return LogChannel()


def build_channels(settings: Settings, publish: Publish | None, env: Mapping[str, str] | None = None
                   ) -> dict[str, Channel]:
    """Every configured receiver's channel, by receiver name."""
    return {r.name: build_channel(r, settings, publish, env) for r in settings.alerts.receivers}
