"""The baseline: a bare FastAPI endpoint returning the very bytes StoryBang returned, served by the
same uvicorn call as `storybang serve` and `storybang dev` (:func:`storybang.cli.serve_app`).

    python -m bench.bare PORT BODY_FILE

``BODY_FILE`` holds the JSON body StoryBang answered; the endpoint parses it once and returns the
parsed object, so FastAPI serializes it on every request as it would any handler's result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from storybang import cli
from storybang.settings import Settings

# The 20-item body of the in-process middleware measurement (bench/metrics.py).
ITEMS = [
    {"id": f"{i:024x}", "name": f"Character {i}", "description": "A brave little fox who loves maps.", "tags": ["fox"]}
    for i in range(20)
]


async def items() -> dict[str, object]:
    return {"items": ITEMS, "next_cursor": None}


def create_app(body: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/items")
    async def same_bytes() -> Any:
        return body

    return app


def main() -> None:
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(env="dev", log={"level": "warning"})
    cli.serve_app(create_app(json.loads(body_file.read_bytes())), settings, "127.0.0.1", port)


if __name__ == "__main__":
    main()
