"""The servers birthlink starts leave X-Forwarded-For to the app (issue 11, item 5):
uvicorn's --proxy-headers believes it from 127.0.0.1 by default, which let one
client on the same host pass for any number of others."""

from pathlib import Path
from typing import Any

import pytest
import uvicorn

from birthlink import cli
from birthlink.installation import generate
from birthlink.up import assemble
from gateway.settings import GatewaySettings


def test_birthlink_up_serves_without_uvicorns_proxy_headers(tmp_path: Path) -> None:
    settings = GatewaySettings(database_url=str(tmp_path / "up.db"))

    _, server = assemble(settings, "127.0.0.1", 8765)

    assert server.config.proxy_headers is False


def test_birthlink_gateway_serves_without_uvicorns_proxy_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "gateway.db"))
    for name, value in generate().items():  # it refuses the development ones
        monkeypatch.setenv(name, value)

    cli.gateway(host="127.0.0.1", port=8766)  # the command's body, without the CLI's logging

    assert seen["proxy_headers"] is False
