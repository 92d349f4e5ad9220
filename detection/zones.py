"""Time zones by IANA name, with one clear error for a name that is none.

Sites store their zone as text (``sites.tz``); the admin API refuses an unknown one, readers of
reports name their own, and the detectors judge each resident's day and night in their site's.
All of them ask here, so a misspelt zone reads the same wherever it is caught.

>>> known_zone("Asia/Shanghai").key
'Asia/Shanghai'
>>> known_zone("Europe/Lodnon")
Traceback (most recent call last):
...
ValueError: unknown time zone 'Europe/Lodnon': an IANA name such as Asia/Shanghai
"""

from __future__ import annotations

from zoneinfo import ZoneInfo


def known_zone(tz: str) -> ZoneInfo:
    """The zone ``tz`` names; ``ValueError`` if it names none (zoneinfo raises a ``KeyError``
    for an unknown name and a ``ValueError`` for a malformed one, such as a path)."""
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}: an IANA name such as Asia/Shanghai") from None
