"""The `storybang inference` command line."""

from __future__ import annotations

from click.testing import CliRunner

from storybang.inference.cli import command


def test_help_names_the_flags_and_the_nllb_licence() -> None:
    result = CliRunner().invoke(command, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in ("--model", "--translation-model", "--caption-model", "--image-model", "--host", "--port", "--device"):
        assert flag in result.output
    assert "non-commercial" in result.output


def test_invalid_settings_are_reported_without_a_traceback() -> None:
    result = CliRunner().invoke(command, ["--port", "0"])
    assert result.exit_code == 1
    assert "invalid settings" in result.output
    assert "port" in result.output
