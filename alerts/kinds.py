"""Alarm kinds and their priorities, as data.

Priority classes (issue 5): P1 life at risk now (smoke/fire, SOS, fall), P2 critical vitals,
P3 welfare concerns (inactivity, wandering, vitals deviation), P4 device maintenance.
The console sorts by priority, then age.

>>> KINDS["smoke"].priority
1
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmKind:
    name: str
    priority: int
    title_en: str
    title_zh: str
    sms_en: str = ""
    """A shorter English title for an SMS that must fit 70 UCS-2 characters (an English text
    naming a Chinese elder, alerts/messages.py); empty when ``title_en`` is short already."""
    about_site: bool = False
    """About a whole site, not the elder or room of the device that raised it: one incident per
    site, routed by the site's routing, and no family is told (alerts/raising.py, routing.py)."""
    about_area: bool = False
    """About a community's homes together (their lines cut by the provider), not the home of
    the device that raised it: one incident per community, routed to the centre, no resident,
    and no family is told (alerts/raising.py, routing.py)."""


_ALL: tuple[AlarmKind, ...] = (
    AlarmKind(name="smoke", priority=1, title_en="Smoke alarm", title_zh="烟雾报警"),
    AlarmKind(name="sos", priority=1, title_en="Emergency call (SOS)", title_zh="紧急呼叫",
              sms_en="SOS"),
    AlarmKind(name="fall", priority=1, title_en="Fall", title_zh="跌倒"),
    AlarmKind(name="vitals_critical", priority=2, title_en="Critical vital signs",
              title_zh="生命体征危急", sms_en="Vitals critical"),
    AlarmKind(name="inactivity", priority=3, title_en="No activity", title_zh="长时间无活动"),
    AlarmKind(name="wandering", priority=3, title_en="Left the safe zone",
              title_zh="离开安全区域", sms_en="Left safe zone"),
    AlarmKind(name="vitals_deviation", priority=3, title_en="Vital signs unusual",
              title_zh="生命体征异常", sms_en="Vitals unusual"),
    AlarmKind(name="welfare_check", priority=3, title_en="All emergency devices silent",
              title_zh="紧急设备全部失联", sms_en="Devices silent"),
    # many devices of one site silent together: its network or gateway (detection.device_health)
    AlarmKind(name="site_silent", priority=2, title_en="Site's devices silent",
              title_zh="场所设备集体失联", sms_en="Site silent", about_site=True),
    # the gateways of several homes of one community down together: the provider's network
    # (detection.device_health); each elder it leaves with nothing has their own welfare check
    AlarmKind(name="area_outage", priority=3, title_en="Area network outage",
              title_zh="片区网络中断", sms_en="Area outage", about_area=True),
    AlarmKind(name="maintenance", priority=4, title_en="Device maintenance", title_zh="设备维护",
              sms_en="Maintenance"),
)
KINDS: dict[str, AlarmKind] = {kind.name: kind for kind in _ALL}
