"""``eldercare gateway``: the home gateway process, local broker -> spool -> uplink broker.

    eldercare gateway --local mqtt://127.0.0.1:1883 --uplink mqtts://gw-0001:PASS@platform:8883 \\
        --config /etc/eldercare/gateway.toml --spool /var/lib/eldercare/spool

Three threads meet here: the local broker's (native messages in), the uplink broker's (PUBACKs
and commands in) and the main loop (pumping the spool upstream, the gateway's own check-ins).
They share one lock around translation and the spool, so sequence numbers and device state stay
consistent whichever thread produced a message. The gateway speaks for itself under its own device
id: ``status`` (``offline`` as its MQTT last will, ``online`` after connecting, both retained;
``online`` lists the devices of its site it speaks for) and a ``checkin`` every
``checkin_interval_s``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import msgspec

from gateway.commands import CommandAck, parse_command_topic, plan
from gateway.config import Binding, ConfigError, GatewayConfig
from gateway.draft import Draft, Outcome, Problem
from gateway.local import Local
from gateway.spool import Spool, Spooled, SpoolError
from gateway.translate import Translation, Translator
from gateway.uplink import Uplink, Will
from ingest.broker import BrokerAddress
from ingest.contract import ROOT, Checkin, Command, Kind, Status

log = logging.getLogger(__name__)

FIRMWARE = "eldercare-gateway/1"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Gateway:
    """Translation and the spool behind one lock; no network code (see :func:`run`)."""

    def __init__(self, config: GatewayConfig, spool: Spool, *,
                 clock: Callable[[], int] = _now_ms) -> None:
        self.config = config
        self.spool = spool
        self.translator = Translator(config, spool.states())
        self.wake = threading.Event()
        self._clock = clock
        self._lock = threading.Lock()

    def on_native(self, topic: str, payload: bytes) -> None:
        now = self._clock()
        with self._lock:
            try:
                translation = self.translator.translate(topic, payload, received_ms=now)
            except Exception as err:  # a bug must not leave the message unacknowledged forever
                log.exception("translating %s failed", topic)
                outcome = Outcome(problems=(Problem(reason=f"gateway error: {err!r}"),))
                translation = self.translator.number(self.translator.own, outcome, topic=topic,
                                                     raw=payload, now_ms=now)
            self._store(translation)

    def compose(self, binding: Binding, drafts: list[Draft]) -> Translation:
        with self._lock:
            translation = self.translator.draft(binding, drafts, now_ms=self._clock())
            self._store(translation)
            return translation

    def will(self) -> Will:
        """The gateway's ``offline`` status with a fresh sequence number, committed but not
        spooled: the broker publishes it for us when we vanish."""
        own = self.translator.own
        with self._lock:
            translation = self.translator.draft(own, [_status("offline", self._clock())],
                                                now_ms=self._clock())
            self.spool.commit([], translation.states)
            self.translator.adopt(translation.states)
        (message,) = translation.messages
        return Will(topic=message.topic, payload=message.payload)

    def online(self) -> None:
        """Said after each connect, retained: with the devices of its own site it speaks for,
        so the platform knows whose devices its line cuts off (``devices.via``) without anyone
        running ``eldercare devices wire``."""
        site = self.config.gateway.site
        bridged = sorted({b.device for b in self.config.devices if b.site == site})
        self.compose(self.translator.own, [_status("online", self._clock(), devices=bridged)])

    def checkin(self) -> None:
        self.compose(self.translator.own, [Draft(kind=Kind.CHECKIN, body_type=Checkin,
                                                 fields={"ts": self._clock(), "fw": FIRMWARE})])

    def on_command(self, topic: str, payload: bytes, send: Callable[[str, bytes], bool]) -> None:
        """Run one command from the platform; ``send`` publishes on the home's broker."""
        address = parse_command_topic(topic)
        if address is None:
            return
        now = self._clock()
        binding = self.translator.binding_for(*address)
        try:
            command = msgspec.json.decode(payload, type=Command)
        # msgspec raises the last two itself for bad UTF-8 in a string and for deep nesting.
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError,
                RecursionError) as err:
            with self._lock:
                outcome = Outcome(problems=(Problem(reason=f"not a command: {err}"),))
                self._store(self.translator.number(binding or self.translator.own, outcome,
                                                   topic=topic, raw=payload, now_ms=now))
            return
        if binding is None:
            self._ack(self.translator.own, command, "unknown_device", device=address[1])
            return
        step = plan(binding, command, now_ms=now,
                    ttl_ms=int(self.config.gateway.command_ttl_s * 1000))
        if isinstance(step, str):
            self._ack(binding, command, step)
            return
        self._ack(binding, command, "sent" if send(step.topic, step.payload) else "failed")

    def _ack(self, binding: Binding, command: Command, status: str, device: str | None = None) -> None:
        fields = {"ts": self._clock(), "id": command.id, "command": command.command,
                  "status": status} | ({"device": device} if device else {})
        self.compose(binding, [Draft(kind="ack", body_type=CommandAck, fields=fields)])

    def _store(self, translation: Translation) -> None:
        if not translation.messages and not translation.states:
            return
        self.spool.commit([Spooled(topic=m.topic, payload=m.payload, retain=m.retain,
                                   droppable=m.droppable) for m in translation.messages],
                          translation.states)
        self.translator.adopt(translation.states)
        self.wake.set()


def _status(state: str, ts: int, *, devices: list[str] | None = None) -> Draft:
    listed: dict[str, object] = {} if devices is None else {"devices": devices}
    return Draft(kind=Kind.STATUS, body_type=Status, retain=True,
                 fields={"ts": ts, "state": state, **listed})


def run(gateway: Gateway, *, local: BrokerAddress, uplink: BrokerAddress, stop: threading.Event,
        cafile: str | None = None) -> None:
    cfg = gateway.config.gateway
    home = Local(local, client_id=f"eldercare-gw-{cfg.site}-{cfg.device}-local",
                 on_message=gateway.on_native, cafile=cafile)
    sites = sorted({cfg.site, *(b.site for b in gateway.config.devices)})
    up = Uplink(uplink, client_id=f"eldercare-gw-{cfg.site}-{cfg.device}", spool=gateway.spool,
                will=gateway.will, commands=[f"{ROOT}/{site}/+/cmd" for site in sites],
                on_command=lambda t, p: gateway.on_command(t, p, home.publish),
                on_connected=gateway.online, wake=gateway.wake, cafile=cafile)
    up.start()
    home.start()
    next_checkin = time.monotonic()
    try:
        while not stop.is_set():
            if time.monotonic() >= next_checkin:
                gateway.checkin()
                next_checkin = time.monotonic() + cfg.checkin_interval_s
            gateway.wake.clear()
            if up.pump() == 0:
                gateway.wake.wait(min(1.0, max(0.0, next_checkin - time.monotonic())))
    finally:
        home.stop()
        up.stop()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eldercare gateway", description=__doc__.split("\n")[0])
    p.add_argument("--local", required=True, help="the home's broker, mqtt://host[:port]")
    p.add_argument("--uplink", required=True, help="the platform's broker, mqtt(s)://user:pass@host")
    p.add_argument("--config", required=True, type=Path, help="gateway TOML (docs/gateway.md)")
    p.add_argument("--spool", required=True, type=Path, help="folder for the disk-backed queue")
    p.add_argument("--max-spooled", type=int, default=500_000,
                   help="spool bound; beyond it the oldest non-alarm messages are dropped")
    p.add_argument("--cafile", help="CA certificate for mqtts:// brokers with a private CA")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = GatewayConfig.load(args.config)
        local, uplink = BrokerAddress.parse(args.local), BrokerAddress.parse(args.uplink)
        spool = Spool(args.spool / "spool.sqlite3", max_messages=args.max_spooled)
    except (ConfigError, SpoolError, ValueError) as err:
        print(f"eldercare gateway: {err}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        run(Gateway(config, spool), local=local, uplink=uplink, stop=stop, cafile=args.cafile)
    except SpoolError as err:
        print(f"eldercare gateway: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        spool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
