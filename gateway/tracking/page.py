"""The tracking page: `GET /track` (Jinja2, Chinese first), its script and style
under `/track/assets/`.

The page's address never carries the tracking code or the verification: the
script sends them in the `X-Verification` header of its requests, and a browser
without the script posts the form to `/track` (a form body, not the URL) and
gets the page back. Strict headers: nothing inline runs (CSP), no referrer, no
cache.
"""

import hashlib
import json
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway.tracking import texts

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _asset_version() -> str:
    """Changes when the script or the style does, so browsers fetch the new one."""
    digest = hashlib.sha256()
    for name in ("track.js", "track.css"):
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:12]


ASSET_VERSION = _asset_version()
# Embedded in a <script type="application/json">: "</" must not end it early.
TEXTS_JSON = json.dumps(texts.PAGE, ensure_ascii=False).replace("</", "<\\/")


def _page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "track.html",
        {
            "page": {k: v["zh"] for k, v in texts.PAGE.items()},
            "texts_json": TEXTS_JSON,
            "version": ASSET_VERSION,
        },
        headers=HEADERS,
    )


@router.get("/track", response_class=HTMLResponse)
async def tracking_page(request: Request) -> HTMLResponse:
    """The page: a form for the code and the verification, then the live timeline."""
    return _page(request)


@router.post("/track", response_class=HTMLResponse)
async def tracking_page_posted(request: Request) -> HTMLResponse:
    """Where the form lands when the script did not run: the page again (it
    says that it needs JavaScript); the code never reaches the address bar."""
    return _page(request)


def install(app: FastAPI) -> None:
    """Serve the page and its assets from `app`."""
    app.include_router(router)
    app.mount("/track/assets", StaticFiles(directory=STATIC), name="track-assets")
