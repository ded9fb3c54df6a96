"""The production roles refuse the built-in development keys and secrets (issue 11,
item 2): they are published, so what they seal or sign protects nothing. Each
refusal names the settings to fill; random ones let the role start."""

import os
from collections.abc import Coroutine
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from birthlink import cli
from birthlink.installation import (
    BUS_KEYS,
    DATA_KEYS,
    LOOKUP_KEY,
    DevelopmentSecretsError,
    generate,
    require_production_secrets,
    secret_names,
)
from bus.sealed import DEV_BUS_KEYS
from contracts.sealing import Keyring
from gateway.settings import DEV_DATA_KEYS, GatewaySettings

ROLES = (["gateway"], ["orchestrator"], ["relay"], ["notifier"])


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No BIRTHLINK_ setting from outside; the roles' servers and loops are stubs
    that record that the role got as far as starting."""
    for name in list(os.environ):
        if name.startswith("BIRTHLINK_"):
            monkeypatch.delenv(name)
    seen: list[str] = []

    def run(coro: Coroutine[Any, Any, None]) -> None:
        seen.append("run")
        coro.close()

    monkeypatch.setattr(cli, "_run", run)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.append("uvicorn"))
    return seen


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.app, args, env=env)


@pytest.mark.parametrize("role", [*ROLES, ["adapter", "mps"]], ids=lambda r: " ".join(r))
def test_a_production_role_on_the_development_defaults_refuses_to_start(
    started: list[str], role: list[str]
) -> None:
    ran = invoke(role)

    assert ran.exit_code == 1
    assert started == []
    assert "refuses to start" in ran.output
    assert BUS_KEYS in ran.output  # every role seals or opens the bus
    if role[0] != "adapter":
        for name in secret_names():
            assert name in ran.output, name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r[0])
def test_a_production_role_starts_on_random_keys_and_secrets(
    started: list[str], role: list[str]
) -> None:
    ran = invoke(role, env=generate())

    assert ran.exit_code == 0, ran.output
    assert len(started) == 1


def test_an_adapter_needs_only_the_bus_keys(started: list[str]) -> None:
    ran = invoke(["adapter", "mps"], env={BUS_KEYS: generate()[BUS_KEYS]})

    assert ran.exit_code == 0, ran.output
    assert len(started) == 1


def test_one_development_secret_among_real_ones_is_named_alone(started: list[str]) -> None:
    env = {**generate(), "BIRTHLINK_MPS_SECRET": "dev-mps-secret"}

    ran = invoke(["gateway"], env=env)

    assert ran.exit_code == 1
    assert "BIRTHLINK_MPS_SECRET" in ran.output
    assert "BIRTHLINK_NHC_SECRET" not in ran.output
    assert DATA_KEYS not in ran.output


def test_a_development_key_is_found_under_another_id_and_behind_a_real_one() -> None:
    dev_data = DEV_DATA_KEYS.split(":", 1)[1]
    dev_bus = DEV_BUS_KEYS.split(":", 1)[1]
    values: dict[str, Any] = {
        **{n.removeprefix("BIRTHLINK_").lower(): v for n, v in generate().items()},
        "data_keys": f"{Keyring.generate('k2')},k1:{dev_data}",
        "bus_keys": f"mine:{dev_bus}",
        "lookup_key": "dev-lookup-key",
    }

    with pytest.raises(DevelopmentSecretsError) as refused:
        require_production_secrets("gateway", GatewaySettings(**values))

    assert refused.value.names == [DATA_KEYS, BUS_KEYS, LOOKUP_KEY]
