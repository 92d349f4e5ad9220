"""An embedded MQTT 3.1.1 broker (amqtt) for laptops and the demo, when no broker is configured.

It runs inside the calling process's event loop, on loopback only, with anonymous access: it is a
development convenience, never a production broker (mosquitto is; see docs/operations.md).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(self, port: int) -> None:
        self.port = port
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # amqtt's plugin loading warns about deprecations
            from amqtt.broker import Broker

            config = {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                            {"allow_anonymous": True}},
            }
            self._broker = Broker(config)
            await self._broker.start()
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        log.info("embedded MQTT broker on %s", self.url)
        return self.url

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
