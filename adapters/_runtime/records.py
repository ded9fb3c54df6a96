"""Reading a command's record (`contracts.records`) back into its model.

The birth event's models check some rules against "now" (a birth is not in the
future nor more than a year ago). The gateway checked them when the birth was
posted; an adapter runs later, sometimes much later (a department down for
days, an operator's retry weeks on), and must not refuse the same data against
its own clock: the clock rules are switched off, every other rule holds.
"""

from typing import Any, TypeVar

from pydantic import BaseModel

R = TypeVar("R", bound=BaseModel)


def load_record(model: type[R], data: dict[str, Any]) -> R:
    """`data` (a command's `record`, JSON) as `model`, without the posting-time clock rules."""
    return model.model_validate(data, context={"time_rules": False})
