"""JSON Schemas of the wire contract, generated from the msgspec structs in ``ingest.contract``.

The committed copies in ``docs/schemas/`` are what device makers read; a test checks they match.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import msgspec

from ingest.contract import BODY_TYPES, ROOT, Kind


def schema(kind: Kind) -> dict[str, Any]:
    generated: dict[str, Any] = _clean_descriptions(msgspec.json.schema(BODY_TYPES[kind]))
    generated["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    generated["$id"] = f"{ROOT}/{kind}"
    generated["description"] = (
        f"Payload published to {ROOT}/<site>/<device>/{kind}. "
        + ((BODY_TYPES[kind].__doc__ or "").strip().splitlines() or [""])[0])
    return generated


def _clean_descriptions(node: Any) -> Any:
    """Every ``description`` dedented as ``inspect.cleandoc`` does. msgspec takes them from
    the structs' docstrings, and its releases differ in whether they strip the indentation
    (0.22 kept it, 0.23 removes it): the published schemas must not depend on which is installed."""
    if isinstance(node, dict):
        return {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str)
                else _clean_descriptions(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in Kind:
        path = directory / f"{kind}.schema.json"
        path.write_text(json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
