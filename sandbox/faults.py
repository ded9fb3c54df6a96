"""Fault knobs of one department (``POST /{department}/_sandbox/faults``).

Latency, failures (``fail_next``, ``error_rate``), throttling (429 with
``Retry-After``), outages (503 until a time), refusal rules at submission and
at review, and how long later answers take. Faults apply to the department's
own endpoints, never to the ``_sandbox`` controls.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time: the zone of any time given without an offset."""

Scalar = str | int | float | bool | None


class FieldRule(BaseModel):
    """Refuse when a department field (dotted into objects: ``hjdz.qh``) equals a value.

    Lists are searched element by element, so ``Dose.vaccine`` matches when any
    dose has that vaccine. Numbers also match their string form (``"39"``).
    """

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1)
    equals: Scalar
    reason: str = "refused by a sandbox rule"

    def matches(self, data: Any) -> bool:
        """Whether ``data`` (the department body as JSON-like values) meets the rule."""
        return any(_same(value, self.equals) for value in _reach(data, self.field.split(".")))


def first_match(rules: list[FieldRule], data: Any) -> FieldRule | None:
    """The first rule that ``data`` meets, if any."""
    return next((rule for rule in rules if rule.matches(data)), None)


def _reach(data: Any, path: list[str]) -> list[Any]:
    if isinstance(data, list):
        return [found for item in data for found in _reach(item, path)]
    if not path:
        return [data]
    if isinstance(data, dict) and path[0] in data:
        return _reach(data[path[0]], path[1:])
    return []


def _same(value: Any, expected: Scalar) -> bool:
    if value == expected:
        return True
    scalar = (str, int, float)
    return (
        isinstance(value, scalar)
        and isinstance(expected, scalar)
        and not isinstance(value, bool)
        and not isinstance(expected, bool)
        and str(value) == str(expected)
    )


@dataclass(frozen=True)
class Injected:
    """A fault drawn for one request: the status and words to answer with."""

    status_code: int
    code: str
    message: str
    retry_after: int | None = None


class Faults(BaseModel):
    """The knobs; a POST replaces them all, ``{}`` clears them.

    ``outage_until`` without an offset is China Standard Time, like the
    departments' own times. ``later_delay_s`` ``None`` means the sandbox default.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    fail_next: int = Field(default=0, ge=0)
    fail_status: int = Field(default=503, ge=400, le=599)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after: int = Field(default=1, ge=0)
    outage_until: datetime | None = None
    reject: list[FieldRule] = Field(default_factory=list)
    reject_at_review: list[FieldRule] = Field(default_factory=list)
    later_delay_s: float | None = Field(default=None, ge=0)

    @field_validator("outage_until")
    @classmethod
    def _assume_cst(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=CST)
        return value

    def draw(self, now: datetime, rng: random.Random) -> Injected | None:
        """The fault for the request arriving at ``now``, or ``None`` to serve it.

        Consumes one of ``fail_next`` when it fires.
        """
        if self.outage_until is not None and now < self.outage_until:
            return Injected(503, "OUTAGE", "department closed for maintenance")
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._failure()
        if self.throttle_rate > 0 and rng.random() < self.throttle_rate:
            return Injected(429, "THROTTLED", "too many requests", self.retry_after)
        if self.error_rate > 0 and rng.random() < self.error_rate:
            return self._failure()
        return None

    def _failure(self) -> Injected:
        if self.fail_status == 429:
            return Injected(429, "THROTTLED", "too many requests", self.retry_after)
        return Injected(self.fail_status, "FAULT", "department failed to serve the request")
