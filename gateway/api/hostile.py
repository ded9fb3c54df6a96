"""Refuse requests whose path or query carry control characters (`400`).

A NUL byte in a path parameter is valid HTTP once percent-decoded, but not a
valid PostgreSQL text value: refused here, it never reaches a route or the
store, whatever the route's own validation does.
"""

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


class RefuseControlCharacters:
    """Pure ASGI middleware: control characters in the URL are a `400` problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string", b"")
            if CONTROL.search(unquote_to_bytes(raw)) or CONTROL.search(unquote_to_bytes(query)):
                await _refuse(send, scope["path"])
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, path: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Control characters in the URL",
            "status": 400,
            "instance": CONTROL.sub(b"", path.encode("utf-8", "replace")).decode(),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
