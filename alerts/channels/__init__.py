"""Notification channels: one file each (``email``, ``sms``, ``webhook``), one shape for all.

A channel is anything with a ``name`` and ``async send(message: Outgoing) -> None`` that raises
:class:`~alerts.delivery_errors.DeliveryError` and nothing else. ``ADDRESS_FIELD`` says which of
the recipient's fields a channel delivers to, so that a contact without an email address never
gets 'email' in their chain.

>>> ADDRESS_FIELD["sms"]
'phone'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from alerts.delivery_errors import DeliveryError

__all__ = ["ADDRESS_FIELD", "Channel", "DeliveryError", "Outgoing"]

ADDRESS_FIELD: dict[str, str] = {"sms": "phone", "email": "email", "webhook": "url"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One attempt to deliver one notification through one channel."""

    notification_id: int
    kind: str  # 'alarm' or 'handled'
    lang: str
    address: str  # phone number, email address or URL, as the channel needs
    subject: str
    body: str
    short_text: str
    payload: Mapping[str, Any]
    sent_at: float  # epoch seconds of this attempt (the webhook's signed timestamp)
    secret: str = field(default="", repr=False)  # the webhook's HMAC key
    ref: str = ""
    """What the message is, when it is no family notification (``intake-page-3``, a page to the
    on-call engineer; alerts/oncall.py): its idempotency key and file name instead of the id."""

    @property
    def key(self) -> str:
        """Unique per message, and the same on each retry of it."""
        return self.ref or f"notification-{self.notification_id}"


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, message: Outgoing) -> None:
        """Deliver or raise DeliveryError."""
        ...
