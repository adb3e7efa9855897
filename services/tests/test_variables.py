"""Every `storybang` process refuses a STORYBANG_* variable that nothing reads, and names the one
that was probably meant; every name a settings class reads, or another program owns, passes."""

from __future__ import annotations

import pytest

from storybang import variables
from tests.test_cli import run_cli

PRODUCTION = {
    "STORYBANG_AUTH__SIGNING_KEY": "pem",
    "STORYBANG_MYSQL__URL": "mysql+asyncmy://u:p@db/x",
    "STORYBANG_MONGO__URL": "mongodb://db/x",
    "STORYBANG_REDIS__URL": "redis://db/0",
}


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("STORYBANG_REDIS_URL", "STORYBANG_REDIS__URL"),  # one underscore where nesting needs two
        ("STORYBANG_LOG_LEVEL", "STORYBANG_LOG__LEVEL"),
        ("STORYBANG_AUTH__SIGNING_KY", "STORYBANG_AUTH__SIGNING_KEY"),
        ("STORYBANG_WORKER__CONCURENCY", "STORYBANG_WORKER__CONCURRENCY"),
        ("STORYBANG_INFERNCE_MODEL", "STORYBANG_INFERENCE_MODEL"),
        ("storybang_redis_url", "STORYBANG_REDIS__URL"),  # names match case-insensitively
    ],
)
def test_a_misspelt_name_is_unknown_and_the_closest_name_is_offered(typo: str, meant: str) -> None:
    assert variables.unknown([typo, "PATH"]) == [variables.Unknown(typo, meant)]


def test_a_name_like_no_setting_gets_no_guess() -> None:
    [found] = variables.unknown(["STORYBANG_FOO"])
    assert found.closest is None
    assert str(found) == "unknown setting STORYBANG_FOO: no StoryBang setting is called that"


@pytest.mark.parametrize(
    "name",
    [
        "STORYBANG_ENV",
        "STORYBANG_AUTH",  # a nested model as one JSON value
        "STORYBANG_AUTH__ACCESS_TOKEN_TTL_SECONDS",
        "STORYBANG_GENERATION__BACKENDS",
        "STORYBANG_GENERATION__API_KEYS__xai",  # any key of a dict setting
        "STORYBANG_NOTIFIER__ALLOWED_ORIGINS",
        "STORYBANG_WEB__DIST_DIR",
        "STORYBANG_INFERENCE_SERVED_MODEL_NAME",  # the model server's, often in the same pod
        "STORYBANG_INFERENCE_LOG__LEVEL",
        "STORYBANG_ADMIN_PASSWORD",  # `create-admin --password`
        "STORYBANG_OPERATOR_RESYNC_SECONDS",  # the operator's own, checked by the operator
        "STORYBANG_TEST_REDIS_URL",
        "STORYBANG_E2E_KUBECONFIG",
        "STORYBANG_API",
        "storybang_env",
    ],
)
def test_names_storybang_or_another_program_reads_are_accepted(name: str) -> None:
    assert variables.unknown([name]) == []


def test_unrelated_variables_are_not_ours_to_judge() -> None:
    assert variables.unknown(["PATH", "HOME", "REDIS_URL", "STORYBANGX"]) == []


def test_every_field_of_the_settings_is_in_the_catalogue() -> None:
    """The catalogue follows the settings classes: a new field is accepted without a list to edit."""
    names = variables.catalogue().names
    assert {"STORYBANG_AUTH__REFRESH_TOKEN_TTL_SECONDS", "STORYBANG_SHUTDOWN_GRACE_SECONDS"} <= names
    assert {"STORYBANG_INFERENCE_LIMITS__MAX_IMAGE_PIXELS", "STORYBANG_INFERENCE_THREADS"} <= names
    # Only leaves and whole models: no list element, no invented nesting.
    assert "STORYBANG_GENERATION__BACKENDS__NAME" not in names
    assert "STORYBANG_ENV__X" not in names


def test_every_role_refuses_to_start_on_a_misspelt_variable() -> None:
    env = PRODUCTION | {"STORYBANG_WORKER__CONCURENCY": "8"}
    for args in (["serve", "--domain", "identity"], ["worker", "--task", "story"], ["inference"], ["check-settings"]):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, args
        assert (
            "unknown setting STORYBANG_WORKER__CONCURENCY: did you mean STORYBANG_WORKER__CONCURRENCY?" in result.stderr
        )
        assert "Traceback" not in result.stderr


def test_check_settings_validates_values_without_starting_anything() -> None:
    assert run_cli("check-settings", env=PRODUCTION).stdout.strip() == "Settings: valid"
    bad = run_cli("check-settings", env=PRODUCTION | {"STORYBANG_WORKER__CONCURRENCY": "0"})
    assert bad.returncode == 1
    assert "worker.concurrency" in bad.stderr
    inference = run_cli("check-settings", "--inference", env={"STORYBANG_INFERENCE_THREADS": "2"})
    assert inference.stdout.strip() == "InferenceSettings: valid"
