"""How much of a model is on disk while the Hugging Face client downloads it, for the operator to
show while a first start downloads (a ModelServer's `Downloading` reason and `downloadedBytes`).

A model named by its hub id ("org/name") is downloaded into the hub cache as the Hugging Face
documentation lays it out: `<cache>/models--org--name/blobs/<hash>`, each file written as
`<hash>.incomplete` until it is whole. While the models load, a thread adds up the sizes of those
files every `interval` and exports them as `storybang_inference_model_download_bytes{model}`; the
series goes away once loading ends, so a figure is only ever shown during a download. The client
says nothing of the total it expects, so none is claimed. A folder path, a GGUF file or the
bundled model downloads nothing and is not watched.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import Gauge

DOWNLOADED = Gauge(
    "storybang_inference_model_download_bytes",
    "Bytes of a model's files in the Hugging Face cache while it loads (whole files and partial ones), by model.",
    ["model"],
)
INTERVAL_SECONDS = 1.0


def hub_cache() -> Path | None:
    """The Hugging Face client's cache (HF_HUB_CACHE, else HF_HOME/hub, ...), as it resolves it;
    None without the client (an image that cannot download)."""
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(model: str, cache: Path | None) -> Path | None:
    """Where the client keeps a hub id's files; None for what is not a hub id."""
    parts = model.split("/")
    if cache is None or len(parts) != 2 or not all(parts) or model.startswith((".", "~")) or Path(model).exists():
        return None
    return cache / f"models--{parts[0]}--{parts[1]}"


def on_disk(folder: Path) -> int:
    """The bytes of the blobs in a repository folder, partial ones included."""
    total = 0
    for path in (folder / "blobs").glob("*"):
        with contextlib.suppress(OSError):  # a partial file renamed as it is measured
            total += path.stat().st_size
    return total


@contextlib.contextmanager
def watching(models: Iterable[str], *, interval: float = INTERVAL_SECONDS) -> Iterator[None]:
    """While the block runs (the models loading), export how much of each hub model is on disk."""
    cache = hub_cache()
    folders = {model: folder for model in models if (folder := repo_folder(model, cache)) is not None}
    if not folders:
        yield
        return
    stop = threading.Event()

    def measure() -> None:
        while True:
            for model, folder in folders.items():
                DOWNLOADED.labels(model).set(on_disk(folder))
            if stop.wait(interval):
                return

    thread = threading.Thread(target=measure, name="model-download", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for model in folders:
            with contextlib.suppress(KeyError):
                DOWNLOADED.remove(model)
