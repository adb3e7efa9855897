"""The web client's files at ``/``: `storybang serve --domain web` and `storybang dev`.

The app answers every path that no route of the process answers: a file of the build when there
is one, else ``index.html`` so that the client's router shows its page (``/stories/…`` reloaded in
the browser). It never shadows the server's own paths: it is Starlette's fallback for unmatched
requests, installed after every route, and paths under the server's prefixes (``/api``,
``/socket.io``, ``/docs``, health and metrics) get the API's 404 instead of the app.

Hashed assets (``/assets/…``) never change under a name: cached for a year. Everything else
(``index.html``, the service worker, the manifest) must be revalidated on every load, or a deploy
would leave browsers on the old app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

import storybang
from storybang.settings import Settings

routers: list[APIRouter] = []  # no API routes: see install()

# Paths of the server, never of the app; a request under one that no route took is a plain 404.
SERVER_PREFIXES = ("/api/", "/socket.io", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def dist_dir(settings: Settings) -> Path:
    """Where the built app is: the setting, else the copy inside the installed package (the image
    puts it there), else ``web/dist`` of the source checkout (an editable install)."""
    if settings.web.dist_dir is not None:
        return settings.web.dist_dir
    package = Path(storybang.__file__).resolve().parent
    inside = package / "web" / "dist"
    return inside if inside.is_dir() else package.parents[2] / "web" / "dist"


def _file(root: Path, path: str) -> Path | None:
    """The file under ``root`` that ``path`` names, or ``None``; never a file outside ``root``."""
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        return candidate
    return None


def install(app: FastAPI, settings: Settings) -> None:
    """Answer the requests no route matches with the app's files."""
    root = dist_dir(settings).resolve()
    not_found = app.router.default

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or path.startswith(SERVER_PREFIXES):
            await not_found(scope, receive, send)
            return
        response: ASGIApp
        index = root / "index.html"
        found = _file(root, path) if path != "/" else None
        if found is not None:
            cache = IMMUTABLE if found.parent == root / "assets" else REVALIDATE
            response = FileResponse(found, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
        elif "." in path.rsplit("/", 1)[-1]:
            # A missing file (an old asset, a typo): an honest 404, not the app's HTML.
            response = PlainTextResponse("Not found", status_code=404)
        elif index.is_file():
            response = FileResponse(
                index,
                media_type="text/html",
                headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
            )
        else:
            response = PlainTextResponse(
                f"The web app is not built ({root} has no index.html): run `make web`.", status_code=503
            )
        await response(scope, receive, send)

    app.router.default = serve
