"""`birthlink keys`: API keys (create, list, rotate, revoke), department
callback secrets (rotate, revoke), the data keys (rotate-data), and a new
installation's file of keys and secrets (init).

Commands that make a secret print it once, as their last line, so that scripts
can take it with `tail -1`.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from birthlink.installation import operator_settings
from gateway.settings import GatewaySettings
from gateway.store.db import Database

keys_app = typer.Typer(
    help="API keys, department callback secrets and data keys.", no_args_is_help=True
)

T = TypeVar("T")
DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `30m`, `24h`, `7d`."""
    match = DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration such as 30m, 24h or 7d")
    return timedelta(seconds=int(match[1]) * UNITS[match[2]])


def _with_db(work: Callable[[Database, GatewaySettings], Awaitable[T]]) -> T:
    from gateway.bootstrap import database_for
    from gateway.store.migrate import migrate

    async def run() -> T:
        settings = operator_settings()
        db = database_for(settings)
        try:
            await migrate(db)
            return await work(db, settings)
        finally:
            await db.dispose()

    return asyncio.run(run())


@keys_app.command("create")
def create(
    hospital: Annotated[str | None, typer.Option(help="Hospital code the key is bound to.")] = None,
    operator: Annotated[str | None, typer.Option(help="Operator's name.")] = None,
) -> None:
    """Make a key; it is printed once, as the last line."""
    from gateway.clock import SystemClock
    from gateway.security.keys import create_key

    if bool(hospital) == bool(operator):
        raise typer.BadParameter("give exactly one of --hospital CODE or --operator NAME")

    async def work(db: Database, _settings: GatewaySettings) -> str:
        async with db.write() as session:
            return await create_key(
                session,
                role="hospital" if hospital else "operator",
                name=hospital or operator or "",
                hospital_code=hospital,
                now=SystemClock().now(),
            )

    key = _with_db(work)
    typer.echo(f"{'hospital ' + hospital if hospital else 'operator ' + str(operator)} key:")
    typer.echo(key)


@keys_app.command("list")
def list_() -> None:
    """Every API key (prefix, who, state) and every managed callback secret."""
    from gateway.clock import SystemClock
    from gateway.security.callbacks import list_secrets
    from gateway.security.keys import KeyInfo, list_keys

    async def work(db: Database, _settings: GatewaySettings) -> tuple[list[KeyInfo], list[str]]:
        now = SystemClock().now()
        async with db.read() as session:
            keys = await list_keys(session)
            secrets = [s.describe(now) for s in await list_secrets(session)]
        return keys, secrets

    keys, secrets = _with_db(work)
    now = SystemClock().now()
    typer.echo(f"{'prefix':14} {'role':9} {'name':20} {'hospital':14} {'state':9} until / by")
    for k in keys:
        state = k.state(now)
        until = k.expires_at.isoformat(timespec="seconds") if k.expires_at else ""
        if k.replaced_by:
            until += f" -> {k.replaced_by}"
        typer.echo(
            f"{k.prefix:14} {k.role:9} {k.name[:20]:20} {k.hospital_code or '-':14} "
            f"{state:9} {until}".rstrip()
        )
    if secrets:
        typer.echo("callback secrets:")
        for line in secrets:
            typer.echo(f"  {line}")


@keys_app.command("rotate")
def rotate(
    prefix: Annotated[str | None, typer.Argument(help="The prefix of the key to replace.")] = None,
    department: Annotated[
        str | None, typer.Option(help="Rotate this department's callback secret instead.")
    ] = None,
    grace: Annotated[str, typer.Option(help="How long the old one stays valid.")] = "",
) -> None:
    """Replace a key (or a department's callback secret); the old one stays valid
    for the grace period. The new one is printed once, as the last line."""
    from gateway.clock import SystemClock
    from gateway.security.callbacks import rotate_secret
    from gateway.security.keys import UnknownKeyError, rotate_key

    if bool(prefix) == bool(department):
        raise typer.BadParameter("give exactly one of PREFIX or --department NAME")

    async def work(db: Database, settings: GatewaySettings) -> str:
        now = SystemClock().now()
        period = parse_duration(grace) if grace else settings.api_key_grace
        async with db.write() as session:
            if department:
                return await rotate_secret(session, department, now=now, grace=period)
            assert prefix is not None
            return await rotate_key(session, prefix, now=now, grace=period)

    try:
        made = _with_db(work)
    except (UnknownKeyError, ValueError) as exc:
        typer.echo(f"cannot rotate: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"new {'callback secret for ' + department if department else 'key'}:")
    typer.echo(made)


@keys_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="Key prefix, or callback secret id.")],
) -> None:
    """End a key or a callback secret now: its next use is refused."""
    from gateway.clock import SystemClock
    from gateway.security.callbacks import revoke_secret
    from gateway.security.keys import UnknownKeyError, revoke_key

    async def work(db: Database, _settings: GatewaySettings) -> None:
        now = SystemClock().now()
        async with db.write() as session:
            try:
                await revoke_key(session, prefix, now=now)
            except UnknownKeyError:
                await revoke_secret(session, prefix, now=now)

    try:
        _with_db(work)
    except (UnknownKeyError, LookupError):
        typer.echo(f"no active key or callback secret {prefix!r}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {prefix}")


@keys_app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="The env file to write.")] = Path("birthlink.env"),
) -> None:
    """Write random keys and secrets for every setting that holds one (data keys,
    bus keys, lookup key, each department's callback secret) to a new env file,
    readable by its owner only: docker-compose.yml's `env_file`. Never overwrites."""
    from birthlink.installation import generate, write_env_file

    try:
        write_env_file(path, generate())
    except FileExistsError:
        typer.echo(f"{path} exists: not overwritten (its keys may be in use)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}: keep it private and backed up; the data keys open the store")


@keys_app.command("new-data-key")
def new_data_key(kid: Annotated[str, typer.Argument(help="An id for the new key.")]) -> None:
    """Print a new random data key as `kid:base64`, to put first in BIRTHLINK_DATA_KEYS."""
    from contracts.sealing import Keyring

    typer.echo(Keyring.generate(kid))


@keys_app.command("rotate-data")
def rotate_data(batch: Annotated[int, typer.Option(min=1, max=10000)] = 200) -> None:
    """Re-encrypt every personal value not under the current data key, in small
    batches beside live traffic; then show what each key id still holds."""
    from gateway.store.crypto import count_by_key, reencrypt
    from gateway.store.tables import Base

    async def work(db: Database, _: GatewaySettings) -> tuple[int, dict[str, dict[str, int]]]:
        done = await reencrypt(db, Base.metadata, batch=batch)
        return done, await count_by_key(db, Base.metadata)

    done, counts = _with_db(work)
    typer.echo(f"re-encrypted {done} value(s)")
    for column, by_kid in counts.items():
        spread = ", ".join(f"{kid}: {n}" for kid, n in sorted(by_kid.items())) or "empty"
        typer.echo(f"  {column}: {spread}")
