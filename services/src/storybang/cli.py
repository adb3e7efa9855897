"""The `storybang` command: one role per process, or everything at once with `storybang dev`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click
import uvicorn
from pydantic import ValidationError

from storybang import logs, memory, migrations, variables
from storybang.inference import cli as inference_cli
from storybang.inference.settings import InferenceSettings
from storybang.settings import Settings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a clear message instead of a traceback when they are wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "\n".join(f"  {'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in e.errors())
        raise click.ClickException(f"invalid settings:\n{problems}") from e


def configure_logs(settings: Settings, *, keep_job_lines: bool = False) -> None:
    """``keep_job_lines``: for the roles that log about jobs, also keep each job's lines where
    administrators read them (:mod:`storybang.stores.joblogs`)."""
    job_lines = None
    if keep_job_lines:
        from storybang.stores import joblogs

        redis_url = settings.redis.url.get_secret_value() if settings.redis.url else None
        to = joblogs.destination(
            redis_url, max_lines=settings.log.job_lines, ttl_seconds=settings.log.job_lines_ttl_seconds
        )
        job_lines = joblogs.Shipper(to, capacity=settings.log.job_lines_buffer).start().offer
    logs.configure(settings.log, dev=settings.env == "dev", job_lines=job_lines)


def serve_app(app: Any, settings: Settings, host: str, port: int, **server_options: Any) -> None:
    """Every HTTP role, and the benchmarks' bare baseline, run under this one uvicorn call;
    ``server_options`` are a role's own uvicorn settings."""
    configure_logs(settings, keep_job_lines=True)
    memory.settle()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        **server_options,
    )


@click.group()
@click.version_option(package_name="storybang")
def main() -> None:
    """StoryBang: write illustrated stories with AI."""
    # Whatever the role: a misspelt STORYBANG_* variable stops the process before it starts.
    try:
        variables.refuse_unknown(os.environ)
    except variables.UnknownVariables as e:
        raise click.ClickException(str(e)) from e


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", default=".storybang", show_default=True, type=click.Path(path_type=Path))
def dev(host: str, port: int, data_dir: Path) -> None:
    """Run the whole of StoryBang in one process on embedded stores (no servers needed)."""
    from storybang import dev as embedded

    overrides: dict[str, Any] = {"env": "dev", "data_dir": data_dir}
    if "STORYBANG_AUTH__REQUIRE_VERIFICATION" not in os.environ:
        overrides["auth"] = {"require_verification": False}
    settings = load_settings(**overrides)
    click.echo(f"StoryBang dev on http://{host}:{port} (API docs at /docs), data in {data_dir}")
    serve_app(embedded.build(settings), settings, host, port)


@main.command()
@click.option(
    "--domain",
    "domains",
    multiple=True,
    required=True,
    help="identity, characters, stories, generation, web (repeatable)",
)
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a pod listens on all interfaces
@click.option("--port", default=8000, show_default=True, type=int)
def serve(domains: tuple[str, ...], host: str, port: int) -> None:
    """Serve the HTTP API of one domain (or several)."""
    from storybang.api.app import DOMAINS, create_app

    unknown = sorted(set(domains) - DOMAINS.keys())
    if unknown:
        raise click.BadParameter(
            f"unknown domain {', '.join(unknown)}; choose from {', '.join(DOMAINS)}", param_hint="--domain"
        )
    settings = load_settings()
    serve_app(create_app(settings, domains), settings, host, port)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a pod listens on all interfaces
@click.option("--port", default=8000, show_default=True, type=int)
def notifier(host: str, port: int) -> None:
    """Serve real-time events on /socket.io (needs Redis: STORYBANG_REDIS__URL)."""
    from storybang.notifier.app import SERVER_OPTIONS, create_app

    settings = load_settings()
    try:
        app = create_app(settings)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    serve_app(app, settings, host, port, **SERVER_OPTIONS)


@main.command()
@click.option(
    "--task",
    "tasks",
    multiple=True,
    required=True,
    type=click.Choice(["story", "image", "describe", "translate"]),
    help="the queue(s) to consume (repeatable)",
)
def worker(tasks: tuple[str, ...]) -> None:
    """Run generation jobs from the task queues (Dramatiq on Redis)."""
    from storybang.generation import worker as generation_worker

    settings = load_settings()
    configure_logs(settings, keep_job_lines=True)
    memory.settle()
    generation_worker.run(settings, list(tasks))


@main.command()
def migrate() -> None:
    """Apply the SQL migrations (Alembic) to the configured database."""
    settings = load_settings()
    configure_logs(settings)
    asyncio.run(migrations.upgrade(settings.sql_url))
    click.echo("migrations applied")


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--display-name", default="Administrator", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="STORYBANG_ADMIN_PASSWORD")
def create_admin(email: str, display_name: str, password: str) -> None:
    """Create an administrator, or promote an existing account."""
    from storybang.errors import StoryBangError
    from storybang.identity import administration
    from storybang.runtime import Runtime

    settings = load_settings()
    configure_logs(settings)

    async def run() -> str:
        await migrations.upgrade(settings.sql_url)
        runtime = await Runtime.open(settings)
        try:
            async with runtime.sessions() as session:
                user = await administration.create_admin(runtime, session, email, password, display_name)
                return user.id
        finally:
            await runtime.close()

    try:
        user_id = asyncio.run(run())
    except StoryBangError as e:
        raise click.ClickException(e.detail) from e
    click.echo(f"administrator {email} ({user_id}) ready")


@main.command("check-settings")
@click.option("--inference", is_flag=True, help="Check the settings of `storybang inference` instead.")
def check_settings(inference: bool) -> None:
    """Check the STORYBANG_* settings of the environment as a role checks them at start; run nothing."""
    settings: Settings | InferenceSettings = inference_cli.load_settings() if inference else load_settings()
    click.echo(f"{type(settings).__name__}: valid")


@main.command()
def keygen() -> None:
    """Print a new Ed25519 signing key (PEM) for STORYBANG_AUTH__SIGNING_KEY."""
    from storybang.security import tokens

    sys.stdout.write(tokens.generate_pem())


# `storybang inference` keeps its options with the model server, whose settings are its own.
main.add_command(inference_cli.command)
