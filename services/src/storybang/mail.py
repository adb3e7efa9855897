"""Where verification codes and reset links go: SMTP for real, a local outbox in dev.

The API never returns a code, and the log never shows one: the dev sender writes each message to
``<data_dir>/outbox/`` and logs only the file's path, so a developer can read the code there.
"""

from __future__ import annotations

import asyncio
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from storybang import logs
from storybang.settings import MailSettings

log = logs.get(__name__)


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


class Sender(Protocol):
    async def send(self, message: Message) -> None: ...


class LogSender:
    """Writes each message to a file in the outbox directory and logs where (dev only)."""

    def __init__(self, outbox: Path) -> None:
        self._outbox = outbox
        self.sent: list[Message] = []

    def _write(self, message: Message) -> Path:
        self._outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._outbox / f"{time.time_ns()}.txt"
        path.write_text(f"To: {message.to}\nSubject: {message.subject}\n\n{message.body}\n")
        return path

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        path = await asyncio.to_thread(self._write, message)
        log.info("mail written to the dev outbox", subject=message.subject, path=str(path))


class SMTPSender:
    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    def _send(self, message: Message) -> None:
        s = self._settings
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = s.from_address, message.to, message.subject
        email.set_content(message.body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(email)

    async def send(self, message: Message) -> None:
        await asyncio.to_thread(self._send, message)


def from_settings(settings: MailSettings, data_dir: Path) -> Sender:
    return SMTPSender(settings) if settings.backend == "smtp" else LogSender(data_dir / "outbox")
