"""The vLLM profiles of inference/vllm/ parse, and bad ones are reported as invalid specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybang_operator import errors, profiles
from tests.conftest import PROFILES

NAMES = sorted(p.stem for p in PROFILES.glob("*.yaml"))


def test_the_expected_profiles_ship() -> None:
    assert {"smollm2-135m", "llama-3.1-8b-instruct", "qwen2.5-vl-7b"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_profile_parses(name: str) -> None:
    profile = profiles.load(PROFILES, name)
    assert profile.spec.model
    assert (profile.spec.device == "cpu") == (profile.spec.gpu.count == 0)
    assert profile.spec.resources.requests


def test_vision_profile_serves_describe() -> None:
    assert "describe" in profiles.load(PROFILES, "qwen2.5-vl-7b").spec.tasks


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(errors.InvalidSpec, match=r"known: .*smollm2-135m") as caught:
        profiles.load(PROFILES, "gpt-17")
    assert caught.value.reason == "ProfileNotFound"


def test_profile_name_cannot_be_a_path() -> None:
    with pytest.raises(errors.InvalidSpec, match="not a file name"):
        profiles.load(PROFILES, "../../etc/passwd")


def test_misnamed_or_misspelled_profile_is_invalid(tmp_path: Path) -> None:
    text = (PROFILES / "smollm2-135m.yaml").read_text()
    (tmp_path / "other.yaml").write_text(text)
    with pytest.raises(errors.InvalidSpec, match="named 'smollm2-135m' inside"):
        profiles.load(tmp_path, "other")
    (tmp_path / "smollm2-135m.yaml").write_text(text.replace("servedName", "servedname"))
    with pytest.raises(errors.InvalidSpec) as caught:
        profiles.load(tmp_path, "smollm2-135m")
    assert caught.value.reason == "InvalidProfile"
