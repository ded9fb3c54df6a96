"""Helpers of the sandbox tests: clock, callback receiver, sample department bodies."""

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from sandbox.citizen_id import citizen_id

CST = timezone(timedelta(hours=8))
CHILD_ID = citizen_id("330106", date(2026, 11, 27), 1)
MOTHER_ID = citizen_id("330106", date(1992, 5, 14), 22)
FATHER_ID = citizen_id("330106", date(1990, 3, 7), 31)
PHONE = "13800138000"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Callback:
    """One callback as the receiving server saw it."""

    department: str
    body: bytes
    signature: str
    status_code: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What one test's gateway received on ``POST {url}/v1/callbacks/{department}``."""

    url: str
    received: list[Callback] = field(default_factory=list)
    fail_first: int = 0
    """Answer this many callbacks with 500 before accepting."""

    def accepted(self) -> list[Callback]:
        return [c for c in self.received if c.status_code == 204]


class CallbackServer:
    """A real FastAPI app standing in for the gateway's callback endpoint.

    Served once (uvicorn in a thread); each test gets its own :class:`Receiver`
    under a path prefix of its own, so a late callback of one test never lands
    in another's.
    """

    def __init__(self) -> None:
        self.base_url = ""
        self._receivers: dict[str, Receiver] = {}

    def receiver(self) -> Receiver:
        prefix = uuid.uuid4().hex
        receiver = self._receivers[prefix] = Receiver(url=f"{self.base_url}/{prefix}")
        return receiver

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{prefix}/v1/callbacks/{department}")
        async def callback(prefix: str, department: str, request: Request) -> Response:
            receiver = self._receivers.get(prefix)
            if receiver is None:
                return Response(status_code=404)
            status = 500 if receiver.fail_first > 0 else 204
            receiver.fail_first -= 1
            receiver.received.append(Callback(department, await request.body(),
                                              request.headers.get("X-Birthlink-Signature", ""),
                                              status))
            return Response(status_code=status)

        return app


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """The gateway's check, written independently of ``sandbox.signing``."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``condition`` until it holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def records(client: httpx.AsyncClient, department: str) -> list[dict[str, Any]]:
    response = await client.get(f"/{department}/_sandbox/records")
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.json()["records"]
    return listed


async def set_faults(client: httpx.AsyncClient, department: str, **faults: Any) -> None:
    response = await client.post(f"/{department}/_sandbox/faults", json=faults)
    assert response.status_code == 200, response.text


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def nhc_body() -> dict[str, Any]:
    return {"jgdm": "H3301060001", "jgmc": "杭州市妇产科医院", "xsexm": "张小明", "xb": "1",
            "csrq": "202611270830", "csdd": "330106", "yz": 39, "tz": 3250, "sc": 50.0,
            "tc": 1, "cc": 1, "mqxm": "李华", "mqzjlx": "resident_id", "mqsfzh": MOTHER_ID,
            "mqgj": "CHN", "mqmz": "01", "fqxm": "张伟", "fqzjlx": "resident_id",
            "fqsfzh": FATHER_ID, "fqgj": "CHN", "fqmz": "01"}


def cdc_body(*, name: str = "张小明", record_no: str | None = None) -> bytes:
    record = f"<RecordNo>{record_no}</RecordNo>" if record_no else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ChildRegistration>
  {record}
  <Hospital code="H3301060001"/>
  <Child><Name>{name}</Name><Sex>1</Sex><BirthTime>2026-11-27T08:30:00+08:00</BirthTime>
    <BirthWeight>3250</BirthWeight></Child>
  <Guardian relation="mother"><Name>李华</Name><IdType>resident_id</IdType>
    <IdNumber>{MOTHER_ID}</IdNumber><Phone>{PHONE}</Phone></Guardian>
  <Dose vaccine="HepB" seq="1" lot="HB2026110" date="2026-11-27T09:00:00+08:00"
        site="right deltoid"/>
  <Dose vaccine="BCG" seq="1" lot="BCG2026087" date="2026-11-27T09:10:00+08:00"/>
</ChildRegistration>""".encode()


def mps_body(*, sex: str = "1", region: str = "110101") -> dict[str, Any]:
    return {"csyxzmbh": "A123456789", "xm": "张小明", "xb": sex, "csrq": "20261127",
            "csdd": "330106",
            "sbr": {"xm": "李华", "zjlx": "resident_id", "zjhm": MOTHER_ID, "gx": "mother"},
            "hjdz": {"qh": region, "xz": "东城区东华门街道 1 号"}, "hh": None, "mz": "01"}


def nhsa_body(certno: str = CHILD_ID) -> dict[str, Any]:
    return {"psn_cert_type": "01", "certno": certno, "psn_name": "张小明", "gend": "1",
            "brdy": "2026-11-27", "insutype": "390", "insu_admdvs": "330106"}


def hrss_body(*, mail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"aac002": CHILD_ID, "aac003": "张小明", "aac004": "1",
                            "aac006": "20261127", "cbbh": "33010600000000012345", "lqfs": "1"}
    if mail:
        body["yjdz"] = {"qh": "330106", "xxdz": "文三路 1 号", "sjr": "李华", "lxdh": PHONE}
    else:
        body["lqfs"] = "2"
    return body
