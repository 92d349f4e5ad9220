"""Splitting ingest across K worker processes so that each device's state stays with one worker.

Ingest keeps per-device state in memory: the fall detector's filters and pending falls, the
dedupe window, the welfare detectors' baselines and silences. MQTT 5 shared subscriptions on
mosquitto hand messages out round-robin, which would split one wearable's windows across
workers, so ingest does not use them for this. Instead each worker owns the *sites* whose id
hashes to it and subscribes to exactly those sites' topics (``eldercare/v1/<site>/+/<kind>``): a
device publishes only under its own site, so all of a device's messages, and all of a resident's
devices, reach the same worker. This is topic partitioning done with ordinary subscriptions; the
broker does the routing. In production the same property comes from a broker cluster's sticky
shared subscriptions (EMQX ``shared_subscription_strategy = sticky`` or ``hash_clientid``), with
no per-site subscription lists; see docs/performance.md.

With one worker the subscription is the plain wildcard. New sites are picked up by the workers
(platform.py polls the sites table), and a site's devices are provisioned after the site exists.

>>> p = Partition(index=1, count=2)
>>> [p.owns(s) for s in ("home-0001", "home-0002", "home-0003")]
[False, True, True]
>>> p.subscriptions(("event",), ["home-0001", "home-0002"])
[('eldercare/v1/home-0002/+/event', 1)]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.contract import ROOT


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"--workers must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"worker {self.index} of {self.count}: index must be in 0..{self.count - 1}")

    @property
    def whole(self) -> bool:
        return self.count == 1

    @property
    def name(self) -> str:
        """A suffix for this worker's client ids and detector state ("" for a single worker)."""
        return "" if self.whole else f"w{self.index}of{self.count}"

    def owns(self, site_id: str) -> bool:
        # A real hash, stable across processes (``hash()`` is salted per process); crc32 gives
        # runs of equal parity for ids that differ in their last digit.
        digest = hashlib.blake2b(site_id.encode(), digest_size=8).digest()
        return self.whole or int.from_bytes(digest, "big") % self.count == self.index

    def subscriptions(self, kinds: Iterable[str], sites: Iterable[str]) -> list[tuple[str, int]]:
        kinds = list(kinds)
        if self.whole:
            return [(f"{ROOT}/+/+/{kind}", 1) for kind in kinds]
        return [(f"{ROOT}/{site}/+/{kind}", 1) for site in sorted(set(sites)) if self.owns(site)
                for kind in kinds]
