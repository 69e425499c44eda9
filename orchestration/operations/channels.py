"""Where alerts go: Microsoft Teams and Slack incoming webhooks, and e-mail over SMTP.

Configured by environment variables (read when alerts are sent, never at import) or by the
`alerting` resource's config, which wins. Nothing configured means no channel: nothing is sent
and nothing fails. Teams goes through dagster-msteams' client (an Adaptive Card for Workflows
webhooks, a MessageCard for legacy Office 365 connector URLs), Slack through slack_sdk's
WebhookClient, e-mail through smtplib with STARTTLS (required unless turned off, so that a
password never crosses the network in clear text).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from typing import Protocol

PREFIX = "REFERRAL_INSIGHTS_ALERT_"
# setting → environment variable (PREFIX + upper-case name)
ENV = {
    name: PREFIX + name.upper()
    for name in (
        "teams_webhook_url", "slack_webhook_url", "smtp_host", "smtp_port", "smtp_username",
        "smtp_password", "smtp_sender", "smtp_recipients", "smtp_starttls", "timeout_seconds",
        "max_data_age_days", "quarantine_share",
    )
}  # fmt: skip


@dataclass(frozen=True)
class Message:
    subject: str
    lines: tuple[str, ...]
    severity: str = "error"  # error | warning

    @property
    def text(self) -> str:
        return "\n".join([self.subject, *self.lines])


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver or raise."""


@dataclass(frozen=True)
class TeamsChannel:
    url: str
    timeout: float
    name: str = "teams"

    def send(self, message: Message) -> None:
        from dagster_msteams.adaptive_card import AdaptiveCard
        from dagster_msteams.card import Card
        from dagster_msteams.client import TeamsClient

        client = TeamsClient(hook_url=self.url, timeout=self.timeout)
        card = Card() if client.is_legacy_webhook() else AdaptiveCard()
        card.add_attachment(text_message=f"**{message.subject}**\n\n" + "\n\n".join(message.lines))
        client.post_message(payload=card.payload)  # raises on a non-2xx answer


@dataclass(frozen=True)
class SlackChannel:
    url: str
    timeout: float
    name: str = "slack"

    def send(self, message: Message) -> None:
        from slack_sdk.webhook import WebhookClient

        body = "\n".join(f"• {line}" for line in message.lines)
        response = WebhookClient(self.url, timeout=int(max(1, self.timeout))).send(
            text=message.text,  # the notification preview and the fallback for old clients
            blocks=[
                {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000] or " "}},
            ],
        )
        if response.status_code != 200:
            raise RuntimeError(f"Slack webhook answered {response.status_code}: {response.body}")


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None
    password: str | None
    starttls: bool
    timeout: float
    name: str = "email"

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = f"[referral-insights] {message.subject}"
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail.set_content(message.text + "\n")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                # the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR are honoured)
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)


@dataclass(frozen=True)
class AlertConfig:
    """Alert channels and thresholds. Unset channel settings mean no such channel."""

    teams_webhook_url: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str | None = None
    smtp_recipients: tuple[str, ...] = ()
    smtp_starttls: bool = True
    timeout_seconds: float = 10.0
    # Data older than this (days between today and the newest loaded snapshot of a source) is
    # stale: weekly snapshots plus a day, like the validation's feeding-snapshot check.
    max_data_age_days: int = 8
    # A file whose quarantined share of records exceeds this is an incident (one bad record in
    # a weekly file is noise; a twentieth of a file means the export changed).
    quarantine_share: float = 0.05
    errors: tuple[str, ...] = field(default=(), compare=False)
    """Settings that could not be read (reported, never raised: alerting must not fail a run)."""

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
    ) -> AlertConfig:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        errors: list[str] = []
        types = {f.name: f.type for f in fields(cls)}
        for name, var in ENV.items():
            raw = (overrides or {}).get(name)
            if raw is None:
                raw = (environ.get(var) or "").strip() or None
            if raw is None:
                continue
            try:
                values[name] = _parse(types[name], raw)
            except ValueError as exc:
                errors.append(f"{var}: {exc}")
        return cls(**values, errors=tuple(errors))

    def channels(self) -> list[Channel]:
        out: list[Channel] = []
        if self.teams_webhook_url:
            out.append(TeamsChannel(self.teams_webhook_url, self.timeout_seconds))
        if self.slack_webhook_url:
            out.append(SlackChannel(self.slack_webhook_url, self.timeout_seconds))
        if self.smtp_host and self.smtp_recipients:
            out.append(
                EmailChannel(
                    self.smtp_host,
                    self.smtp_port,
                    self.smtp_sender or f"referral-insights@{self.smtp_host}",
                    self.smtp_recipients,
                    self.smtp_username,
                    self.smtp_password,
                    self.smtp_starttls,
                    self.timeout_seconds,
                )
            )
        return out


def _parse(kind: object, raw: object) -> object:
    kind = str(kind)
    if isinstance(raw, str):
        text = raw.strip()
    else:
        return tuple(raw) if "tuple" in kind and isinstance(raw, list | tuple) else raw
    if "tuple" in kind:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if kind.startswith("bool"):
        if text.lower() in {"1", "true", "yes", "on"}:
            return True
        if text.lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    return text
