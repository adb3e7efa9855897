"""While a model named by its hub id loads, the bytes the Hugging Face client has written into its
cache (partial files included) are exported, and the series goes once loading ends. The folder is
the one the client itself names for the repository."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from huggingface_hub import constants, file_download
from prometheus_client import REGISTRY

from storybang.inference import downloads


def _exported(model: str) -> float | None:
    return REGISTRY.get_sample_value("storybang_inference_model_download_bytes", {"model": model})


def _until(model: str, value: float) -> None:
    deadline = time.monotonic() + 10
    while _exported(model) != value:
        assert time.monotonic() < deadline, f"{model}: {_exported(model)}, not {value}"
        time.sleep(0.01)


def test_the_folder_watched_is_the_one_the_hub_client_downloads_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    cache = downloads.hub_cache()
    assert cache == tmp_path
    folder = downloads.repo_folder("HuggingFaceTB/SmolLM2-135M-Instruct", cache)
    assert folder == tmp_path / file_download.repo_folder_name(
        repo_id="HuggingFaceTB/SmolLM2-135M-Instruct", repo_type="model"
    )
    # What downloads nothing: the bundled model, a folder that exists, a GGUF file, a relative path.
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "local").mkdir()
    monkeypatch.chdir(tmp_path)
    for model in ("smollm2", "org/local", "/models/story.gguf", "./org/name", "a/b/c"):
        assert downloads.repo_folder(model, cache) is None, model


def test_the_bytes_on_disk_are_exported_while_loading_and_then_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    model = "org/story-model"
    blobs = tmp_path / "models--org--story-model" / "blobs"
    with downloads.watching([model, "smollm2"], interval=0.01):
        _until(model, 0)  # nothing yet: the client has not made the folder
        blobs.mkdir(parents=True)
        (blobs / "a1b2").write_bytes(b"x" * 1000)  # a whole file
        partial = blobs / "c3d4.incomplete"
        partial.write_bytes(b"x" * 500)
        _until(model, 1500)
        with partial.open("ab") as growing:
            growing.write(b"x" * 2000)
        _until(model, 3500)
        partial.rename(blobs / "c3d4")  # finished: the same bytes
        _until(model, 3500)
        assert _exported("smollm2") is None  # the bundled model downloads nothing
    assert _exported(model) is None  # loaded: no figure left to show
