"""Email channel: SMTP through the standard library's smtplib, in a worker thread.

One connection per message: notifications are rare and a fresh connection never inherits a
half-broken session. TLS is ``starttls`` (port 587, the default), ``tls`` (implicit, port 465) or
``none`` (a relay on the same host, or a test server). SMTP replies are translated: 5xx and
refused recipients are permanent, 4xx and network trouble are worth retrying.

>>> EmailChannel(SmtpSettings(host="smtp.example", sender="12349@example.org")).name
'email'
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from alerts.channels import Outgoing
from alerts.delivery_errors import DeliveryError

_TLS_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str  # "12349 为老服务 <noreply@example.org>" or a bare address
    user: str = ""
    password: str = field(default="", repr=False)
    tls: str = "starttls"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.tls not in _TLS_MODES:
            raise ValueError(f"ELDERCARE_SMTP_TLS must be one of {', '.join(_TLS_MODES)}, not {self.tls!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings:
        tls = environ.get("ELDERCARE_SMTP_TLS", "starttls")
        default_port = {"starttls": "587", "tls": "465", "none": "25"}.get(tls, "587")
        return cls(host=environ["ELDERCARE_SMTP_HOST"],
                   port=int(environ.get("ELDERCARE_SMTP_PORT", default_port)),
                   sender=environ.get("ELDERCARE_SMTP_FROM", "noreply@localhost"),
                   user=environ.get("ELDERCARE_SMTP_USER", ""),
                   password=environ.get("ELDERCARE_SMTP_PASSWORD", ""), tls=tls,
                   timeout=float(environ.get("ELDERCARE_SMTP_TIMEOUT", "30")))


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EmailChannel:
        return cls(SmtpSettings.from_env(environ))

    def compose(self, message: Outgoing) -> EmailMessage:
        _, address = parseaddr(message.address)
        if "@" not in address or address != message.address.strip():
            raise DeliveryError("invalid email address", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = address
        mail["Subject"] = message.subject  # non-ASCII is RFC 2047-encoded by the email package
        mail["Date"] = formatdate(message.sent_at, localtime=False)
        mail["Message-ID"] = make_msgid(idstring=message.key)
        if message.ref:
            mail["X-Eldercare-Ref"] = message.ref
        else:
            mail["X-Eldercare-Notification"] = str(message.notification_id)
        mail["Content-Language"] = message.lang
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def send(self, message: Outgoing) -> None:
        mail = self.compose(message)
        await asyncio.to_thread(self._deliver, mail)

    def _deliver(self, mail: EmailMessage) -> None:
        s = self.settings
        try:
            smtp = (smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                     context=ssl.create_default_context())
                    if s.tls == "tls" else smtplib.SMTP(s.host, s.port, timeout=s.timeout))
            with smtp:
                if s.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError("mail server refused the recipient", permanent=True) from err
        except smtplib.SMTPResponseException as err:
            # Covers authentication (535) and sender refusals: 5xx will not change on retry.
            raise DeliveryError(f"mail server answered {err.smtp_code}",
                                permanent=err.smtp_code >= 500) from err
        except smtplib.SMTPNotSupportedError as err:
            raise DeliveryError("mail server does not support STARTTLS", permanent=True) from err
        except (smtplib.SMTPException, OSError) as err:  # OSError: refused, timeout, TLS failure
            raise DeliveryError(f"mail server unreachable ({type(err).__name__})", permanent=False) from err
