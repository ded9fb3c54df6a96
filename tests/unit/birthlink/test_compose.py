"""docker-compose.yml is written for users (no Docker engine here): parse it and
check that it describes the production layout with real commands."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer import _click as click
from typer.main import get_command

from birthlink.cli import app
from contracts.catalogue import builtin_registry

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
    assert adapters == sorted(builtin_registry().departments)
    assert services["rabbitmq"]["image"].endswith("-management")
    for name in ("postgres", "rabbitmq", "gateway", "sandbox"):
        assert "healthcheck" in services[name], name
    assert services["gateway"]["environment"]["BIRTHLINK_AMQP_URL"].startswith("amqp://")
