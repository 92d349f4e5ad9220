"""SMS channel: a generic HTTP gateway adapter; which provider is a matter of configuration.

The gateway receives ``POST <ELDERCARE_SMS_URL>`` with ``Authorization: Bearer <token>`` and the
JSON body ``{"to": "+8613800000000", "text": "..."}``; any 2xx means accepted. Providers with a
different API sit behind a small relay that speaks this one. ``Idempotency-Key`` is the same on
every retry of a notification, so a gateway that honours it never sends a retried SMS twice.

>>> SmsChannel(url="https://sms.example/send", token="t").name
'sms'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from alerts.channels import Outgoing
from alerts.channels.http import post_json
from alerts.delivery_errors import DeliveryError

# E.164 allows 15 digits; local formats add a trunk prefix. Spaces and dashes are tolerated.
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,19}")


def sms_number(address: str) -> str:
    """The number a gateway is given: spaces and dashes dropped; DeliveryError (permanent) if
    ``address`` is no phone number.

    >>> sms_number("+86 138-0000-0000")
    '+8613800000000'
    """
    if not _PHONE.fullmatch(address.strip()):
        raise DeliveryError("invalid phone number", permanent=True)
    return address.strip().replace(" ", "").replace("-", "")


class SmsChannel:
    name = "sms"

    def __init__(self, *, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url
        self._token = token  # never logged, never in an error reason
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmsChannel(url={self.url!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmsChannel:
        return cls(url=environ["ELDERCARE_SMS_URL"], token=environ.get("ELDERCARE_SMS_TOKEN", ""),
                   timeout=float(environ.get("ELDERCARE_SMS_TIMEOUT", "10")))

    async def send(self, message: Outgoing) -> None:
        to = sms_number(message.address)
        body = json.dumps({"to": to, "text": message.short_text}, ensure_ascii=False).encode()
        headers = {"Idempotency-Key": f"eldercare-{message.key}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        await post_json(self.url, body, headers=headers, timeout=self.timeout, what="SMS gateway")
