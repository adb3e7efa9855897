"""Logs never carry passwords, tokens or codes, whatever a caller passes."""

from __future__ import annotations

import json
import logging

import pytest

from storybang import logs
from storybang.settings import LogSettings


def test_credentials_are_redacted_in_json_logs(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(LogSettings(format="json"), dev=True)
    logs.get("test").info(
        "attempt", password="hunter2", refresh_token="abc.def", code="123456", api_key="k", user_id="u1"
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["user_id"] == "u1" and record["event"] == "attempt"
    for key in ("password", "refresh_token", "code", "api_key"):
        assert record[key] == logs.REDACTED
    assert "hunter2" not in line and "123456" not in line
    logging.getLogger().handlers.clear()


def test_a_logged_exception_keeps_its_traceback_in_json_logs(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(LogSettings(format="json"))
    try:
        raise ValueError("the backend said no")
    except ValueError:
        logs.get("test").exception("job crashed", job_id="j1")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["event"] == "job crashed" and record["job_id"] == "j1"
    assert "Traceback" in record["exception"] and "ValueError: the backend said no" in record["exception"]
    logging.getLogger().handlers.clear()
