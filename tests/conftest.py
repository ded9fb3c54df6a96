"""Fixtures and options shared by every test directory.

The tests run in a random order on every run (pytest-randomly); the seed is
printed first and last, and `-p randomly --randomly-seed=N` repeats an order
(`-p no:randomly` runs them in file order).
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.stack import KINDS, Stack, running_stack

# The tests written before profiles run the five registrations everywhere (their
# births are in Zhejiang); the benefit tests ask for `baiyin` by name.
os.environ.setdefault("BIRTHLINK_PROFILE", "five")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="the browser tests write the documented screenshots (docs/screenshots) "
        "instead of a temporary folder; scripts/screenshots does it",
    )


def _seed_line(config: pytest.Config) -> str | None:
    seed = getattr(config.option, "randomly_seed", None)
    if seed is None or not config.pluginmanager.has_plugin("randomly"):
        return None
    return f"random order: --randomly-seed={seed} repeats it"


def pytest_sessionstart(session: pytest.Session) -> None:
    line = _seed_line(session.config)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:
        reporter.write_line(line)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    line = _seed_line(config)
    if line:
        terminalreporter.write_line(line)


@pytest.fixture(params=KINDS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The whole system, on each of {in-process + SQLite, RabbitMQ + PostgreSQL}."""
    async with running_stack(request.param, tmp_path) as running:
        yield running
