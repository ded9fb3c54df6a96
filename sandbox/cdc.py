"""Immunisation registry (cdc): child registrations with birth doses, in XML.

``POST /cdc/ImmunizationService/register`` answers a ``RecordNo``;
``/cancel`` and ``/update`` change a record. Bodies are read by
:mod:`sandbox.xmldoc` (no DTDs, no entities); the data kept per record, and
what reject rules address (``Child.Sex``, ``Hospital.code``, ``Dose.vaccine``),
is the document as JSON-like values.
"""

import random
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field, field_validator
from starlette.responses import Response

from sandbox.department import Department
from sandbox.errors import MalformedXmlError
from sandbox.fields import IdType, MobilePhone, Name, SexCode, Text, WireModel
from sandbox.store import JsonObject, SavedResponse
from sandbox.xmldoc import parse, render

XML = "application/xml"
REGISTERED, UPDATED, CANCELLED = "registered", "updated", "cancelled"


class Hospital(WireModel):
    """``<Hospital code="…"/>``."""

    code: Text


class Child(WireModel):
    """``<Child>``: name, sex, birth time with offset, weight in grams."""

    name: Name = Field(alias="Name")
    sex: SexCode = Field(alias="Sex")
    birth_time: datetime = Field(alias="BirthTime")
    birth_weight: int = Field(alias="BirthWeight", ge=300, le=7000)


class Guardian(WireModel):
    """``<Guardian relation="mother|father">``."""

    relation: Literal["mother", "father"]
    name: Name = Field(alias="Name")
    id_type: IdType = Field(alias="IdType")
    id_number: Text = Field(alias="IdNumber")
    phone: MobilePhone | None = Field(default=None, alias="Phone")


class Dose(WireModel):
    """``<Dose vaccine="HepB" seq="1" lot="…" date="…" site="…"/>``, one per birth dose."""

    vaccine: Literal["HepB", "BCG"]
    seq: int = Field(ge=1)
    lot: Text
    date: datetime
    site: Text | None = None


class ChildRegistration(WireModel):
    """``<ChildRegistration>``: the body of ``register``."""

    hospital: Hospital = Field(alias="Hospital")
    child: Child = Field(alias="Child")
    guardians: list[Guardian] = Field(alias="Guardian", min_length=1, max_length=2)
    doses: list[Dose] = Field(default_factory=list, alias="Dose")

    @field_validator("guardians", "doses", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class ChildUpdate(ChildRegistration):
    """``<ChildRegistration>`` with a ``<RecordNo>``: the body of ``update``."""

    record_no: Text = Field(alias="RecordNo")


class Cancellation(WireModel):
    """``<Cancel><RecordNo>…</RecordNo><Reason>…</Reason></Cancel>``."""

    record_no: Text = Field(alias="RecordNo")
    reason: Text = Field(alias="Reason")


def xml_answer(status_code: int, root: str, children: dict[str, str]) -> SavedResponse:
    """An XML answer, serialised once so that replays are byte for byte."""
    return SavedResponse(status_code, render(root, children), XML)


def render_error(status_code: int, code: str, message: str) -> Response:
    """cdc's error shape: ``<Error><Code>…</Code><Message>…</Message></Error>``."""
    return xml_answer(status_code, "Error", {"Code": code, "Message": message}).to_response()


def _record_number(region: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        return f"CDC{region}{rng.randrange(10**10):010d}"

    return make


def _region(hospital_code: str) -> str:
    # Hospital codes embed the region (H3301060001 → 330106); else none known.
    found = re.search(r"[0-9]{6}", hospital_code)
    return found.group() if found else "000000"


def create_router(dept: Department) -> APIRouter:
    """The immunisation registry's endpoints, served by ``dept``."""
    router = APIRouter()

    def read(raw: bytes, root: str) -> JsonObject:
        try:
            return parse(raw, root)
        except MalformedXmlError as exc:
            raise dept.error(400, "MALFORMED_XML", str(exc)) from None

    @router.post("/ImmunizationService/register")
    async def register(request: Request) -> Response:
        key, raw = await dept.receive(request, "register")
        data = read(raw, "ChildRegistration")
        registration = dept.validate(ChildRegistration, data)
        dept.check_rules(key, "register", data)
        record_no = dept.new_ref(_record_number(_region(registration.hospital.code)))
        answer = xml_answer(200, "Result", {"RecordNo": record_no})
        dept.accept(key, "register", data, ref=record_no, state=REGISTERED, answer=answer)
        return answer.to_response()

    @router.post("/ImmunizationService/cancel")
    async def cancel(request: Request) -> Response:
        key, raw = await dept.receive(request, "cancel")
        body = read(raw, "Cancel")
        cancellation = dept.validate(Cancellation, body)
        record = dept.lookup(cancellation.record_no)
        record.state = CANCELLED
        answer = xml_answer(200, "Result", {"RecordNo": cancellation.record_no,
                                            "Status": CANCELLED})
        return dept.change(record, key, "cancel", body, answer)

    @router.post("/ImmunizationService/update")
    async def update(request: Request) -> Response:
        key, raw = await dept.receive(request, "update")
        body = read(raw, "ChildRegistration")
        update = dept.validate(ChildUpdate, body)
        record = dept.lookup(update.record_no)
        if record.state == CANCELLED:
            raise dept.error(400, "CANCELLED", "a cancelled record cannot be updated")
        data = {name: value for name, value in body.items() if name != "RecordNo"}
        dept.check_change_rules(data)
        record.data, record.state = data, UPDATED
        answer = xml_answer(200, "Result", {"RecordNo": update.record_no, "Status": UPDATED})
        return dept.change(record, key, "update", body, answer)

    return router
