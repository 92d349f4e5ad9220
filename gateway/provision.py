"""``eldercare devices provision``: per-device broker credentials and ACLs; ``eldercare devices
wire``: which devices speak through which home gateway.

    eldercare devices provision --out /etc/mosquitto/eldercare --devices devices.csv
    eldercare devices provision --out /etc/mosquitto/eldercare --db postgresql://...
    eldercare devices wire --db postgresql://... gateway.toml [more gateway.toml ...]

``wire`` reads each home gateway's own configuration (its ``[[devices]]``, as the installer set
them up) and records in the registry that those devices reach the platform through it
(``devices.via``, migration 0034): when the gateway's line is cut, an elder whose emergency
devices all go through it gets a welfare check within minutes (docs/detectors.md). Devices the
registry had through the gateway and its configuration no longer lists go back to "by
themselves". One transaction per gateway; a device the registry does not know, or a gateway
not registered as a gateway at its site, is said and nothing of that gateway is changed.

Reads the registered devices (``id,site_id,kind`` from a CSV, or the ``devices`` table) and writes
into ``--out``:

``passwd``        mosquitto ``password_file`` (hashed, see :mod:`gateway.credentials`)
``acl``           mosquitto ``acl_file``
``devices.csv``   ``device_id,site_id,username,password`` for installers, mode 0600
``platform.csv``  the ``ingest`` account's username and password, mode 0600

Running it again keeps the passwords of devices already in ``devices.csv`` (installed devices keep
working) and creates them for new ones; retired devices disappear. ``--rotate`` renews them all.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> _ = (out / "in.csv").write_text("id,site_id,kind\\nbtn-1,home-1,button\\n")
>>> main(["provision", "--out", str(out), "--devices", str(out / "in.csv")])
0
>>> sorted(p.name for p in out.iterdir())
['acl', 'devices.csv', 'in.csv', 'passwd', 'platform.csv']
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.credentials import Account, Role, acl_file, new_password, passwd_file
from ingest.contract import ID_PATTERN

INGEST_USER = "ingest"


@dataclass(frozen=True, slots=True, kw_only=True)
class Registered:
    id: str
    site: str
    kind: str


class ProvisionError(RuntimeError):
    pass


def read_csv(path: Path) -> list[Registered]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise ProvisionError(f"{path}: {err.strerror}") from None
    try:
        return _checked(Registered(id=r["id"].strip(), site=r["site_id"].strip(),
                                   kind=r["kind"].strip()) for r in rows)
    except (KeyError, AttributeError):
        raise ProvisionError(f"{path}: expected the columns id,site_id,kind") from None


def read_db(url: str) -> list[Registered]:
    import psycopg  # only this path needs a database driver

    try:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT id, site_id, kind FROM devices WHERE retired_at IS NULL ORDER BY id").fetchall()
    except psycopg.Error as err:
        raise ProvisionError(f"reading devices: {err}") from None
    return _checked(Registered(id=str(r[0]), site=str(r[1]), kind=str(r[2])) for r in rows)


def _checked(devices: Iterable[Registered]) -> list[Registered]:
    out = list(devices)
    for d in out:
        if not (ID_PATTERN.fullmatch(d.id) and ID_PATTERN.fullmatch(d.site)):
            raise ProvisionError(f"device {d.id!r} of site {d.site!r}: ids must be 1-64 of "
                                 "[A-Za-z0-9_.-] (they are MQTT topic levels)")
        if d.id == INGEST_USER:
            raise ProvisionError(f"a device may not be called {INGEST_USER!r}")
    ids = [d.id for d in out]
    if len(set(ids)) != len(ids):
        raise ProvisionError("device ids must be unique: they are the broker usernames")
    return out


def _existing(path: Path, column: str = "device_id") -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {r[column]: r["password"] for r in csv.DictReader(f)}


def accounts(devices: list[Registered], *, known: dict[str, str]) -> list[Account]:
    out = [Account(username=INGEST_USER, password=known.get(INGEST_USER) or new_password(),
                   role=Role.INGEST)]
    for d in devices:
        role = Role.GATEWAY if d.kind == "gateway" else Role.DEVICE
        out.append(Account(username=d.id, password=known.get(d.id) or new_password(), role=role,
                           site=d.site, device=d.id))
    return out


def _write(path: Path, text: str, mode: int) -> None:
    """Write via a new file renamed into place, created with its final mode (never readable by
    others, not even for a moment)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _csv(header: list[str], rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def provision(devices: list[Registered], out: Path, *, rotate: bool = False) -> list[Account]:
    out.mkdir(parents=True, exist_ok=True)
    known = {} if rotate else {**_existing(out / "devices.csv"),
                               **_existing(out / "platform.csv", "username")}
    made = accounts(devices, known=known)
    _write(out / "passwd", passwd_file(made), 0o600)
    _write(out / "acl", acl_file(made), 0o600)
    sites = {d.id: d.site for d in devices}
    _write(out / "devices.csv", _csv(["device_id", "site_id", "username", "password"],
                                     ([a.device, sites[a.device], a.username, a.password]
                                      for a in made if a.role is not Role.INGEST)), 0o600)
    _write(out / "platform.csv", _csv(["username", "password"],
                                      ([a.username, a.password] for a in made
                                       if a.role is Role.INGEST)), 0o600)
    return made


@dataclass(frozen=True, slots=True, kw_only=True)
class Wired:
    gateway: str
    through: int
    """Devices its configuration lists, now through it."""
    changed: int
    """Of those, the ones that were not before."""
    released: int
    """Devices through it before that its configuration no longer lists."""


def wire(url: str, configs: Iterable[Path]) -> list[Wired]:
    """Record each gateway's devices as going through it (``devices.via``); see the module's
    docstring."""
    import psycopg  # only this path needs a database driver

    from gateway.config import ConfigError, GatewayConfig
    from store import registry

    done = []
    for path in configs:
        try:
            config = GatewayConfig.load(path)
        except ConfigError as err:
            raise ProvisionError(str(err)) from None
        gateway = config.gateway.device
        listed = sorted({b.device for b in config.devices})
        try:
            with psycopg.connect(url) as conn, conn.transaction():
                known = {str(r[0]): str(r[1]) for r in conn.execute(
                    "SELECT id, coalesce(via, '') FROM devices WHERE id = ANY(%s)"
                    " AND retired_at IS NULL", (listed,)).fetchall()}
                unknown = [d for d in listed if d not in known]
                if unknown:
                    raise ProvisionError(f"{path}: not registered: {', '.join(unknown)}")
                wiring = {"gateway": gateway, "listed": listed}
                conn.execute(registry.WIRE, wiring)
                released = conn.execute(registry.RELEASE, wiring).rowcount
        except psycopg.Error as err:
            raise ProvisionError(f"{path}: {getattr(err.diag, 'message_primary', None) or err}"
                                 ) from None
        done.append(Wired(gateway=gateway, through=len(listed),
                          changed=sum(1 for d in listed if known[d] != gateway),
                          released=max(released, 0)))
    return done


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eldercare devices")
    sub = p.add_subparsers(dest="command", required=True)
    prov = sub.add_parser("provision", help="write broker credentials and ACLs for every device")
    prov.add_argument("--out", required=True, type=Path, help="folder for passwd, acl, devices.csv")
    source = prov.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", help="PostgreSQL URL: read the devices table")
    source.add_argument("--devices", type=Path, help="CSV with columns id,site_id,kind")
    prov.add_argument("--rotate", action="store_true", help="new passwords for every account")
    wiring = sub.add_parser("wire", help="record which devices speak through each home gateway")
    wiring.add_argument("--db", required=True, help="PostgreSQL URL")
    wiring.add_argument("configs", nargs="+", type=Path, help="the gateways' gateway.toml files")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "wire":
        try:
            for w in wire(args.db, args.configs):
                print(f"{w.gateway}: {w.through} devices through it ({w.changed} newly),"
                      f" {w.released} no longer", file=sys.stderr)
        except ProvisionError as err:
            print(f"eldercare devices: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        devices = read_db(args.db) if args.db else read_csv(args.devices)
        made = provision(devices, args.out, rotate=args.rotate)
    except (ProvisionError, OSError) as err:
        print(f"eldercare devices: {err}", file=sys.stderr)
        return 2
    print(f"{len(made) - 1} devices and the ingest account written to {args.out}", file=sys.stderr)
    return 0
