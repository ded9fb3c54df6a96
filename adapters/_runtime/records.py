"""Reading a command's record (`contracts.records`) back into its model.

The birth event's models check some rules against "now" (a birth is not in the
future nor more than a year ago; a dose is not in the future). The gateway
checked them when the birth was posted; an adapter runs later, sometimes much
later (a department down for days, an operator's retry weeks on), and must not
refuse the same data against its own clock. So the record is validated with
`now` set to its own latest moment, which keeps every other rule in force.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

R = TypeVar("R", bound=BaseModel)


def _moments(value: Any) -> Iterator[datetime]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _moments(item)
    elif isinstance(value, list):
        for item in value:
            yield from _moments(item)
    elif isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return
        if moment.tzinfo is not None:
            yield moment
    elif isinstance(value, datetime) and value.tzinfo is not None:
        yield value


def load_record(model: type[R], data: dict[str, Any]) -> R:
    """`data` (a command's `record`, JSON) as `model`, judged as of its latest moment."""
    latest = max(_moments(data), default=None)
    context = {"now": latest} if latest is not None else None
    return model.model_validate(data, context=context)
