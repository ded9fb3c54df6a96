"""The change between two department bodies as a JSON merge patch (RFC 7396).

Departments amend a record with "the fields that change" (docs/departments.md):
an adapter maps the record the department holds and the corrected one to the
department's format and sends the difference, so that unchanged fields are not
sent again.
"""

from typing import Any


def merge_diff(held: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns `held` into `wanted`: changed members with their
    new value (objects member by member), removed members as `null`."""
    patch: dict[str, Any] = {}
    for name, value in wanted.items():
        old = held.get(name)
        if name in held and old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            inner = merge_diff(old, value)
            if inner:
                patch[name] = inner
        else:
            patch[name] = value
    for name in held:
        if name not in wanted:
            patch[name] = None
    return patch
