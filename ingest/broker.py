"""Broker addresses: ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` for TLS.

>>> BrokerAddress.parse("mqtt://ingest:s3cret@broker.local")
BrokerAddress(host='broker.local', port=1883, username='ingest', password='***', tls=False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    def __repr__(self) -> str:  # never print a password into a log
        secret = None if self.password is None else "***"
        return (f"BrokerAddress(host={self.host!r}, port={self.port}, username={self.username!r},"
                f" password={secret!r}, tls={self.tls})")

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )
