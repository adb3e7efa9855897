"""Where models come from and where they run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from storybang.inference import weights
from storybang.inference.errors import ModelMissing


def test_cpu_runs_float32_and_cuda_bfloat16() -> None:
    assert weights.placement("cpu") == weights.Placement(torch.device("cpu"), torch.float32)
    assert weights.placement("cuda").dtype == torch.bfloat16


def test_auto_picks_cuda_only_when_there_is_one() -> None:
    assert weights.placement("auto").device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_the_bundled_gguf_is_found_in_its_package() -> None:
    gguf = weights.bundled_gguf()
    assert gguf.suffix == ".gguf"
    assert gguf.stat().st_size > 50_000_000


def test_served_names() -> None:
    assert weights.served_name("smollm2") == "smollm2"
    assert weights.served_name("/models/nllb-200-distilled-600M/") == "nllb-200-distilled-600M"


def test_a_missing_model_folder_is_reported_not_looked_up_on_a_hub(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="no model folder"):
        weights.resolve(str(tmp_path / "nowhere"), tmp_path)


def test_a_folder_that_is_not_a_model_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="cannot load"):
        weights.load_causal_lm(str(tmp_path), weights.placement("cpu"))
