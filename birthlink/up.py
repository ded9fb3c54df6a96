"""`birthlink up`: every role in one process, on embedded defaults.

The API, the tracking page, the orchestrator, relay and timers, the five
adapters, and (unless departments are configured) the sandbox departments
mounted at `/sandbox` of the same server.

Keys and secrets: random ones of this installation, in an env file beside the
SQLite database (`birthlink.installation`), made on the first start and read on
every later one; the environment wins over the file. The sandbox signs its
callbacks with the secrets the gateway checks.
"""

import asyncio
import os
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console

from adapters._runtime.settings import AdapterSettings
from adapters.registry import AdapterRuntime
from birthlink.demo import run_demo
from birthlink.installation import (
    beside_database,
    default_secrets_file,
    development_settings,
    gateway_settings,
    load_or_create,
)
from birthlink.samples import demo_of
from contracts.profile import ALL_DEPARTMENTS as BUILTIN_DEPARTMENTS
from gateway.api.app import create_app
from gateway.bootstrap import Runtime, bootstrap
from gateway.security.keys import create_key
from gateway.settings import GatewaySettings, database_url
from sandbox.app import create_sandbox
from sandbox.settings import SandboxSettings


class AdaptersCompanion:
    """The adapters as a companion of the gateway runtime."""

    def __init__(self, runtime: AdapterRuntime) -> None:
        self.runtime = runtime

    async def start(self) -> None:
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.close()


def departments_configured() -> bool:
    """Whether real (or separately run) departments were named in the environment."""
    names = ["BIRTHLINK_DEPARTMENTS_URL"] + [
        f"BIRTHLINK_{d.upper()}_URL" for d in BUILTIN_DEPARTMENTS
    ]
    return any(os.environ.get(n) for n in names)


def log_file() -> Path:
    """Where `up` writes its logs on a terminal: beside the SQLite database
    (`birthlink.db`: `birthlink.log`), or in the working directory."""
    return beside_database(GatewaySettings().database_url, ".log").resolve()


def _has_data(url: str) -> bool:
    """Whether a SQLite database with something in it is already there."""
    from sqlalchemy.engine import make_url

    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    path = Path(str(parsed.database))
    return path.is_file() and path.stat().st_size > 0


def embedded_settings(secrets_file: Path | None = None) -> tuple[GatewaySettings, Path, bool]:
    """The settings of `birthlink up`: the environment, and for the keys and
    secrets it leaves unset this installation's file of random ones, made now
    if there is none; that file, and whether it was made now.

    A database from before that file was sealed under the development data key:
    it stays second in the new file's ring, so that what it holds still opens."""
    from_env = GatewaySettings()
    path = secrets_file or default_secrets_file(from_env.database_url)
    values, made = load_or_create(
        path, keep_dev_data_key=not path.exists() and _has_data(from_env.database_url)
    )
    return gateway_settings(values), path, made


def assemble(settings: GatewaySettings, host: str, port: int) -> tuple[Runtime, uvicorn.Server]:
    """The runtime with its companions, and a server for the app."""
    base = f"http://{host}:{port}"
    if not departments_configured() and not os.environ.get("BIRTHLINK_SMS_URL"):
        # Text messages go to the sandbox's SMS gateway, links to this server.
        settings = settings.model_copy(
            update={"sms_url": f"{base}/sandbox/sms", "public_url": base}
        )
    runtime = bootstrap(settings)
    # The adapters share the runtime's transport; the same bus keys all the same.
    adapter_settings = AdapterSettings().model_copy(update={"bus_keys": settings.bus_keys})
    sandbox = None
    if not departments_configured():
        adapter_settings = adapter_settings.model_copy(
            update={"departments_url": f"{base}/sandbox"}
        )
        # The departments sign their callbacks with the secrets the gateway checks.
        secrets: dict[str, Any] = {
            f"{d}_secret": settings.department_secret(d)
            for d in runtime.registry.departments
            if f"{d}_secret" in SandboxSettings.model_fields
        }
        sandbox = create_sandbox(SandboxSettings(gateway_url=base, **secrets))
        runtime.companions.append(sandbox)
    adapters = AdapterRuntime(
        runtime.registry.departments,
        runtime.transport,
        adapter_settings,
        registry=runtime.registry,
    )
    runtime.companions.append(AdaptersCompanion(adapters))
    app = create_app(runtime)
    if sandbox is not None:
        app.mount("/sandbox", sandbox.app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,  # the tracking page's event streams never end by themselves
        timeout_keep_alive=settings.http_keep_alive_s,
        proxy_headers=False,  # X-Forwarded-For only from BIRTHLINK_TRUSTED_PROXIES (the app's)
    )
    return runtime, uvicorn.Server(config)


async def up(
    host: str,
    port: int,
    *,
    demo: int = 0,
    console: Console | None = None,
    secrets_file: Path | None = None,
    log_file: Path | None = None,
) -> None:
    """Serve until interrupted; print where, a demo hospital key, and run a demo.
    `log_file`: where the logs go, when not to the terminal."""
    console = console or Console(soft_wrap=True)
    settings, secrets_path, made = embedded_settings(secrets_file)
    runtime, server = assemble(settings, host, port)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # it failed to start: raise why
            return
        await asyncio.sleep(0.05)
    hospital, births = demo_of(settings.deployment().jurisdiction)
    async with runtime.db.write() as session:
        key = await create_key(
            session,
            role="hospital",
            name="demo",
            hospital_code=hospital["code"],
            now=runtime.clock.now(),
        )
    base = f"http://{host}:{port}"
    transport = "RabbitMQ" if settings.amqp_url else "in-process"
    console.print(
        f"[bold]birthlink is up[/] at {base}  (store: {settings.database_url}, "
        f"transport: {transport})"
    )
    console.print(f"  API docs:        {base}/docs")
    console.print(f"  tracking page:   {base}/track")
    if not departments_configured():
        console.print(f"  sandbox:         {base}/sandbox/nhc/_sandbox/records")
    console.print(f"  profile:         {settings.profile}  (demo hospital: {hospital['name']})")
    console.print(f"  demo hospital:   {hospital['code']}  key: {key}")
    kept = "made now; keep it private and backed up" if made else "this installation's"
    console.print(f"  keys, secrets:   {secrets_path.resolve()}  ({kept})")
    if log_file is not None:
        console.print(f"  logs:            {log_file}  (--verbose streams them here)")
    published = development_settings(settings, departments=runtime.registry.departments)
    if published:  # set so in the environment, or kept for a database from before
        console.print(f"  [yellow]published development values in use:[/] {', '.join(published)}")
    if demo:
        await run_demo(base, key, demo, console=console, births=births)
        console.print("Still serving; Ctrl-C to stop.")
    await serving
