"""Real HTTP servers on loopback for tests: uvicorn on a pre-bound free port."""

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
import uvicorn
from starlette.types import ASGIApp

T = TypeVar("T")


def bound_socket(port: int = 0) -> socket.socket:
    """A listening socket on a free loopback port (bound now, so no race), or on
    `port` again (a server restarted where its clients expect it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def free_port() -> int:
    """A loopback port free now, for a server of another process to bind.

    Taken below the kernel's ephemeral range (32768 and up on Linux), so that no
    outgoing connection takes it before that server binds it (or binds it again
    after a restart)."""
    while True:
        port = random.randrange(10_000, 32_000)
        try:
            bound_socket(port).close()
        except OSError:
            continue
        return port


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()
    return f"http://{host}:{port}"


@asynccontextmanager
async def serve(app: ASGIApp, sock: socket.socket) -> AsyncIterator[str]:
    """Serve `app` on `sock` until the block ends; yield its base URL."""
    # Open event streams (the tracking page) would hold a graceful shutdown.
    # Keep-alive longer than the clients' (httpx: 5 s), as the gateway and the
    # sandbox do: a server closing an idle connection as a client reuses it resets
    # that request.
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("server stopped while starting")
            await asyncio.sleep(0.01)
        yield url_of(sock)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def healthy(url: str) -> bool:
    """Whether the service at `url` answers `GET /healthz` with 200 now."""
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def wait_for(
    predicate: Callable[[], Awaitable[T | None]],
    *,
    within: float = 30.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Poll an async predicate until it returns something truthy; fail after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or predicate}")
        await asyncio.sleep(interval)
