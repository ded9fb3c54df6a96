"""Settings of an adapter process (environment, prefix `BIRTHLINK_`)."""

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bus.sealed import DEV_BUS_KEYS
from contracts.profile import DEFAULT_PROFILE
from contracts.registry import gather_per_department


class AdapterSettings(BaseSettings):
    """Where the departments are and how hard to try them.

    A department's base URL is `{departments_url}/{department}` unless its own
    `<DEPARTMENT>_URL` overrides it (`BIRTHLINK_MPS_URL`, or the map
    `BIRTHLINK_DEPARTMENT_URLS__MPS`: `department_urls`).
    """

    model_config = SettingsConfigDict(
        env_prefix="BIRTHLINK_", extra="ignore", env_nested_delimiter="__"
    )

    departments_url: str = "http://127.0.0.1:8000/sandbox"
    department_urls: dict[str, str] = {}
    http_timeout_s: float = 10
    retry_attempts: int = 3
    retry_max_wait_s: float = 2
    amqp_url: str | None = None  # several nodes of a cluster: their URLs, comma-separated
    amqp_prefix: str = ""
    result_partitions: int = Field(default=1, ge=1)  # as the gateway's (bus.topology)
    # Sealing of messages on the bus (bus.sealed), the same ring as the gateway's.
    bus_keys: SecretStr = SecretStr(DEV_BUS_KEYS)
    prefetch: int = 32
    # Sparing departments (adapters._runtime.breaker): requests in flight per
    # department, failures in a row that open its circuit, and for how long.
    department_concurrency: int = 16
    breaker_failures: int = 5
    breaker_open_s: float = 30.0
    metrics_port: int | None = None  # serve this process's Prometheus metrics here when set
    # The deployment profile (contracts.profile): which steps each department does.
    profile: str = DEFAULT_PROFILE

    @model_validator(mode="before")
    @classmethod
    def _urls_by_department(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return gather_per_department(data, "department_urls", "_URL", cls.model_fields)
        return data

    def base_url(self, department: str) -> str:
        """The base URL of `department` (`nhc`, `cdc`, `mps`, `nhsa`, `hrss`, …)."""
        override = self.department_urls.get(department)
        if override:
            return override.rstrip("/")
        return f"{self.departments_url.rstrip('/')}/{department}"
