"""How long after a line is cut the platform knows, measured on a real mosquitto.

A device's "offline" is its MQTT last will, which the broker publishes only when it gives up on
the connection: at 1.5 x the keep-alive the device asked for, counted from the last packet it
heard (MQTT 3.1.1, section 3.1.2.10). A cut line sends no FIN, so nothing is faster. Device
health then waits ``offline_delay`` (2 min) before it says "offline", so that a care home's
devices, whose wills come over a minute or so, are seen as one outage (``site_silent``), and an
elder at home behind a gateway gets a welfare check (``devices.via``). The design rests on two
figures nobody had measured on a broker: how long the wills take, and how far apart a site's
wills come. This measures both.

A child process holds one paho connection per device: ``--devices`` wall buttons of a care home,
each on its own connection, and one home gateway (keep-alive 30 s, as ``gateway/uplink.py``
asks), behind which an elder's button speaks. Each sets its retained last will (``status:
offline``, as docs/device-api.md has devices do), says "online", and then reports every
``--every`` seconds. The child is then frozen with SIGSTOP: its sockets stay open and silent,
as a cut line leaves them (a killed process would close them, and the broker would publish the
wills at once). A subscriber notes when each will arrives. The arrivals are then given to
:class:`detection.device_health.DeviceHealthDetector`, with a clock every second, to show when
the platform's findings would come.

    PYTHONPATH=. .venv/bin/python bench/offline_delay.py [--devices 20] [--keepalive 60]
        [--every 10] [--runs 3] [--cut freeze|link]

``--cut link`` (root, iproute2) cuts a real link instead: the child runs in a network
namespace of its own, joined to the broker's by a veth pair, and the line is cut by setting
the child's end down. The broker's packets to it are then dropped by the kernel, silently, as
a cut line beyond a home's router drops them (``tc netem`` would be closer still, but this
machine's kernel has no netem).

Needs mosquitto (apt-get install mosquitto). Each run takes about 1.5 x the keep-alive plus the
two-minute delay, replayed without waiting.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from detection.device_health import OFFLINE_DELAY_S, Clock, DeviceEvent, DeviceHealthDetector
from eldercare.servers import free_port, start_mosquitto, temporary_folder
from ingest.broker import BrokerAddress
from ingest.codec import encode
from ingest.contract import Checkin, Status, topic
from ingest.contract import Kind as MessageKind

CARE_HOME = "care-bench"
HOME = "home-bench"
GATEWAY = "gw-bench"
GATEWAY_KEEPALIVE = 30
"""What the home gateway's uplink asks (gateway/uplink.py)."""


def _child(url: str, devices: int, keepalive: int, every: float) -> None:
    """Hold the connections and report, until frozen (then killed)."""
    address = BrokerAddress.parse(url)
    clients = []
    seq = int(time.time() * 1000) << 20
    names = [(CARE_HOME, f"wall-{i:02d}", keepalive) for i in range(devices)]
    names.append((HOME, GATEWAY, GATEWAY_KEEPALIVE))
    for site, device, alive in names:
        seq += 1
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=device, clean_session=True)
        client.will_set(topic(site, device, MessageKind.STATUS),
                        encode(Status(seq=seq, ts=int(time.time() * 1000), state="offline")),
                        qos=1, retain=True)
        client.connect(address.host, address.port, alive)
        client.loop_start()
        seq += 1
        client.publish(topic(site, device, MessageKind.STATUS),
                       encode(Status(seq=seq, ts=int(time.time() * 1000), state="online")),
                       qos=1, retain=True)
        clients.append((site, device, client))
    print("ready", flush=True)
    # each reports on its own schedule, as devices do (not all in the same second)
    due = {device: time.monotonic() + random.uniform(0, every) for _, device, _ in clients}
    while True:
        now = time.monotonic()
        for site, device, client in clients:
            if now >= due[device]:
                seq += 1
                client.publish(topic(site, device, MessageKind.CHECKIN),
                               encode(Checkin(seq=seq, ts=int(time.time() * 1000))), qos=1)
                due[device] = now + every
        time.sleep(0.05)


@dataclass(slots=True)
class Run:
    stopped: float = 0.0
    wills: dict[str, float] = field(default_factory=dict)
    """device -> when its will arrived (epoch s)."""
    reports: dict[str, float] = field(default_factory=dict)
    """device -> when its last report arrived before the stop."""


HOST_IP, NS_IP = "10.231.7.1", "10.231.7.2"


@dataclass(frozen=True, slots=True)
class Link:
    """A network namespace for the devices, joined to the host by a veth pair."""

    netns: str
    host_dev: str
    ns_dev: str

    @classmethod
    def make(cls) -> Link:
        n = os.getpid() % 100000
        link = cls(netns=f"ecoff{n}", host_dev=f"ecoh{n}", ns_dev=f"ecod{n}")
        for cmd in (f"ip netns add {link.netns}",
                    f"ip link add {link.host_dev} type veth peer name {link.ns_dev}",
                    f"ip link set {link.ns_dev} netns {link.netns}",
                    f"ip addr add {HOST_IP}/30 dev {link.host_dev}",
                    f"ip link set {link.host_dev} up",
                    f"ip netns exec {link.netns} ip addr add {NS_IP}/30 dev {link.ns_dev}",
                    f"ip netns exec {link.netns} ip link set {link.ns_dev} up",
                    f"ip netns exec {link.netns} ip link set lo up"):
            subprocess.run(cmd.split(), check=True)
        return link

    def cut(self, up: bool = False) -> None:
        """Set the devices' end down (the line cut), or up again."""
        state = "up" if up else "down"
        subprocess.run(f"ip netns exec {self.netns} ip link set {self.ns_dev} {state}".split(),
                       check=True)

    def remove(self) -> None:
        subprocess.run(f"ip link del {self.host_dev}".split(), check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(f"ip netns del {self.netns}".split(), check=False)


def _measure(url: str, devices: int, keepalive: int, every: float,
             link: Link | None = None, device_url: str | None = None) -> Run:
    """One cut: the child frozen (``link`` None) or its link set down (the child connecting
    from the link's namespace to ``device_url``)."""
    run = Run()
    lock = threading.Lock()
    address = BrokerAddress.parse(url)

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        now = time.time()
        device = msg.topic.split("/")[3]
        with lock:
            if msg.topic.endswith("/status") and b'"offline"' in msg.payload and run.stopped:
                run.wills.setdefault(device, now)
            elif not run.stopped:
                run.reports[device] = now

    listener = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}")
    listener.on_message = on_message
    listener.connect(address.host, address.port, 60)
    listener.subscribe("eldercare/v1/#", qos=1)
    listener.loop_start()
    command = [sys.executable, __file__, "--child", device_url or url, str(devices),
               str(keepalive), str(every)]
    if link is not None:
        command = ["ip", "netns", "exec", link.netns, *command]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the device process did not start")
        # every device has reported, or pinged (paho pings after a keep-alive without a packet)
        time.sleep(random.uniform(2, 3) * min(every, keepalive))
        with lock:
            run.stopped = time.time()
        if link is None:
            os.kill(child.pid, signal.SIGSTOP)  # the line is cut: sockets open, nothing sent
        else:
            link.cut()  # the line is cut: nothing gets through either way
        deadline = run.stopped + 1.5 * max(keepalive, GATEWAY_KEEPALIVE) + 30
        while time.time() < deadline and len(run.wills) < devices + 1:
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)  # the wills are out; the sockets may close now
        child.wait()
        listener.loop_stop()
        listener.disconnect()
    return run


def _replay(run: Run, devices: int) -> dict[str, list[float]]:
    """What device health finds, and when (seconds after the stop), from the wills as they
    came: the care home's wall buttons on their own connections, and an elder's button
    behind the home gateway."""
    health = DeviceHealthDetector()
    start = run.stopped - 60
    first: list[DeviceEvent | Clock] = [
        DeviceEvent(timestamp=start, device=f"wall-{i:02d}", subject=f"r{i}",
                    device_class="wall_button", site=CARE_HOME) for i in range(devices)]
    first += [DeviceEvent(timestamp=start, device=GATEWAY, subject=f"device:{GATEWAY}",
                          device_class="hub", site=HOME, elder=False),
              DeviceEvent(timestamp=start, device="btn-home", subject="r-home",
                          device_class="button", site=HOME, via=GATEWAY)]
    health.update(first)
    health.update([DeviceEvent(timestamp=at, device=d, subject=f"r{d[-2:]}" if d != GATEWAY
                               else f"device:{GATEWAY}",
                               device_class="hub" if d == GATEWAY else "wall_button",
                               site=HOME if d == GATEWAY else CARE_HOME, elder=d != GATEWAY)
                   for d, at in sorted(run.reports.items(), key=lambda kv: kv[1])
                   if d.startswith("wall-") or d == GATEWAY])
    wills = sorted((at, d) for d, at in run.wills.items())
    found: dict[str, list[float]] = {}
    t = run.stopped
    end = run.stopped + (wills[-1][0] - run.stopped if wills else 0) + OFFLINE_DELAY_S + 60
    while t <= end:
        batch: list[DeviceEvent | Clock] = []
        while wills and wills[0][0] <= t:
            at, d = wills.pop(0)
            batch.append(DeviceEvent(
                timestamp=at, device=d, status="offline",
                subject=f"device:{GATEWAY}" if d == GATEWAY else f"r{d[-2:]}",
                device_class="hub" if d == GATEWAY else "wall_button",
                site=HOME if d == GATEWAY else CARE_HOME, elder=d != GATEWAY))
        batch.append(Clock(timestamp=t))
        for f in health.update(batch):
            key = f"{f.kind} ({'home' if f.subject in ('r-home', f'device:{GATEWAY}') else 'care home'})"
            found.setdefault(key, []).append(t - run.stopped)
        t += 1.0
    return found


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=20, help="a care home's wall buttons")
    parser.add_argument("--keepalive", type=int, default=60, help="theirs, in seconds")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between reports")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cut", choices=("freeze", "link"), default="freeze",
                        help="freeze the device process, or set its network link down")
    args = parser.parse_args()
    with temporary_folder("eldercare-offline-") as folder:
        device_port = free_port()
        extra = f"listener {device_port} {HOST_IP}\n" if args.cut == "link" else ""
        link = Link.make() if args.cut == "link" else None
        broker = None
        try:
            broker = start_mosquitto(folder / "mq", port=free_port(), extra=extra)
            for n in range(1, args.runs + 1):
                if link is not None:
                    link.cut(up=True)  # the last run's cut mended
                run = _measure(broker.url, args.devices, args.keepalive, args.every, link,
                               f"mqtt://{HOST_IP}:{device_port}" if link else None)
                care = sorted(at - run.stopped for d, at in run.wills.items() if d != GATEWAY)
                gateway = run.wills.get(GATEWAY)
                print(f"run {n}: line cut; {len(care)} of {args.devices} care-home wills"
                      f" (keep-alive {args.keepalive} s, a report every {args.every:g} s)"
                      + (f" {care[0]:.1f}-{care[-1]:.1f} s after it, median"
                         f" {statistics.median(care):.1f} s, spread {care[-1] - care[0]:.1f} s"
                         if care else "")
                      + (f"; the home gateway's (keep-alive {GATEWAY_KEEPALIVE} s)"
                         f" {gateway - run.stopped:.1f} s after it" if gateway else
                         "; no will from the home gateway"))
                for kind, times in sorted(_replay(run, args.devices).items()):
                    print(f"    {kind:32s} {len(times):3d}, the first {times[0] / 60:.2f} min"
                          f" after the cut")
        finally:
            if broker is not None:
                broker.stop()
            if link is not None:
                link.remove()


if __name__ == "__main__":
    main()
