"""Settings of the event log and the notifier (``STORYBANG_NOTIFIER__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from storybang.settings import Settings


class NotifierSettings(BaseModel):
    # Browser origins allowed to open a socket. Empty: every origin in env=dev, the notifier's own
    # host otherwise (the web app and /socket.io behind one ingress).
    allowed_origins: list[str] = []
    # Per user: a client offline for longer than this many events, or for this long after the
    # user's last event, gets an incomplete replay and refetches its state over the API.
    stream_max_len: int = Field(1000, ge=10)
    stream_ttl_seconds: int = Field(24 * 3600, ge=60)


def of(settings: Settings) -> NotifierSettings:
    """``settings.notifier``; the defaults until :class:`Settings` carries that field."""
    value = getattr(settings, "notifier", None)
    return value if isinstance(value, NotifierSettings) else NotifierSettings()
