"""Fixtures of the inference tests: tiny models built once per session, and real servers on
loopback ports.

Run them with .venv-inference (scripts/inference-env.sh). The base environment has no torch: there
every module here is skipped, visibly, and this file imports nothing that needs torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.inference import tiny

    return tiny.causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_translator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.inference import tiny

    return tiny.nllb_like(tmp_path_factory.mktemp("tiny-nllb"))


@pytest.fixture(scope="session")
def tiny_captioner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.inference import tiny

    return tiny.captioner(tmp_path_factory.mktemp("tiny-caption"))


@pytest.fixture(scope="session")
def tiny_drawer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.inference import tiny

    return tiny.text_to_image(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def server(tiny_lm: Path, tiny_translator: Path, tiny_captioner: Path) -> Iterator[str]:
    """A server with all three models; max_tokens_limit is low to test the limit."""
    from tests.inference.servers import serving, settings_for

    settings = settings_for(
        tiny_lm,
        served_model_name="tiny",
        translation_model=tiny_translator,
        caption_model=tiny_captioner,
        max_tokens_limit=200,
        default_max_tokens=10,
    )
    with serving(settings) as base:
        yield base


@pytest.fixture(scope="session")
def bare_server(tiny_lm: Path) -> Iterator[str]:
    """A server with a language model only: no translation, no caption model."""
    from tests.inference.servers import serving, settings_for

    with serving(settings_for(tiny_lm)) as base:
        yield base
