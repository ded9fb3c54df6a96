"""The composition root's entry points: build adapters, run the workers."""

import json

import httpx
import pytest

from adapters._runtime.settings import AdapterSettings
from adapters.birth_certificate.handler import BirthCertificateAdapter
from adapters.household_registration.handler import HouseholdRegistrationAdapter
from adapters.medical_insurance.handler import MedicalInsuranceAdapter
from adapters.registry import AdapterRuntime, build_adapter, department_http_client, run_adapters
from adapters.social_security_card.handler import SocialSecurityCardAdapter
from adapters.vaccination_record.handler import VaccinationAdapter
from contracts.catalogue import BUILTIN_DEPARTMENTS as DEPARTMENTS
from contracts.catalogue import builtin_registry
from contracts.commands import SubmitStep
from contracts.envelope import Envelope
from tests.unit.adapters import samples
from tests.unit.adapters.test_worker import FakeTransport


@pytest.mark.parametrize(
    ("department", "kind"),
    [
        ("nhc", BirthCertificateAdapter),
        ("cdc", VaccinationAdapter),
        ("mps", HouseholdRegistrationAdapter),
        ("nhsa", MedicalInsuranceAdapter),
        ("hrss", SocialSecurityCardAdapter),
    ],
)
async def test_builds_each_departments_adapter(department: str, kind: type) -> None:
    async with httpx.AsyncClient() as http:
        assert isinstance(build_adapter(department, http, AdapterSettings()), kind)


async def test_an_unknown_department_has_no_adapter() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="x-ray"):
            build_adapter("x-ray", http, AdapterSettings())


async def test_a_department_client_has_its_base_url_and_timeout() -> None:
    settings = AdapterSettings(departments_url="http://gov.test/api", http_timeout_s=4)
    async with department_http_client("mps", settings) as http:
        assert str(http.base_url) == "http://gov.test/api/mps/"
        assert http.timeout == httpx.Timeout(4)


async def test_the_runtime_serves_every_department_queue_and_calls_its_base_url() -> None:
    seen: list[httpx.Request] = []

    def departments(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"zmbh": "A123456789"})

    transport = FakeTransport()
    settings = AdapterSettings(departments_url="http://gov.test/api", prefetch=3)
    async with AdapterRuntime(
        DEPARTMENTS, transport, settings, http_transport=httpx.MockTransport(departments)
    ) as runtime:
        assert transport.prefetch == {f"birthlink.{d}": 3 for d in DEPARTMENTS}
        assert [w.department for w in runtime.workers] == list(DEPARTMENTS)
        command = Envelope(
            message_id="m1",
            type=builtin_registry()["birth_certificate"].command,
            birth_id="b1",
            step="birth_certificate",
            data=SubmitStep(
                idempotency_key="b1:birth_certificate",
                record=samples.certificate_record().model_dump(mode="json"),
            ).model_dump(),
        )
        await transport.deliver("birthlink.nhc", command)
    (request,) = seen
    assert str(request.url) == "http://gov.test/api/nhc/csyxzm"
    assert json.loads(request.content)["jgdm"] == "H3301060001"
    ((_, routing_key, _),) = transport.published
    assert routing_key == "nhc.completed"
    assert runtime.workers == []


async def test_run_adapters_starts_the_named_departments_once_each() -> None:
    transport = FakeTransport()
    runtime = await run_adapters(["mps", "hrss", "mps"], transport, AdapterSettings())
    try:
        assert sorted(transport.handlers) == ["birthlink.hrss", "birthlink.mps"]
    finally:
        await runtime.close()
