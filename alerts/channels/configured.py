"""Which channels this process can use, from the environment (see docs/notifications.md).

A channel whose required variable is unset is simply absent; the notifier then treats it as a
permanent failure for that step of a chain and falls back to the next channel.

>>> sorted(configured_channels({"ELDERCARE_SMS_URL": "https://sms.example/send"}))
['sms', 'webhook']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerts.channels import Channel
from alerts.channels.email import EmailChannel
from alerts.channels.sms import SmsChannel
from alerts.channels.webhook import WebhookChannel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSetup:
    name: str
    required: str | None  # the variable without which the channel is off; None: always on
    build: Callable[[Mapping[str, str]], Channel]


SETUPS: tuple[ChannelSetup, ...] = (
    ChannelSetup(name="email", required="ELDERCARE_SMTP_HOST", build=EmailChannel.from_env),
    ChannelSetup(name="sms", required="ELDERCARE_SMS_URL", build=SmsChannel.from_env),
    # Webhook URLs and secrets are per site, in the database.
    ChannelSetup(name="webhook", required=None, build=WebhookChannel.from_env),
)


def configured_channels(environ: Mapping[str, str]) -> dict[str, Channel]:
    """Channels by name; raises ValueError for a malformed setting (bad port, unknown TLS mode)."""
    return {setup.name: setup.build(environ) for setup in SETUPS
            if setup.required is None or environ.get(setup.required)}
