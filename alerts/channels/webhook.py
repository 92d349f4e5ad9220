"""Webhook channel: POST the notification as JSON, signed with the webhook's own secret.

Headers:
``X-Eldercare-Signature: sha256=<hex>``  HMAC-SHA256 of the raw body, keyed with the secret
``X-Eldercare-Timestamp: <epoch s>``     when this attempt was made
``X-Eldercare-Delivery: <id>``           the notification id, the same on every retry

The timestamp is also in the body (``sent_at``), so the signature covers it: a receiver that
checks the signature, that the two agree and that the time is recent (:func:`verify`) cannot be
fooled by a replayed request. Retries repeat ``notification_id``, so receivers deduplicate on it.

>>> body = b'{"sent_at":1700000000}'
>>> headers = signed_headers(body, secret="s3cret", notification_id=1, sent_at=1700000000)
>>> verify(body, headers, secret="s3cret", now=1700000060)
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from alerts.channels import Outgoing
from alerts.channels.http import post_json
from alerts.delivery_errors import DeliveryError

SIGNATURE_HEADER = "X-Eldercare-Signature"
TIMESTAMP_HEADER = "X-Eldercare-Timestamp"
DELIVERY_HEADER = "X-Eldercare-Delivery"
REPLAY_TOLERANCE = 300.0  # seconds; clocks of sender and receiver may differ a little


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, secret: str, notification_id: int, sent_at: int) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret), TIMESTAMP_HEADER: str(sent_at),
            DELIVERY_HEADER: str(notification_id)}


def verify(body: bytes, headers: Mapping[str, str], *, secret: str, now: float,
           tolerance: float = REPLAY_TOLERANCE) -> bool:
    """What a receiver should check: signature, signed timestamp equal to the header, freshness."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not hmac.compare_digest(given, sign(body, secret)):
        return False
    try:
        stamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
        signed_stamp = json.loads(body)["sent_at"]
    except (ValueError, KeyError, TypeError):
        return False
    return stamp == signed_stamp and abs(now - stamp) <= tolerance


class WebhookChannel:
    """Delivers to the URL of a site's webhook (the recipient row), not to a configured one."""

    name = "webhook"

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookChannel:
        return cls(timeout=float(environ.get("ELDERCARE_WEBHOOK_TIMEOUT", "10")))

    def body(self, message: Outgoing) -> bytes:
        document = {**message.payload, "notification_id": message.notification_id,
                    "sent_at": int(message.sent_at), "lang": message.lang,
                    "subject": message.subject, "text": message.body}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    async def send(self, message: Outgoing) -> None:
        if not message.secret:
            raise DeliveryError("webhook has no secret; refusing to send unsigned", permanent=True)
        body = self.body(message)
        headers = signed_headers(body, secret=message.secret, notification_id=message.notification_id,
                                 sent_at=int(message.sent_at))
        await post_json(message.address, body, headers=headers, timeout=self.timeout, what="webhook")
