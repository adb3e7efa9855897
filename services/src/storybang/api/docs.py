"""The API's documentation pages, /docs (Swagger UI) and /redoc, served from the package.

Their scripts and styles come from the ``fastapi-offline`` package, not from a CDN, and the pages
carry a Content-Security-Policy that allows exactly those files and the one inline script each
page has (by its hash): a compromised CDN or an injected script cannot run on our origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(page: str, *, workers: bool = False) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}".strip(),
            # Both UIs set styles from their scripts.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            *(["worker-src blob:"] if workers else []),  # ReDoc searches in a web worker
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _page(html: HTMLResponse, *, workers: bool = False) -> HTMLResponse:
    page = bytes(html.body).decode()
    return HTMLResponse(page, headers={"Content-Security-Policy": _policy(page, workers=workers)})


def install(app: FastAPI, title: str) -> None:
    """Serve /docs, /redoc and their files; the app must be made with ``docs_url=None, redoc_url=None``."""
    files = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(files)), name="docs-assets")
    openapi = app.openapi_url or "/openapi.json"
    swagger = _page(
        get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
    )
    redoc = _page(
        get_redoc_html(
            openapi_url=openapi,
            title=f"{title} API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        ),
        workers=True,
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return swagger

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return redoc
