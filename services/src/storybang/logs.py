"""Structured logging: JSON in production, readable lines in dev, secrets never written.

Every record passes :func:`redact`, which masks values whose key looks like a credential, so a
careless ``log.info("login", password=...)`` still cannot leak one.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from storybang.settings import LogSettings

_SECRET_KEY = re.compile(r"pass(word)?|token|secret|code|authorization|api_?key|cookie", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event" and _SECRET_KEY.search(key):
            event[key] = REDACTED
    return event


def configure(settings: LogSettings, *, dev: bool = False) -> None:
    """Set up the process's logging from its log settings; ``dev`` picks the console format when
    the settings name none."""
    level = getattr(logging, settings.level.upper())
    # The console renderer prints a logged exception's traceback itself; JSON needs it turned into
    # an "exception" field first, or log.exception() would write only "exc_info": true.
    rendering: list[Any] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if settings.resolved_format(dev=dev) == "json"
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints query strings; ours never carry credentials, but keep it quiet.
    logging.getLogger("uvicorn.access").setLevel(max(level, logging.WARNING))


def get(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
