"""The operator's settings come from STORYBANG_OPERATOR_* variables, and a name that no setting
reads stops the start instead of leaving a default in place."""

from __future__ import annotations

import pytest

from storybang_operator import settings


def test_a_misspelt_name_is_refused_with_the_closest_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBANG_OPERATOR_RESYNC_SECOND", "10")
    monkeypatch.setenv("STORYBANG_OPERATOR_NONSENSE", "1")
    with pytest.raises(settings.UnknownSettings) as e:
        settings.load()
    assert str(e.value) == (
        "unknown setting STORYBANG_OPERATOR_NONSENSE: no operator setting is called that; "
        "unknown setting STORYBANG_OPERATOR_RESYNC_SECOND: did you mean STORYBANG_OPERATOR_RESYNC_SECONDS?"
    )


def test_known_names_load_and_other_names_are_not_the_operators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBANG_OPERATOR_RESYNC_SECONDS", "10")
    monkeypatch.setenv("storybang_operator_replicas", "2")  # matched case-insensitively, as pydantic does
    monkeypatch.setenv("STORYBANG_REDIS__URL", "redis://elsewhere")  # the services', not ours to judge
    loaded = settings.load()
    assert (loaded.resync_seconds, loaded.replicas) == (10, 2)


def test_the_kubeconfig_is_read_under_its_usual_name_only() -> None:
    assert settings.unknown(["KUBECONFIG"]) == []
    [line] = settings.unknown(["STORYBANG_OPERATOR_KUBECONFIG"])
    assert line.startswith("unknown setting STORYBANG_OPERATOR_KUBECONFIG")
