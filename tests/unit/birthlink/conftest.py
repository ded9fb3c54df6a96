"""The CLI run in this process (typer's CliRunner) sets up logging as its
commands do; structlog would then keep loggers bound to that set-up for the
rest of the session, and later tests that capture log lines would see none."""

import pytest

from birthlink import logs


@pytest.fixture(autouse=True)
def logging_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "configure", lambda **_: None)
