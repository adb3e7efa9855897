"""What this process serves: the models, loaded once in the background and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from storybang import logs
from storybang.inference import downloads, engine, metrics
from storybang.inference.settings import InferenceSettings
from storybang.inference.text import TextModel

# torch is imported only by the models that need it, when they load: a server of a GGUF model on
# llama.cpp (the CPU image) has no torch at all.
if TYPE_CHECKING:
    from storybang.inference.caption import Captioner
    from storybang.inference.draw import Drawer
    from storybang.inference.translate import Translator

log = logs.get(__name__)


@dataclass
class Models:
    """What this process serves; filled in as each model finishes loading."""

    llm: TextModel | None = None
    translator: Translator | None = None
    captioner: Captioner | None = None
    drawer: Drawer | None = None
    failure: str | None = None
    loaded: bool = False


def load_into(models: Models, settings: InferenceSettings) -> None:
    """Load every configured model (blocking: run it in a thread). Records a failure, never raises:
    the health routes report it. While they load, how much of a model named by its hub id is
    downloaded is exported (:mod:`storybang.inference.downloads`)."""
    try:
        with downloads.watching([settings.model]):
            llm = _load(models, settings)
    except Exception as e:
        models.failure = f"{type(e).__name__}: {e}"
        log.error("model loading failed", exc_info=e)
        return
    metrics.WAITING.set_function(lambda: llm.waiting)
    metrics.RUNNING.set_function(lambda: llm.running)
    if llm.engine == "transformers":
        from storybang.inference.local import LocalModel  # torch: loaded already by that engine

        metrics.watch_memory(cast(LocalModel, llm).model)
    else:  # llama.cpp maps the GGUF file as it is
        metrics.DEVICE_MEMORY.labels(llm.device_name).set(getattr(llm, "size_bytes", 0))
    models.loaded = True
    image_model = models.drawer.name if models.drawer else None
    log.info("models loaded", model=llm.name, engine=llm.engine, image_model=image_model, device=llm.device_name)


def _load(models: Models, settings: InferenceSettings) -> TextModel:
    llm = models.llm = engine.load(
        settings.model,
        engine=settings.engine,
        device=settings.device,
        cache_dir=settings.cache_dir,
        threads=settings.threads,
        name=settings.served_model_name,
    )
    if settings.translation_model is not None:
        from storybang.inference.translate import Translator

        models.translator = Translator.load(settings.translation_model, settings.device)
    if settings.caption_model is not None:
        from storybang.inference.caption import Captioner

        models.captioner = Captioner.load(settings.caption_model, settings.device)
    if settings.image_model is not None:
        from storybang.inference.draw import Drawer, Steps

        models.drawer = Drawer.load(
            settings.image_model,
            name=settings.served_image_model_name,
            steps=Steps(settings.image_steps, settings.image_guidance_scale),
            device=settings.device,
        )
    return llm
