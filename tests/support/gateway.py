"""A gateway alone, in process (SQLite in a temp dir, in-process bus), for tests of
its HTTP API that need no departments: requests go through httpx's ASGI transport."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bus.inprocess import InProcessTransport
from gateway.api.app import create_app
from gateway.bootstrap import Runtime, bootstrap
from gateway.security.keys import create_key
from gateway.settings import GatewaySettings
from gateway.store.tables import Base


@dataclass
class Gateway:
    runtime: Runtime
    client: httpx.AsyncClient
    keys: dict[str, str]  # hospital code (or "operator") -> key

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def count_rows(self) -> dict[str, int]:
        """How many rows each table holds (api_keys and the migrations' own aside)."""
        counts: dict[str, int] = {}
        async with self.runtime.db.read() as session:
            for table in Base.metadata.sorted_tables:
                if table.name != "api_keys":
                    counts[table.name] = (
                        await session.scalar(select(func.count()).select_from(table)) or 0
                    )
        return counts


@asynccontextmanager
async def running_gateway(
    tmp_path: Path, hospitals: tuple[str, ...], **settings: Any
) -> AsyncIterator[Gateway]:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    runtime = bootstrap(
        GatewaySettings(database_url=db_url, **settings), transport=InProcessTransport()
    )
    await runtime.start(roles=())
    try:
        keys: dict[str, str] = {}
        async with runtime.db.write() as session:
            now = runtime.clock.now()
            for code in hospitals:
                keys[code] = await create_key(
                    session, role="hospital", name=code, hospital_code=code, now=now
                )
            keys["operator"] = await create_key(
                session, role="operator", name="ops", hospital_code=None, now=now
            )
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(runtime, client, keys)
    finally:
        await runtime.stop()
