"""Settings from the command line and the environment, checked once at start.

Environment variables (all optional in development):

=========================  ======================================================================
``ELDERCARE_ENV``          ``development`` (default) or ``production``
``ELDERCARE_BROKER``       broker URL, ``mqtt://user:password@host:1883`` (or ``mqtts://``)
``ELDERCARE_DB``           PostgreSQL URL, ``postgresql://user:password@host/db``
``ELDERCARE_DATA``         folder for the embedded database and broker (default ``./var``)
``ELDERCARE_CLIENT_ID``    MQTT client id of this ingest process (its persistent session)
``ELDERCARE_RATE_LIMIT``   each device's stream budget, e.g. ``burst=50,per_s=10,bytes_per_token=4096``
                           (ingest/ratelimit.py; what is not given keeps its default)
``ELDERCARE_ONCALL``       who is paged when the alarm path breaks: email addresses and phone
                           numbers, comma-separated (alerts/oncall.py; the console sends by the
                           configured email and SMS channels)
``ELDERCARE_CHECKIN``      each device class's expected check-in interval, e.g.
                           ``button=12h,smoke_detector=25h,wearable=1h,hub=10min,wall_button=10min``
                           (detection/device_health.py; a class not named keeps its default; a
                           device silent 1.5 intervals is "no check-in")
``ELDERCARE_PUBLIC_URL``   the console's address as the on-call engineers reach it,
                           ``https://console.centre.example``: their pages carry an "I'm on it"
                           link to it (alerts/oncall.py); in development the console's own
                           address; outside it, https only
=========================  ======================================================================

Outside development an unsafe set-up refuses to start: no embedded database or broker, no broker
without credentials, no cookies without ``Secure``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from alerts.oncall import parse_oncall
from detection.device_health import DEVICE_CLASSES, DeviceClass, with_checkins
from ingest.broker import BrokerAddress
from ingest.ratelimit import Budget


class SettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    env: str = "development"
    broker_url: str | None = None
    db_url: str | None = None
    data_dir: Path = Path("var")
    client_id: str = "eldercare-ingest"
    rate_limit: Budget = field(default_factory=Budget)
    oncall: tuple[str, ...] = ()
    public_url: str | None = None
    checkin: tuple[DeviceClass, ...] = DEVICE_CLASSES
    """Each device class's expected check-in interval (``ELDERCARE_CHECKIN``)."""

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def cookie_secure(self) -> bool:
        return self.production

    @classmethod
    def from_env(cls, *, broker: str | None = None, db: str | None = None) -> Settings:
        env = os.environ.get("ELDERCARE_ENV", "development")
        try:
            budget = Budget.parse(os.environ.get("ELDERCARE_RATE_LIMIT", ""))
        except ValueError as err:
            raise SettingsError(f"ELDERCARE_RATE_LIMIT: {err}") from None
        try:
            oncall = parse_oncall(os.environ.get("ELDERCARE_ONCALL", ""))
        except ValueError as err:
            raise SettingsError(str(err)) from None
        try:
            checkin = with_checkins(os.environ.get("ELDERCARE_CHECKIN", ""))
        except ValueError as err:
            raise SettingsError(f"ELDERCARE_CHECKIN: {err}") from None
        settings = cls(
            env=env,
            broker_url=broker or os.environ.get("ELDERCARE_BROKER") or None,
            db_url=db or os.environ.get("ELDERCARE_DB") or None,
            data_dir=Path(os.environ.get("ELDERCARE_DATA", "var")),
            client_id=os.environ.get("ELDERCARE_CLIENT_ID", "eldercare-ingest"),
            rate_limit=budget,
            oncall=oncall,
            public_url=os.environ.get("ELDERCARE_PUBLIC_URL") or None,
            checkin=checkin,
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.env not in ("development", "production"):
            raise SettingsError(f"ELDERCARE_ENV must be development or production, not {self.env!r}")
        if self.broker_url is not None:
            try:
                address = BrokerAddress.parse(self.broker_url)
            except ValueError as err:
                raise SettingsError(str(err)) from None
        if self.public_url is not None:
            url = urlsplit(self.public_url)
            if url.scheme not in ("http", "https") or not url.hostname or url.query \
                    or url.fragment:
                raise SettingsError("ELDERCARE_PUBLIC_URL must be the console's address,"
                                    f" https://host[:port][/path], not {self.public_url!r}")
            if self.production and url.scheme != "https":
                raise SettingsError("production refuses an ELDERCARE_PUBLIC_URL without https:"
                                    " its links take on-call pages")
        if not self.production:
            return
        if self.db_url is None or self.broker_url is None:
            raise SettingsError("production needs ELDERCARE_DB and ELDERCARE_BROKER:"
                                " the embedded database and broker are for development only")
        if address.username is None or address.password in (None, "", "changeme", "password"):
            raise SettingsError("production refuses a broker connection without a real password")
