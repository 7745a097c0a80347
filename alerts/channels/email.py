"""Email over SMTP: STARTTLS (certificate verified), then authentication, then one message in plain text and HTML.

The idempotency key is the Message-ID (`<key@tichwatch>`) and an `X-Idempotency-Key` header, so a mail system or
a person can recognise a repeat after a crash. 4xx SMTP replies and network errors are retried; 5xx are not.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.config.alerts import EmailChannel


class Email:
    """Send through an SMTP server."""

    def __init__(self, cfg: EmailChannel, password: str | None):
        self.cfg = cfg
        self._password = password

    def _message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = n.message.title
        msg["From"] = self.cfg.from_addr
        msg["To"] = ", ".join(self.cfg.to)
        msg["Date"] = formatdate(n.created_ts, usegmt=True)
        msg["Message-ID"] = f"<{n.idempotency_key}@tichwatch>"
        msg["X-Idempotency-Key"] = n.idempotency_key
        msg.set_content(n.message.text)
        msg.add_alternative(n.message.html, subtype="html")
        return msg

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        if self.cfg.username and not self._password:
            return DeliveryResult.fail(f"SMTP password not set (environment variable {self.cfg.password_env})")
        try:
            with smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s) as smtp:
                if self.cfg.starttls:
                    cafile = str(self.cfg.tls_ca_file) if self.cfg.tls_ca_file else None
                    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                if self.cfg.username:
                    smtp.login(self.cfg.username, self._password or "")
                refused = smtp.send_message(self._message(n))
        except smtplib.SMTPAuthenticationError as exc:
            return DeliveryResult.fail(f"SMTP authentication refused: {exc.smtp_code}")
        except smtplib.SMTPRecipientsRefused as exc:
            return DeliveryResult.fail(f"every recipient refused: {sorted(exc.recipients)}")
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            text = error.decode("utf-8", "replace") if isinstance(error, bytes) else error
            detail = f"SMTP {exc.smtp_code}: {text[:200]}"
            return DeliveryResult.retry(detail) if 400 <= exc.smtp_code < 500 else DeliveryResult.fail(detail)
        except TimeoutError:  # the server stopped answering, maybe after taking the message: outcome unknown
            return DeliveryResult.no_answer(f"SMTP server silent for {self.cfg.timeout_s:g} s (outcome unknown)")
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            return DeliveryResult.retry(f"SMTP connection failed: {type(exc).__name__}: {exc}")
        if refused:
            return DeliveryResult.sent(detail=f"some recipients refused: {sorted(refused)}")
        return DeliveryResult.sent()
