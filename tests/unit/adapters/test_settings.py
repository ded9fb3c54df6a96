"""Adapter settings: where each department is."""

import os

import pytest

from adapters._runtime.settings import AdapterSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BIRTHLINK_"):
            monkeypatch.delenv(name)


def test_each_department_lives_under_the_departments_url_by_default() -> None:
    settings = AdapterSettings()
    assert settings.base_url("nhc") == "http://127.0.0.1:8000/sandbox/nhc"
    assert settings.base_url("hrss") == "http://127.0.0.1:8000/sandbox/hrss"


def test_environment_variables_set_the_base_and_override_one_department(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIRTHLINK_DEPARTMENTS_URL", "https://gov.example/api/")
    monkeypatch.setenv("BIRTHLINK_MPS_URL", "https://mps.example/v2/")
    monkeypatch.setenv("BIRTHLINK_RETRY_ATTEMPTS", "5")
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", "sqlite:///other-roles-setting.db")
    settings = AdapterSettings()
    assert settings.base_url("cdc") == "https://gov.example/api/cdc"
    assert settings.base_url("mps") == "https://mps.example/v2"
    assert settings.retry_attempts == 5


def test_the_defaults_keep_in_call_retries_within_seconds() -> None:
    settings = AdapterSettings()
    assert (settings.retry_attempts, settings.retry_max_wait_s, settings.http_timeout_s) == (
        3,
        2,
        10,
    )
    assert settings.amqp_url is None
    assert settings.prefetch == 32


def test_a_department_of_a_deployments_own_step_is_configured_the_same_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIRTHLINK_WJW_URL", "https://wjw.example/")
    monkeypatch.setenv("BIRTHLINK_DEPARTMENT_URLS__LIBRARY", "https://lib.example")
    settings = AdapterSettings()
    assert settings.base_url("wjw") == "https://wjw.example"
    assert settings.base_url("library") == "https://lib.example"
    assert settings.base_url("acwa") == "http://127.0.0.1:8000/sandbox/acwa"
