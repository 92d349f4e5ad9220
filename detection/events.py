"""What a device event means: the table from event type to the alarm it raises, if any.

SOS and smoke raise an alarm at once: no detector, no delay, no suppression. A test press of a
smoke detector is recorded and never alarmed. Fault, tamper and low battery become P4 maintenance
items; cancel annotates the wearer's open alarm.

>>> rule_for("sos").alarm
'sos'
>>> rule_for("test").alarm is None
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRule:
    event: str
    alarm: str | None
    """Alarm kind raised by the event, or None when the event is only recorded."""
    cancels: bool = False
    """The event cancels (annotates, never deletes) the device's latest open alarm."""


RULES: tuple[EventRule, ...] = (
    EventRule(event="sos", alarm="sos"),
    EventRule(event="smoke", alarm="smoke"),
    EventRule(event="fall", alarm="fall"),
    EventRule(event="cancel", alarm=None, cancels=True),
    EventRule(event="smoke_cleared", alarm=None),
    EventRule(event="test", alarm=None),
    # Device upkeep: P4 maintenance items for the care home's list, never the operators' queue.
    EventRule(event="fault", alarm="maintenance"),
    EventRule(event="tamper", alarm="maintenance"),
    # ...and their end: recorded; device health closes the item (detection/device_health.py)
    EventRule(event="fault_cleared", alarm=None),
    EventRule(event="tamper_cleared", alarm=None),
    EventRule(event="battery_low", alarm="maintenance"),
    # A service key: ingest opens a ticket instead only when the device is configured for it
    # (alerts.services.service_request); from any other device it is a press, so an SOS.
    EventRule(event="service", alarm="sos"),
)
_BY_EVENT = {rule.event: rule for rule in RULES}


def rule_for(event: str) -> EventRule:
    """The rule for an event type; unknown types are recorded only."""
    return _BY_EVENT.get(event, EventRule(event=event, alarm=None))
