"""Gateway settings (pydantic-settings, prefix `BIRTHLINK_`). Built once in the
process's entry point and passed down; never read at import time."""

import ipaddress
from datetime import timedelta
from functools import lru_cache
from typing import Any

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bus.sealed import DEV_BUS_KEYS
from bus.topology import Topology
from contracts.profile import DEFAULT_PROFILE, Profile, load_profile
from contracts.registry import gather_per_department
from contracts.sealing import Keyring
from gateway.deadlines import NEAR_DEADLINE

DEV_DATA_KEYS = Keyring.development("data")  # any deployment sets its own


def database_url(value: str) -> str:
    """Accept a bare SQLite path or a plain PostgreSQL URL; pick the async driver."""
    if "://" not in value:
        return f"sqlite+aiosqlite:///{value}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return value


@lru_cache(maxsize=8)
def _topology(partitions: int) -> Topology:
    """Made once per partition count: asked once per due birth per sweep."""
    return Topology(partitions=partitions)


class GatewaySettings(BaseSettings):
    """Everything the gateway, orchestrator, relay and timers read."""

    model_config = SettingsConfigDict(
        env_prefix="BIRTHLINK_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "birthlink.db"
    database_schema: str | None = None  # PostgreSQL: keep the tables in this schema
    amqp_url: str | None = None  # several nodes of a cluster: their URLs, comma-separated
    amqp_prefix: str = ""  # prefix of every exchange and queue (several deployments, one broker)
    # The deployment profile (contracts.profile): a name under profiles/ or a
    # path. It holds the jurisdiction, the steps and programmes, legal deadlines
    # and offices; it is validated at start.
    profile: str = DEFAULT_PROFILE

    # The HMAC secret each department signs its callbacks with, by department;
    # `BIRTHLINK_<DEPARTMENT>_SECRET` sets one. Unset: `dev-<department>-secret`.
    department_secrets: dict[str, SecretStr] = {}
    callback_tolerance_s: int = 300

    # Keyed hash for looking people up without storing their numbers in clear
    # (the duplicate rule: the same mother, birth time and order).
    lookup_key: SecretStr = SecretStr("dev-lookup-key")
    # Encryption at rest (gateway.store.crypto): "kid:base64key,..." (first is current).
    data_keys: SecretStr = SecretStr(DEV_DATA_KEYS)
    # Sealing of messages on the bus (bus.sealed), the same ring as the adapters'.
    bus_keys: SecretStr = SecretStr(DEV_BUS_KEYS)

    # An idle HTTP connection is kept open this long: longer than the idle timeouts
    # of clients and load balancers (httpx 5 s, most load balancers 60 s), so that
    # the server never closes a connection at the moment a client reuses it (the
    # client then sees a reset POST). uvicorn's own default is 5 s.
    http_keep_alive_s: int = Field(default=75, ge=1)
    max_body_bytes: int = 64 * 1024
    max_body_depth: int = 16  # nesting of JSON objects and arrays in a request body
    max_body_items: int = 2000  # values (object members and array items) in a request body
    intake_rate_limit: str = "600/minute"  # per hospital key, `limits` notation
    api_key_grace: timedelta = timedelta(days=7)  # a rotated key stays valid this long
    step_deadline: timedelta = timedelta(hours=72)
    dispatch_lease: timedelta = timedelta(minutes=5)
    # A process started while the database (or the broker) is down waits this
    # long for it before it gives up and exits.
    startup_wait_s: float = 120.0
    poll_after: timedelta = timedelta(seconds=30)
    # Later retries when a department stays down (SPEC §4): the last one repeats.
    retry_ladder_s: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600)
    # The orchestrator applies replies in batches of up to this many, one
    # transaction each, waiting this long after the first for more to come
    # (20 ms a step where departments take seconds; under load, about half the
    # transactions of 5 ms).
    orchestrator_batch: int = 50
    orchestrator_wait_ms: float = 20.0
    # The notifier sends parents' texts in batches too (one read, one write):
    # a text may wait this long for others to share its transactions.
    notifier_batch: int = 100
    notifier_wait_ms: float = 200.0
    # Scale-out (bus.topology): results are split by birth over `result_partitions`
    # queues (the same in every process, adapters included), each handled by one
    # orchestrator at a time. Orchestrator `orchestrator_instance` of
    # `orchestrator_instances` takes the partitions n with n % instances ==
    # instance at once, and waits in line for the others after
    # `orchestrator_standby_s`, so that they go on when their own one stops.
    result_partitions: int = Field(default=1, ge=1)
    orchestrator_instance: int = Field(default=0, ge=0)
    orchestrator_instances: int = Field(default=1, ge=1)
    orchestrator_standby_s: float = 3.0
    # Each sweeps the timers of its own partitions' births, and another's once
    # they are this late (that orchestrator is down).
    orchestrator_takeover: timedelta = timedelta(seconds=30)
    # How soon a callback secret rotated or revoked by another process (the CLI,
    # another gateway) is seen; in this process, at once.
    callback_secrets_ttl_s: float = 10.0
    # The relay is woken after each commit (NOTIFY on PostgreSQL); it also looks
    # every `relay_interval_s` for what a notification missed, and leases the rows
    # it publishes for `relay_lease_s` (another relay takes them after). Woken,
    # it gathers `relay_gather_s` more of commits into the round; it marks what it
    # published with its next claim, or alone after `relay_mark_s`.
    relay_interval_s: float = 5.0
    relay_lease_s: float = 30.0
    relay_gather_s: float = 0.02
    relay_mark_s: float = 0.05
    relay_batch: int = 200
    # The sweeper sleeps until the earliest due timer, at most `sweep_max_wait_s`
    # (timers written by another process), and sweeps at most every `sweep_interval_s`.
    sweep_interval_s: float = 1.0
    sweep_max_wait_s: float = 10.0
    # What is done does not stay (gateway.workers.pruner): published outbox rows
    # and inbox rows older than these are deleted, every `prune_interval_s`.
    outbox_keep: timedelta = timedelta(days=7)
    inbox_keep: timedelta = timedelta(days=14)
    prune_interval_s: float = 600.0
    # Operators (issue 3): how long before a legal deadline a birth is flagged,
    # and how often dead letters are moved from the broker to the table.
    deadline_near: timedelta = NEAR_DEADLINE
    dead_letter_interval_s: float = 5.0
    dead_letter_max_wait_s: float = 60.0  # the interval grows to this while none come
    # Roles without an HTTP server (orchestrator, relay) serve their own metrics
    # here when set; the gateway serves them at /metrics.
    metrics_port: int | None = None

    # Parents (issue 5): the tracking page, its look-up limit, and text messages.
    public_url: str = "http://127.0.0.1:8000"  # where parents reach this service
    # Wrong look-ups (`limits` notation; docs/tracking-security.md gives the reasons):
    tracking_rate_limit: str = "30/15 minutes"  # per client address, over all codes
    tracking_code_limit: str = "10/hour;20/day"  # per code, from all addresses together
    tracking_client_code_limit: str = "5/15 minutes;10/day"  # per client address and code
    # Proxies whose X-Forwarded-For is believed: addresses or networks, comma-separated
    # ("10.0.0.5, 192.168.0.0/16"). None by default: the TCP peer is the client.
    trusted_proxies: str = ""
    rate_limit_storage: str = "async+memory://"  # one count per process; async+redis://… shares
    tracking_stream_s: float = 300  # a live stream ends after this long; the page reconnects
    sms_url: str = "http://127.0.0.1:8000/sandbox/sms"  # the SMS gateway (default: the sandbox's)

    @model_validator(mode="before")
    @classmethod
    def _secrets_by_department(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return gather_per_department(data, "department_secrets", "_SECRET", cls.model_fields)
        return data

    @field_validator("tracking_rate_limit", "tracking_code_limit", "tracking_client_code_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        parse_many(value)  # ValueError names a wrong notation at start-up
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        return value

    @model_validator(mode="after")
    def _instance(self) -> "GatewaySettings":
        if self.orchestrator_instance >= self.orchestrator_instances:
            raise ValueError(
                f"orchestrator_instance {self.orchestrator_instance} must be below "
                f"orchestrator_instances ({self.orchestrator_instances})"
            )
        return self

    def result_queues(self) -> tuple[str, ...]:
        """The queues of results, one per partition (unprefixed)."""
        return _topology(self.result_partitions).orchestrator_queues

    def owns_birth(self, birth_id: str) -> bool:
        """Whether this orchestrator takes `birth_id`'s partition at once."""
        return self.owns_partition(_topology(self.result_partitions).partition(birth_id))

    def owns_partition(self, partition: int) -> bool:
        """Whether this orchestrator takes `partition` at once (not as a standby)."""
        return partition % self.orchestrator_instances == self.orchestrator_instance

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        load_profile(value)  # ProfileError names the wrong field at start-up
        return value

    def deployment(self) -> Profile:
        """The deployment profile these settings name."""
        return load_profile(self.profile)

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return database_url(value)

    def department_secret(self, department: str) -> str:
        """The HMAC secret a department signs its callbacks with."""
        secret = self.department_secrets.get(department)
        return secret.get_secret_value() if secret else f"dev-{department}-secret"
