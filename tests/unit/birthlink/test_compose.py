"""docker-compose.yml is written for users (no Docker engine here): parse it and
check that it describes the production layout with real commands, on keys and
secrets from an env file the operator makes (`birthlink keys init`), never the
development ones."""

import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer import _click as click
from typer.main import get_command
from typer.testing import CliRunner

from birthlink.cli import app
from birthlink.installation import development_settings, read_env_file, secret_names
from bus.sealed import DEV_BUS_KEYS
from contracts.profile import DEFAULT_PROFILE, load_profile
from gateway.settings import DEV_DATA_KEYS, GatewaySettings

ROOT = Path(__file__).resolve().parents[3]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def parse(argv: list[str]) -> None:
    """Parse a command line exactly as the CLI would (types, choices, required
    arguments), without running it; raise when it is not a valid command."""
    cli = get_command(app)
    global_options = [a for a in argv if a.startswith("--") and argv.index(a) < 1]
    name, rest = argv[len(global_options)], argv[len(global_options) + 1 :]
    ctx = cli.make_context("birthlink", global_options, resilient_parsing=True)
    sub = cli.get_command(ctx, name)  # type: ignore[attr-defined]
    assert sub is not None, f"no command {name!r}"
    sub.make_context(name, list(rest), parent=ctx)


def test_every_service_command_is_a_real_birthlink_command() -> None:
    services = compose()["services"]
    commands = [s["command"] for s in services.values() if "command" in s]
    assert len(commands) == len(services) - 2  # all but postgres and rabbitmq
    for command in commands:
        assert command[0] == "birthlink"
        parse(command[1:])


def test_the_parser_check_refuses_what_the_cli_would_refuse() -> None:
    for wrong in (["adapter"], ["nosuch"], ["gateway", "--port", "eighty"]):
        with pytest.raises((click.ClickException, AssertionError)):
            parse(wrong)


def test_the_layout_runs_each_role_and_an_adapter_per_department_of_the_registry() -> None:
    services = compose()["services"]
    commands = {" ".join(s["command"][1:]) for s in services.values() if "command" in s}
    for role in ("gateway", "orchestrator", "relay", "notifier", "sandbox", "migrate"):
        assert any(role in c for c in commands), role
    adapters = sorted(c.split()[-1] for c in commands if " adapter " in f" {c}")
    # The layout deploys the default profile (Baiyin's, with the benefits).
    assert adapters == sorted(load_profile(DEFAULT_PROFILE).registry().departments)
    assert services["rabbitmq"]["image"].endswith("-management")
    for name in ("postgres", "rabbitmq", "gateway", "sandbox"):
        assert "healthcheck" in services[name], name
    assert services["gateway"]["environment"]["BIRTHLINK_AMQP_URL"].startswith("amqp://")


def test_every_birthlink_service_takes_its_keys_from_the_env_file_the_operator_makes() -> None:
    services = compose()["services"]
    text = (ROOT / "docker-compose.yml").read_text()
    for name, service in services.items():
        if "command" not in service:
            continue
        assert service.get("env_file") == ["birthlink.env"], name
        for setting in secret_names():  # never a value written in the file itself
            assert setting not in service.get("environment", {}), (name, setting)
    for published in ("dev-", DEV_DATA_KEYS.split(":")[1], DEV_BUS_KEYS.split(":")[1]):
        assert published not in text
    assert "birthlink keys init birthlink.env" in text


def test_keys_init_writes_an_env_file_the_production_roles_accept(tmp_path: Path) -> None:
    path = tmp_path / "birthlink.env"

    made = CliRunner().invoke(app, ["keys", "init", str(path)])
    again = CliRunner().invoke(app, ["keys", "init", str(path)])

    assert made.exit_code == 0, made.output
    assert again.exit_code == 1
    assert "not overwritten" in again.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = read_env_file(path)
    assert set(values) == set(secret_names())
    for value in values.values():  # compose reads NAME=value lines as they stand
        assert re.fullmatch(r"[A-Za-z0-9_\-+/=:,]+", value), value
    given: dict[str, Any] = {n.removeprefix("BIRTHLINK_").lower(): v for n, v in values.items()}
    settings = GatewaySettings(**given)
    assert development_settings(settings) == []
