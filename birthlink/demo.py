"""`birthlink demo`: post generated births to a running gateway, follow each to
its end with a progress bar, then show how each ended."""

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from birthlink.samples import birth_event

FINAL = {"completed", "action_required", "cancelled"}


@dataclass
class Outcome:
    """How one demo birth ended."""

    birth_id: str
    tracking_code: str
    status: str
    seconds: float
    citizen_id: str | None
    card_number: str | None


async def _follow(http: httpx.AsyncClient, event: dict[str, object], timeout_s: float) -> Outcome:
    started = time.monotonic()
    posted = await http.post("/v1/births", json=event)
    posted.raise_for_status()
    accepted = posted.json()
    birth: dict[str, Any] = {}
    while time.monotonic() - started < timeout_s:
        birth = (await http.get(f"/v1/births/{accepted['birth_id']}")).raise_for_status().json()
        if birth["status"] in FINAL:
            break
        await asyncio.sleep(0.25)
    steps: list[dict[str, Any]] = birth.get("steps", [])
    outputs: dict[str, dict[str, str]] = {s["step"]: s["output"] for s in steps}
    return Outcome(
        accepted["birth_id"],
        accepted["tracking_code"],
        str(birth.get("status", "unknown")),
        time.monotonic() - started,
        outputs.get("household_registration", {}).get("citizen_id"),
        outputs.get("social_security_card", {}).get("card_number"),
    )


async def run_demo(
    base_url: str, key: str, count: int, *, timeout_s: float = 60, console: Console | None = None
) -> list[Outcome]:
    """Post `count` births concurrently and wait until each ends (or times out)."""
    console = console or Console()
    rng = random.Random()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        with Progress(
            TextColumn("births"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("births", total=count)

            async def one() -> Outcome:
                outcome = await _follow(http, birth_event(rng), timeout_s)
                progress.advance(bar)
                return outcome

            outcomes = await asyncio.gather(*(one() for _ in range(count)))
    table = Table(title="How each birth ended")
    for column in ("tracking code", "status", "seconds", "citizen ID", "card"):
        table.add_column(column)
    for o in outcomes:
        masked = f"{o.citizen_id[:6]}********{o.citizen_id[-4:]}" if o.citizen_id else "-"
        table.add_row(o.tracking_code, o.status, f"{o.seconds:.1f}", masked, o.card_number or "-")
    console.print(table)
    return list(outcomes)
