"""Fixtures shared by every test directory."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.stack import KINDS, Stack, running_stack


@pytest.fixture(params=KINDS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The whole system, on each of {in-process + SQLite, RabbitMQ + PostgreSQL}."""
    async with running_stack(request.param, tmp_path) as running:
        yield running
