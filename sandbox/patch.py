"""JSON merge patch (RFC 7396): how amendments change a record's data."""

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` changed by ``patch``: objects merge, ``null`` removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged
