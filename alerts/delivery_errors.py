"""The one exception every notification channel raises: the channel boundary's translation of
smtplib's, httpx's and the gateways' many failures into "try again later" or "this will never work".

>>> err = DeliveryError("HTTP 400 from SMS gateway: invalid number", permanent=True)
>>> err.permanent, str(err)
(True, 'HTTP 400 from SMS gateway: invalid number')
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A message could not be delivered through one channel.

    ``permanent`` means retrying the same channel cannot help (address refused, 4xx, channel not
    configured): the notifier falls back to the next channel at once. Otherwise (timeouts, 5xx,
    connection refused) it retries the same channel after a backoff. ``reason`` is shown to
    operators, so it never contains a secret.
    """

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
