"""Structured logging: JSON in production, readable lines in dev, secrets never written.

Every record passes :func:`redact`, which masks values whose key looks like a credential, so a
careless ``log.info("login", password=...)`` still cannot leak one.

A line whose context carries a ``job_id`` is also handed, as JSON, to the ``job_lines`` callable
given to :func:`configure` (:class:`storybang.stores.joblogs.Shipper`), so that administrators can
read a job's lines over the API. That callable only buffers: no log call waits on a store.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, MutableMapping
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


# A job's line kept for administrators stays small: a string value past this is cut, keeping a
# traceback's end (where the error is) rather than its start.
JOB_LINE_VALUE_MAX = 4000
# Kept out of a job's lines: the standard library's record and structlog's bookkeeping.
_INTERNAL = frozenset({"_record", "_from_structlog", "exc_info", "stack_info"})

JobLines = Callable[[str, str], None]


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > JOB_LINE_VALUE_MAX:
        return "…" + value[-JOB_LINE_VALUE_MAX:]
    return value


def job_line(event: MutableMapping[str, Any]) -> str:
    """A log line as a job keeps it: JSON, its exception as text, long values cut."""
    line = {k: v for k, v in event.items() if k not in _INTERNAL}
    if event.get("exc_info"):
        line["exception"] = structlog.processors.format_exc_info(None, "", {"exc_info": event["exc_info"]}).get(
            "exception", ""
        )
    return json.dumps({k: _cut(v) for k, v in line.items()}, default=str, ensure_ascii=False)


def _shipping(job_lines: JobLines) -> Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]:
    def ship(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        job_id = event.get("job_id")
        if isinstance(job_id, str):
            job_lines(job_id, job_line(event))
        return event

    return ship


# One list for the life of the process, changed in place: a logger caches the list it was given
# on first use, so a later configure() (tests) still reaches every logger.
_PROCESSORS: list[Any] = []


def configure(settings: LogSettings, *, dev: bool = False, job_lines: JobLines | None = None) -> None:
    """Set up the process's logging from its log settings; ``dev`` picks the console format when
    the settings name none; ``job_lines(job_id, line)`` receives every line that has a job id."""
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
        *([_shipping(job_lines)] if job_lines is not None else []),
    ]
    _PROCESSORS[:] = [*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter]
    structlog.configure(
        processors=_PROCESSORS,
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
