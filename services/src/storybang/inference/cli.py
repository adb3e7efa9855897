"""The `storybang inference` command; the main CLI adds it with ``main.add_command(command)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from storybang.inference.settings import BUNDLED, InferenceSettings

NLLB_NOTICE = "NLLB-200's weights are licensed CC-BY-NC-4.0: non-commercial use only."


def load_settings(**overrides: Any) -> InferenceSettings:
    """Flags given on the command line win over ``STORYBANG_INFERENCE_*`` variables."""
    try:
        return InferenceSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        problems = "\n".join(f"  {'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in e.errors())
        raise click.ClickException(f"invalid settings:\n{problems}") from e


@click.command("inference", epilog=NLLB_NOTICE)
@click.option(
    "--model", help=f"'{BUNDLED}' (the bundled SmolLM2-135M-Instruct, the default), or a model folder/PVC path."
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "llama.cpp", "transformers"]),
    help="Of the text model. auto: llama.cpp for a GGUF model on a CPU, else transformers  [default: auto]",
)
@click.option(
    "--translation-model",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="A seq2seq folder (NLLB-200, Marian) for /v1/translations. " + NLLB_NOTICE,
)
@click.option(
    "--caption-model",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="An image-to-text folder (VisionEncoderDecoder, BLIP) for /v1/captions.",
)
@click.option(
    "--image-model",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="A diffusers text-to-image folder (Stable Diffusion, SD-Turbo) for /v1/images/generations.",
)
@click.option("--host", help="[default: 0.0.0.0]")
@click.option("--port", type=int, help="[default: 8000]")
@click.option("--device", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N  [default: auto]")
def command(
    model: str | None,
    engine: str | None,
    translation_model: Path | None,
    caption_model: Path | None,
    image_model: Path | None,
    host: str | None,
    port: int | None,
    device: str | None,
) -> None:
    """Serve an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions,
    /v1/images/generations) on llama.cpp, transformers and diffusers, plus /v1/translations and /v1/captions.
    Needs .venv-inference (scripts/inference-env.sh)."""
    settings = load_settings(
        model=model,
        engine=engine,
        translation_model=translation_model,
        caption_model=caption_model,
        image_model=image_model,
        host=host,
        port=port,
        device=device,
    )
    try:
        import uvicorn

        from storybang import logs, memory
        from storybang.inference.app import create_app
    except ImportError as e:
        raise click.ClickException(
            f"{e}: the inference server needs torch and transformers; run scripts/inference-env.sh"
        ) from e

    logs.configure(settings.log)
    click.echo(f"storybang inference on http://{settings.host}:{settings.port} (model {settings.model}); loading")
    app = create_app(settings)
    memory.settle()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, server_header=False)
