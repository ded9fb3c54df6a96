"""The change between two department bodies as a JSON merge patch (RFC 7396).

Departments amend a record with "the fields that change" (docs/departments.md):
an adapter maps the record the department holds and the corrected one to the
department's format and sends the difference, so that unchanged fields are not
sent again.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from adapters._runtime.records import load_record
from contracts.commands import AmendStep

R = TypeVar("R", bound=BaseModel)


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


def amended_fields(
    model: type[R], to_wire: Callable[[R], dict[str, Any]], cmd: AmendStep
) -> dict[str, Any]:
    """The department-format fields an amendment changes: the record the department
    holds and the corrected one, both mapped, as a merge patch (empty: nothing)."""
    held = to_wire(load_record(model, cmd.previous))
    wanted = to_wire(load_record(model, cmd.record))
    return merge_diff(held, wanted)
