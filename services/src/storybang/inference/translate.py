"""Translation with a transformers seq2seq model (``AutoModelForSeq2SeqLM``), for /v1/translations.

NLLB-200 is the model this is built for: one model, 200 languages. Its weights are licensed
CC-BY-NC-4.0, for non-commercial use only; a commercial deployment needs another model (a Marian
pair, for instance) or Apertium, which the generation backends also offer.

Multilingual models whose tokenizer has a ``src_lang`` (NLLB, M2M-100) get the language codes they
know ("spa_Latn"); the two-letter codes StoryBang uses elsewhere ("es") are mapped. Single-pair
models (Marian) ignore the languages: they translate the one pair they were trained for.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from storybang.errors import InvalidInput
from storybang.inference import weights

# ISO 639-1 -> FLORES-200 codes, for the languages StoryBang's stories are most often written in.
NLLB_CODES = {
    "ar": "arb_Arab", "ca": "cat_Latn", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn",
    "eu": "eus_Latn", "fr": "fra_Latn", "gl": "glg_Latn", "hi": "hin_Deva", "it": "ita_Latn", "ja": "jpn_Jpan",
    "ko": "kor_Hang", "nl": "nld_Latn", "pl": "pol_Latn", "pt": "por_Latn", "ru": "rus_Cyrl", "sv": "swe_Latn",
    "tr": "tur_Latn", "uk": "ukr_Cyrl", "zh": "zho_Hans",
}  # fmt: skip
# Room for the translation: a bit longer than the source, as Romance languages tend to be.
LENGTH_FACTOR, LENGTH_EXTRA = 2, 16


def language_code(language: str, tokenizer: Any, *, field: str) -> str:
    """The token a multilingual tokenizer knows for ``language``, or 422."""
    for candidate in (language, NLLB_CODES.get(language.lower().split("-")[0], "")):
        if candidate and tokenizer.convert_tokens_to_ids(candidate) != tokenizer.unk_token_id:
            return candidate
    raise InvalidInput(f"the translation model does not know the language {language!r}", field=field)


class Translator:
    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.multilingual = hasattr(tokenizer, "src_lang")
        # One at a time: the tokenizer's src_lang is state shared by every request.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="translate")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, source: Path, device: str = "auto") -> Translator:
        return cls(*weights.load_seq2seq(source, weights.placement(device)))

    async def translate(self, text: str, source: str, target: str) -> str:
        kwargs: dict[str, Any] = {}
        if self.multilingual:
            src = language_code(source, self.tokenizer, field="source_language")
            tgt = language_code(target, self.tokenizer, field="target_language")
            kwargs["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(tgt)
        else:
            src = ""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._translate, text, src, kwargs)

    def _translate(self, text: str, src: str, kwargs: dict[str, Any]) -> str:
        with self._lock:
            if src:
                self.tokenizer.src_lang = src
            inputs = self.tokenizer(text, return_tensors="pt", truncation=True).to(self.model.device)
            length = int(inputs["input_ids"].shape[-1])
            with torch.inference_mode():
                out = self.model.generate(**inputs, max_new_tokens=length * LENGTH_FACTOR + LENGTH_EXTRA, **kwargs)
            return str(self.tokenizer.decode(out[0], skip_special_tokens=True)).strip()
