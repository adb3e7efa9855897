"""`storybang notifier`: Socket.IO events for every user, fanned out through Redis."""

from __future__ import annotations

import click
import uvicorn

from storybang import logs


@click.command("notifier")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a pod listens on all interfaces
@click.option("--port", default=8000, show_default=True, type=int)
def notifier(host: str, port: int) -> None:
    """Serve real-time events on /socket.io (needs Redis: STORYBANG_REDIS__URL)."""
    # Imported here: storybang.cli imports this module to register the command.
    from storybang.cli import load_settings
    from storybang.notifier.app import create_app

    settings = load_settings()
    try:
        app = create_app(settings)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    logs.configure(settings)
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True, server_header=False)
