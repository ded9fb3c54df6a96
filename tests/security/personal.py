"""What counts as personal in a posted birth, and how to look for it in bytes."""

import json
from typing import Any

PERSONAL_KEYS = {"name", "id_number", "phone", "hukou_address", "detail", "recipient"}


def personal_values(event: dict[str, Any]) -> set[str]:
    """Every name, ID number, phone and address of a birth event (not the hospital's)."""
    found: set[str] = set()

    def walk(value: Any, key: str | None, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k, (*path, k))
        elif isinstance(value, list):
            for item in value:
                walk(item, key, path)
        elif isinstance(value, str) and key in PERSONAL_KEYS and path[0] != "hospital":
            found.add(value)

    walk(event, None, ())
    return found


def spellings(value: str) -> list[bytes]:
    """The ways a value can sit in a file: UTF-8, and JSON's \\u escapes."""
    return list({value.encode(), json.dumps(value)[1:-1].encode()})


def found_in(blob: bytes, values: set[str]) -> set[str]:
    return {v for v in values if any(s in blob for s in spellings(v))}
