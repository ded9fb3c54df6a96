"""`birthlink demo`: post generated births to a running gateway, follow each to
its end with a progress bar, then show how each ended."""

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from birthlink.samples import birth_event

FINAL = {"completed", "action_required", "cancelled"}
# Where a demo birth stops moving by itself: its steps settled, or a benefit
# waiting for the parents to confirm on the tracking page.
SETTLED_STEPS = {
    "completed",
    "skipped",
    "offline",
    "cancelled",
    "compensated",
    "not_applicable",
    "awaiting_parents",
    "rejected",
    "failed",
}
BENEFITS = {"childcare_subsidy": "subsidy", "maternity_allowance": "allowance"}
BENEFIT_WORDS = {
    "awaiting_parents": "to confirm",
    "not_applicable": "not eligible",
    "completed": "paid",
    "skipped": "declined",
}


@dataclass
class Outcome:
    """How one demo birth ended."""

    birth_id: str
    tracking_code: str
    status: str
    seconds: float
    citizen_id: str | None
    card_number: str | None
    benefits: str = "-"


async def _follow(http: httpx.AsyncClient, event: dict[str, object], timeout_s: float) -> Outcome:
    started = time.monotonic()
    posted = await http.post("/v1/births", json=event)
    posted.raise_for_status()
    accepted = posted.json()
    birth: dict[str, Any] = {}
    while time.monotonic() - started < timeout_s:
        birth = (await http.get(f"/v1/births/{accepted['birth_id']}")).raise_for_status().json()
        if birth["status"] in FINAL or all(
            s["state"] in SETTLED_STEPS for s in birth.get("steps", [])
        ):
            break
        await asyncio.sleep(0.25)
    steps: list[dict[str, Any]] = birth.get("steps", [])
    outputs: dict[str, dict[str, str]] = {s["step"]: s["output"] for s in steps}
    benefits = "; ".join(
        f"{BENEFITS[s['step']]}: {BENEFIT_WORDS.get(s['state'], s['state'])}"
        for s in steps
        if s["step"] in BENEFITS
    )
    status = str(birth.get("status", "unknown"))
    if status == "in_progress" and any(s["state"] == "awaiting_parents" for s in steps):
        status = "awaiting parents"
    return Outcome(
        accepted["birth_id"],
        accepted["tracking_code"],
        status,
        time.monotonic() - started,
        outputs.get("household_registration", {}).get("citizen_id"),
        outputs.get("social_security_card", {}).get("card_number"),
        benefits or "-",
    )


async def run_demo(
    base_url: str,
    key: str,
    count: int,
    *,
    timeout_s: float = 60,
    console: Console | None = None,
    births: Callable[[random.Random], dict[str, Any]] = birth_event,
) -> list[Outcome]:
    """Post `count` births (made by `births`) concurrently and wait until each
    ends, or waits for the parents (or times out)."""
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
                outcome = await _follow(http, births(rng), timeout_s)
                progress.advance(bar)
                return outcome

            outcomes = await asyncio.gather(*(one() for _ in range(count)))
    table = Table(title="How each birth ended")
    with_benefits = any(o.benefits != "-" for o in outcomes)
    columns = ["tracking code", "status", "seconds", "citizen ID", "card"]
    for column in columns + (["benefits"] if with_benefits else []):
        table.add_column(column)
    for o in outcomes:
        masked = f"{o.citizen_id[:6]}********{o.citizen_id[-4:]}" if o.citizen_id else "-"
        row = [o.tracking_code, o.status, f"{o.seconds:.1f}", masked, o.card_number or "-"]
        table.add_row(*row, *([o.benefits] if with_benefits else []))
    console.print(table)
    return list(outcomes)
