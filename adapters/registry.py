"""Wiring adapters to departments and to the bus: what the composition root calls.

- `build_adapter(department, http, settings)`: the `DepartmentAdapter` of one
  department over an `httpx.AsyncClient` whose base URL is that department's.
- `AdapterRuntime(departments, transport, settings)`: one shared HTTP client and
  one `AdapterWorker` per department; `start()` subscribes the workers to their
  queues, `close()` closes the HTTP clients. Also an async context manager.
- `run_adapters(...)`: build and start an `AdapterRuntime` in one call.

The transport belongs to the caller: start it before, and close it (which stops
consuming and lets running handlers finish) before closing the runtime.
"""

from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Self

import httpx
import structlog

from adapters._runtime.breaker import DepartmentGuard, GuardedTransport, Now
from adapters._runtime.http import RetryPolicy
from adapters._runtime.settings import AdapterSettings
from adapters._runtime.worker import AdapterWorker, DepartmentAdapter
from adapters.birth_certificate.client import BirthCertificateClient
from adapters.birth_certificate.handler import BirthCertificateAdapter
from adapters.childcare_subsidy.client import SubsidyClient
from adapters.childcare_subsidy.handler import ChildcareSubsidyAdapter
from adapters.household_registration.client import HouseholdClient
from adapters.household_registration.handler import HouseholdRegistrationAdapter
from adapters.maternity_allowance.client import MaternityClient
from adapters.maternity_allowance.handler import MaternityAllowanceAdapter
from adapters.medical_insurance.client import InsuranceClient
from adapters.medical_insurance.handler import MedicalInsuranceAdapter
from adapters.social_security_card.client import CardClient
from adapters.social_security_card.handler import SocialSecurityCardAdapter
from adapters.vaccination_record.client import VaccinationClient
from adapters.vaccination_record.handler import VaccinationAdapter
from bus.base import Transport
from contracts import regions
from contracts.catalogue import builtin_registry
from contracts.registry import Registry

log = structlog.get_logger()


def retry_policy(settings: AdapterSettings) -> RetryPolicy:
    """The in-call retry policy the settings describe."""
    return RetryPolicy(settings.retry_attempts, max_wait_s=settings.retry_max_wait_s)


# Builds a department's adapter over an HTTP client whose base URL is the department's.
AdapterFactory = Callable[[httpx.AsyncClient, RetryPolicy], DepartmentAdapter]

BUILTIN_ADAPTERS: dict[str, AdapterFactory] = {
    "nhc": lambda http, retry: BirthCertificateAdapter(BirthCertificateClient(http, retry)),
    "cdc": lambda http, retry: VaccinationAdapter(VaccinationClient(http, retry)),
    "mps": lambda http, retry: HouseholdRegistrationAdapter(HouseholdClient(http, retry)),
    "nhsa": lambda http, retry: MedicalInsuranceAdapter(
        InsuranceClient(http, retry),
        maternity=MaternityAllowanceAdapter(MaternityClient(http, retry)),
    ),
    "hrss": lambda http, retry: SocialSecurityCardAdapter(CardClient(http, retry)),
    "wjw": lambda http, retry: ChildcareSubsidyAdapter(SubsidyClient(http, retry)),
}


def build_adapter(
    department: str,
    http: httpx.AsyncClient,
    settings: AdapterSettings,
    adapters: Mapping[str, AdapterFactory] = BUILTIN_ADAPTERS,
) -> DepartmentAdapter:
    """The adapter of `department` (`nhc`, `cdc`, `mps`, `nhsa`, `hrss`, or one of
    `adapters`), calling it through `http` (base URL: the department's)."""
    if department not in adapters:
        raise ValueError(f"no adapter for department {department!r}")
    return adapters[department](http, retry_policy(settings))


def department_http_client(
    department: str,
    settings: AdapterSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    now: Now | None = None,
) -> httpx.AsyncClient:
    """An HTTP client for one department: its base URL, the settings' timeout, as
    many connections as the worker has messages in flight, and the department's
    guard (concurrency cap, circuit breaker; `now` is its clock)."""
    limits = httpx.Limits(
        max_connections=max(1, settings.prefetch),
        max_keepalive_connections=max(1, min(settings.prefetch, 20)),
    )
    guard = DepartmentGuard(
        department,
        failure_threshold=settings.breaker_failures,
        open_s=settings.breaker_open_s,
        max_concurrent=settings.department_concurrency,
        now=now,
    )
    return httpx.AsyncClient(
        base_url=settings.base_url(department),
        timeout=httpx.Timeout(settings.http_timeout_s),
        headers={"User-Agent": "birthlink-adapter"},
        transport=GuardedTransport(transport or httpx.AsyncHTTPTransport(limits=limits), guard),
    )


class AdapterRuntime:
    """The adapters of some departments, consuming from `transport`.

    `http_transport` replaces the network for every department client (for
    example an `httpx.ASGITransport` over an in-process app, or a
    `httpx.MockTransport` in tests); `now` is the clock of the departments'
    circuit breakers (seconds; tests pass a manual clock's). `registry` and
    `adapters` add departments of a deployment's (or a test's) own steps.
    """

    def __init__(
        self,
        departments: Iterable[str],
        transport: Transport,
        settings: AdapterSettings,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        now: Now | None = None,
        registry: Registry | None = None,
        adapters: Mapping[str, AdapterFactory] = BUILTIN_ADAPTERS,
    ) -> None:
        self.departments = tuple(dict.fromkeys(departments))
        self.registry = registry or builtin_registry()
        self.adapters = adapters
        self._transport = transport
        self._settings = settings
        self._http_transport = http_transport
        self._now = now
        self._clients: list[httpx.AsyncClient] = []
        self.workers: list[AdapterWorker] = []

    async def start(self) -> None:
        """Create the HTTP clients and subscribe one worker per department."""
        if self.workers:
            return
        regions.load_table()
        try:
            for department in self.departments:
                http = department_http_client(
                    department, self._settings, transport=self._http_transport, now=self._now
                )
                self._clients.append(http)
                worker = AdapterWorker(
                    department,
                    build_adapter(department, http, self._settings, self.adapters),
                    self._transport,
                    prefetch=self._settings.prefetch,
                    registry=self.registry,
                )
                await worker.start()
                self.workers.append(worker)
        except BaseException:
            await self.close()
            raise
        log.info("adapter.runtime.started", departments=list(self.departments))

    async def close(self) -> None:
        """Close the HTTP clients (close the transport first)."""
        clients, self._clients, self.workers = self._clients, [], []
        for http in clients:
            await http.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def run_adapters(
    departments: Iterable[str],
    transport: Transport,
    settings: AdapterSettings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> AdapterRuntime:
    """Build and start the adapters of `departments`; `await runtime.close()` after
    the transport is closed."""
    runtime = AdapterRuntime(departments, transport, settings, http_transport=http_transport)
    await runtime.start()
    return runtime
