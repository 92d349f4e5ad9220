"""Each channel against a real server: SMTP (aiosmtpd), webhooks and the SMS gateway (a real HTTP
server in a thread). Also the receivers that ``test_notify_delivery.py`` reuses."""

from __future__ import annotations

import contextlib
import doctest
import email
import email.policy
import importlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from alerts.channels import Outgoing
from alerts.channels.configured import configured_channels
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.outbox import OutboxChannel
from alerts.channels.sms import SmsChannel
from alerts.channels.webhook import WebhookChannel, verify
from alerts.delivery_errors import DeliveryError
from tests.servers import free_port

# --- the receivers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A real HTTP server answering each POST with the next scripted status (the last repeats)."""

    def __init__(self, statuses: Sequence[int] = (200,)) -> None:
        self.statuses = list(statuses)
        self.requests: list[Received] = []
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    index = len(receiver.requests)
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                answer = b'{"ok":true}' if status < 400 else b'{"error":"invalid number"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # A listen backlog for many concurrent senders: the default (5) refuses connections
        # when several notifiers post at once on a busy machine.
        ThreadingHTTPServer.request_queue_size = 128
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what it accepts; refuses the addresses in ``refuse``."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    mailbox: Mailbox
    port: int

    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, sender="12349 <noreply@12349.example>",
                            tls="none", timeout=5)


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd, in its own thread) on a free port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(mailbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def outgoing(**changes: Any) -> Outgoing:
    values: dict[str, Any] = {
        "notification_id": 7, "kind": "alarm", "lang": "zh-CN", "address": "daughter@example.org",
        "subject": "【12349】王秀英：跌倒", "body": "王秀英（幸福里小区）于2026年11月22日 22:46发生跌倒。\n",
        "short_text": "【12349】王秀英于11月22日 22:46发生跌倒", "payload": {"incident_id": 3},
        "sent_at": 1_800_000_000.0, "secret": "",
    }
    return Outgoing(**(values | changes))


# --- email ---------------------------------------------------------------------------------------


async def test_email_arrives_with_chinese_subject_and_body_decoded_intact(smtp: SmtpServer) -> None:
    await EmailChannel(smtp.settings()).send(outgoing())
    [mail] = smtp.mailbox.messages
    assert mail["Subject"] == "【12349】王秀英：跌倒"
    assert mail["To"] == "daughter@example.org"
    assert mail["X-Eldercare-Notification"] == "7"
    assert "王秀英（幸福里小区）" in mail.get_content()
    assert smtp.mailbox.envelopes == [("noreply@12349.example", ["daughter@example.org"])]


async def test_a_refused_recipient_is_permanent(smtp: SmtpServer) -> None:
    smtp.mailbox.refuse.add("gone@example.org")
    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(smtp.settings()).send(outgoing(address="gone@example.org"))
    assert caught.value.permanent
    assert smtp.mailbox.messages == []


async def test_an_unreachable_mail_server_is_worth_retrying() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender="a@b.c", tls="none", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(settings).send(outgoing())
    assert not caught.value.permanent
    assert "unreachable" in caught.value.reason


async def test_an_invalid_address_fails_permanently_without_connecting() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender="a@b.c", tls="none")
    with pytest.raises(DeliveryError) as caught:
        await EmailChannel(settings).send(outgoing(address="not an address"))
    assert caught.value.permanent


# --- webhook -------------------------------------------------------------------------------------


async def test_webhook_body_is_signed_with_the_secret_and_timestamped() -> None:
    with HttpReceiver([204]) as receiver:
        await WebhookChannel().send(outgoing(address=receiver.url, secret="partner-secret"))
    [request] = receiver.requests
    now = 1_800_000_030.0
    assert verify(request.body, request.headers, secret="partner-secret", now=now)
    assert not verify(request.body, request.headers, secret="another-secret", now=now)
    tampered = request.body.replace(b'"incident_id":3', b'"incident_id":4')
    assert tampered != request.body
    assert not verify(tampered, request.headers, secret="partner-secret", now=now)
    assert not verify(request.body, request.headers, secret="partner-secret", now=now + 3600)  # replay
    document = request.json()
    assert document["notification_id"] == 7 and document["sent_at"] == 1_800_000_000
    assert document["subject"] == "【12349】王秀英：跌倒"
    assert request.headers["X-Eldercare-Timestamp"] == "1800000000"


async def test_a_changed_timestamp_header_does_not_verify() -> None:
    with HttpReceiver([200]) as receiver:
        await WebhookChannel().send(outgoing(address=receiver.url, secret="s"))
    [request] = receiver.requests
    forged = request.headers | {"X-Eldercare-Timestamp": "1800003600"}
    assert not verify(request.body, forged, secret="s", now=1_800_003_600)


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False),
                                                   (400, True), (404, True), (301, True)])
async def test_webhook_status_codes_map_to_retry_or_give_up(status: int, permanent: bool) -> None:
    with HttpReceiver([status]) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await WebhookChannel().send(outgoing(address=receiver.url, secret="s"))
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in caught.value.reason


async def test_webhook_without_secret_is_refused() -> None:
    with HttpReceiver() as receiver:
        with pytest.raises(DeliveryError) as caught:
            await WebhookChannel().send(outgoing(address=receiver.url, secret=""))
    assert caught.value.permanent and receiver.requests == []


async def test_webhook_connection_refused_is_worth_retrying() -> None:
    with pytest.raises(DeliveryError) as caught:
        await WebhookChannel().send(outgoing(address=f"http://127.0.0.1:{free_port()}/", secret="s"))
    assert not caught.value.permanent


# --- SMS -----------------------------------------------------------------------------------------


async def test_sms_gateway_gets_number_and_short_text_with_bearer_token() -> None:
    with HttpReceiver([200]) as receiver:
        channel = SmsChannel(url=receiver.url, token="tok-123")
        await channel.send(outgoing(address="+86 138-0000-0000"))
    [request] = receiver.requests
    assert request.json() == {"to": "+8613800000000", "text": "【12349】王秀英于11月22日 22:46发生跌倒"}
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Idempotency-Key"] == "eldercare-notification-7"
    assert "tok-123" not in repr(channel)


async def test_sms_gateway_rejection_is_permanent_and_keeps_its_reason_but_not_the_token() -> None:
    with HttpReceiver([400]) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await SmsChannel(url=receiver.url, token="tok-123").send(outgoing(address="13800000000"))
    assert caught.value.permanent
    assert "invalid number" in caught.value.reason and "tok-123" not in caught.value.reason


async def test_sms_gateway_overload_is_worth_retrying() -> None:
    with HttpReceiver([503]) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await SmsChannel(url=receiver.url, token="t").send(outgoing(address="13800000000"))
    assert not caught.value.permanent


async def test_sms_to_a_malformed_number_never_reaches_the_gateway() -> None:
    with HttpReceiver() as receiver:
        with pytest.raises(DeliveryError) as caught:
            await SmsChannel(url=receiver.url, token="t").send(outgoing(address="call me"))
    assert caught.value.permanent and receiver.requests == []


# --- configuration -------------------------------------------------------------------------------


def test_channels_are_configured_from_the_environment_and_hide_secrets() -> None:
    channels = configured_channels({
        "ELDERCARE_SMTP_HOST": "smtp.example", "ELDERCARE_SMTP_PASSWORD": "pw-secret",
        "ELDERCARE_SMTP_TLS": "tls", "ELDERCARE_SMTP_FROM": "noreply@example.org",
        "ELDERCARE_SMS_URL": "https://sms.example/send", "ELDERCARE_SMS_TOKEN": "tok-secret"})
    assert sorted(channels) == ["email", "sms", "webhook"]
    email_channel = channels["email"]
    assert isinstance(email_channel, EmailChannel)
    assert email_channel.settings.port == 465  # implicit TLS's port when none is given
    assert "pw-secret" not in repr(email_channel.settings)
    assert "tok-secret" not in repr(channels["sms"])
    assert sorted(configured_channels({})) == ["webhook"]


def test_a_bad_tls_mode_fails_at_start() -> None:
    with pytest.raises(ValueError, match="ELDERCARE_SMTP_TLS"):
        configured_channels({"ELDERCARE_SMTP_HOST": "h", "ELDERCARE_SMTP_TLS": "maybe"})


# --- the demo's outbox ----------------------------------------------------------------------------


async def test_the_outbox_writes_what_each_channel_would_send(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"  # made on the first message
    await OutboxChannel("sms", folder).send(outgoing(address="+86 138-0000-0000"))
    await OutboxChannel("email", folder).send(outgoing(notification_id=8))
    assert sorted(p.name for p in folder.iterdir()) == ["7-sms.txt", "8-email.eml"]
    assert (folder / "7-sms.txt").read_text() == (
        "To: +8613800000000\n\n【12349】王秀英于11月22日 22:46发生跌倒\n")
    mail = email.message_from_bytes((folder / "8-email.eml").read_bytes(), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "【12349】王秀英：跌倒"
    assert mail["To"] == "daughter@example.org"
    assert "王秀英（幸福里小区）" in mail.get_content()


async def test_the_outbox_refuses_what_the_real_channel_refuses(tmp_path: Path) -> None:
    for name, address in (("sms", "call me"), ("email", "not-an-address")):
        with pytest.raises(DeliveryError) as err:
            await OutboxChannel(name, tmp_path).send(outgoing(address=address))
        assert err.value.permanent
    assert list(tmp_path.iterdir()) == []
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the folder cannot be made: a failure worth retrying
    with pytest.raises(DeliveryError) as err:
        await OutboxChannel("sms", blocked / "outbox").send(outgoing(address="13800000000"))
    assert not err.value.permanent
    with pytest.raises(ValueError, match="stands in for"):
        OutboxChannel("webhook", tmp_path)


@pytest.mark.parametrize("module", ["alerts.channels", "alerts.channels.http", "alerts.channels.webhook",
                                    "alerts.channels.sms", "alerts.channels.email",
                                    "alerts.channels.configured", "alerts.channels.outbox",
                                    "alerts.delivery_errors"])
def test_docstring_examples(module: str) -> None:
    assert doctest.testmod(importlib.import_module(module)).failed == 0


def test_production_refuses_the_outbox(tmp_path: Path) -> None:
    """A message to a family that reaches no one must fail where operators see it, not land in
    a folder."""
    from eldercare.platform import Platform
    from eldercare.settings import Settings, SettingsError

    production = Settings(env="production", db_url="postgresql://db/x",
                          broker_url="mqtt://u:secret-pw@broker:1883")
    with pytest.raises(SettingsError, match="outbox"):
        Platform(settings=production, db_url="postgresql://db/x", broker_url=None, outbox=tmp_path)
    assert Platform(settings=Settings(), db_url="postgresql://db/x", broker_url=None,
                    outbox=tmp_path).outbox == tmp_path
