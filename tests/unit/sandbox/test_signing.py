"""Signing of callbacks and the sandbox settings that hold the secrets."""

import hashlib
import hmac

import pytest

from sandbox.settings import SandboxSettings
from sandbox.signing import sign


def test_signature_is_hmac_sha256_of_time_dot_body() -> None:
    body = b'{"sqbh":"MPS1","zt":"approved"}'

    header = sign("dev-mps-secret", body, 1_795_000_000)

    expected = hmac.new(b"dev-mps-secret", b"1795000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1795000000,v1={expected}"


def test_signature_changes_with_the_time() -> None:
    assert sign("s", b"{}", 1) != sign("s", b"{}", 2)


def test_settings_default_to_development_secrets_and_local_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GATEWAY_URL", "MPS_SECRET", "LATER_DELAY_S"):
        monkeypatch.delenv(f"BIRTHLINK_{name}", raising=False)

    settings = SandboxSettings()

    assert settings.gateway_url == "http://127.0.0.1:8000"
    assert settings.secret_for("mps") == "dev-mps-secret"
    assert settings.secret_for("hrss") == "dev-hrss-secret"
    assert settings.later_delay_s == 1.5


def test_settings_read_the_birthlink_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIRTHLINK_MPS_SECRET", "from-env")
    monkeypatch.setenv("BIRTHLINK_GATEWAY_URL", "http://gateway:8000")
    monkeypatch.setenv("BIRTHLINK_LATER_DELAY_S", "0.25")
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", "sqlite:///other-roles-setting.db")

    settings = SandboxSettings()

    assert settings.secret_for("mps") == "from-env"
    assert settings.gateway_url == "http://gateway:8000"
    assert settings.later_delay_s == 0.25
    assert "from-env" not in repr(settings)
