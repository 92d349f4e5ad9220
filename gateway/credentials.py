"""Broker credentials and ACLs for mosquitto: who may say what, where.

Every device has its own user (its device id) and a random password. mosquitto checks passwords
against a ``password_file`` of ``user:$7$<iterations>$<salt>$<hash>`` lines: PBKDF2-HMAC-SHA512
over a 12-byte salt, both base64 (mosquitto 2's ``mosquitto_passwd`` format; the 101 iterations
are its default, and with random 144-bit passwords the iteration count adds nothing against
guessing while every device reconnecting after a broker restart pays for it in CPU).

The ACL confines (mosquitto ``acl_file`` syntax, one ``user`` block each):

* a device: write its own topics, one line per contract kind (so not its own ``cmd``), read its
  own ``cmd``;
* a gateway: write anything of its site ``eldercare/v1/<site>/#``, read its site's commands;
* ingest: read ``eldercare/v1/#`` and write commands ``eldercare/v1/+/+/cmd``.

>>> line = hash_password("secret", salt=bytes(12))
>>> line.startswith("$7$101$AAAAAAAAAAAAAAAA$")
True
>>> print(acl_block(Account(username="btn-1", password="x", role=Role.DEVICE, site="h1",
...                         device="btn-1")).splitlines()[1])
topic write eldercare/v1/h1/btn-1/event
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ingest.contract import ROOT, Kind

ITERATIONS = 101
SALT_BYTES = 12  # mosquitto's SALT_LEN


class Role(StrEnum):
    DEVICE = "device"
    GATEWAY = "gateway"
    INGEST = "ingest"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    username: str
    password: str = field(repr=False)
    role: Role
    site: str = ""
    device: str = ""


def new_password() -> str:
    """18 random bytes: 24 URL-safe characters, easy to type into an installer's app."""
    return secrets.token_urlsafe(18)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode('ascii')}"
            f"${base64.b64encode(digest).decode('ascii')}")


def verify_password(password: str, line_hash: str) -> bool:
    _, seven, iterations, salt, digest = line_hash.split("$")
    if seven != "7":
        return False
    expected = hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return secrets.compare_digest(expected.rsplit("$", 1)[1], digest)


def passwd_file(accounts: Iterable[Account]) -> str:
    return "".join(f"{a.username}:{hash_password(a.password)}\n" for a in accounts)


def acl_block(account: Account) -> str:
    lines = [f"user {account.username}"]
    if account.role is Role.DEVICE:
        own = f"{ROOT}/{account.site}/{account.device}"
        lines += [f"topic write {own}/{kind}" for kind in Kind if kind is not Kind.REJECTED]
        lines.append(f"topic read {own}/cmd")
    elif account.role is Role.GATEWAY:
        lines += [f"topic write {ROOT}/{account.site}/#", f"topic read {ROOT}/{account.site}/+/cmd"]
    else:
        lines += [f"topic read {ROOT}/#", f"topic write {ROOT}/+/+/cmd"]
    return "\n".join(lines) + "\n"


def acl_file(accounts: Iterable[Account]) -> str:
    header = ("# Written by `eldercare devices provision`; regenerate rather than edit.\n"
              "# No anonymous access: no lines before the first `user`.\n\n")
    return header + "\n".join(acl_block(a) for a in accounts)
