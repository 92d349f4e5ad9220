"""The demo's outbox: what an SMS or an email would have said, written to a folder instead.

``eldercare demo`` has no SMS gateway and no mail server, and without them every message to a
family was given up ("channel email is not configured"), so nobody running the demo could see
what a daughter is told. The outbox stands in for the channels that are not configured: each
message is checked as the real channel checks it (a malformed phone number or address is still a
permanent failure, and the chain falls back as it would) and written as one file,
``<notification id>-sms.txt`` (the number and the one-message text) or
``<notification id>-email.eml`` (the message the email channel would send, readable by any mail
program). A retry of the same notification overwrites its own file.

It is for development only: :class:`eldercare.platform.Platform` refuses it in production, where
a message that reaches no one must be seen to fail.

>>> OutboxChannel("sms", Path("/tmp/outbox")).name
'sms'
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.channels import Outgoing
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.sms import sms_number
from alerts.delivery_errors import DeliveryError

OUTBOX_CHANNELS = ("sms", "email")
"""The channels the outbox can stand in for (webhooks are per site and always configured)."""


class OutboxChannel:
    def __init__(self, name: str, folder: Path) -> None:
        if name not in OUTBOX_CHANNELS:
            raise ValueError(f"the outbox stands in for {', '.join(OUTBOX_CHANNELS)}, not {name!r}")
        self.name = name
        self.folder = folder
        self._email = EmailChannel(SmtpSettings(host="outbox", sender="12349 <noreply@localhost>"))

    def __repr__(self) -> str:
        return f"OutboxChannel({self.name!r}, {str(self.folder)!r})"

    def render(self, message: Outgoing) -> tuple[str, bytes]:
        """(file name, content) of the message, or DeliveryError as the real channel raises it."""
        if self.name == "sms":
            text = f"To: {sms_number(message.address)}\n\n{message.short_text}\n"
            return f"{message.ref or message.notification_id}-sms.txt", text.encode()
        return (f"{message.ref or message.notification_id}-email.eml",
                self._email.compose(message).as_bytes())

    async def send(self, message: Outgoing) -> None:
        name, content = self.render(message)
        try:
            await asyncio.to_thread(self._write, self.folder / name, content)
        except OSError as err:  # a full disk or a removed folder: worth another try
            raise DeliveryError(f"outbox: {err.strerror or err}", permanent=False) from None

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
