"""Tiny random-weight models, built by the tests: real transformers code paths in milliseconds.

Their words are gibberish; what they prove is the plumbing (loading, tokenizing, streaming, the
wire format). The real SmolLM2 test shows that words come out of a real model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    GPT2Config,
    LlamaConfig,
    LlamaForCausalLM,
    M2M100Config,
    M2M100ForConditionalGeneration,
    NllbTokenizer,
    PreTrainedTokenizerFast,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
    ViTConfig,
    ViTImageProcessor,
)

SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]
# fmt: off
WORDS = [
    "the", "a", "an", "cat", "dog", "fox", "owl", "bear", "mouse", "ran", "jumped", "flew", "swam", "over",
    "under", "into", "brave", "little", "happy", "sad", "big", "small", "red", "blue", "green", "gold", "map",
    "tree", "river", "hill", "castle", "forest", "moon", "star", "sun", "night", "day", "king", "queen",
    "dragon", "found", "lost", "saw", "made", "said", "and", "but", "so", "then", "once", "upon", "time",
    "end",
]
# fmt: on
# A ChatML template, like SmolLM2's, in the fewest characters.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)
CONTEXT = 256


def word_tokenizer(chat: bool = True) -> PreTrainedTokenizerFast:
    """One token per word; decoding puts spaces between tokens, so streaming yields a word a delta."""
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def causal_lm(folder: Path, *, chat: bool = True) -> Path:
    """A 2-layer Llama. It has no end-of-sequence token, so it always writes max_tokens tokens:
    finish reasons and token counts are then certain."""
    torch.manual_seed(0)
    tokenizer = word_tokenizer(chat)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=None,
    )
    model = LlamaForCausalLM(config)  # type: ignore[no-untyped-call]
    model.generation_config.eos_token_id = None
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def nllb_like(folder: Path) -> Path:
    """An M2M-100 seq2seq (NLLB's architecture) with an NLLB tokenizer and its language codes."""
    torch.manual_seed(0)
    tokenizer = NllbTokenizer(vocab={t: i for i, t in enumerate(SPECIALS[:4] + WORDS)}, merges=[], src_lang="eng_Latn")
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def captioner(folder: Path) -> Path:
    """A VisionEncoderDecoder: a 2-layer ViT on 32x32 images and a 2-layer GPT-2, which (like the
    tiny Llama) never ends early, so a caption is never empty."""
    torch.manual_seed(0)
    tokenizer = word_tokenizer(chat=False)
    encoder = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    decoder = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        add_cross_attention=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=None,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = tokenizer.bos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = None
    # Random weights favour the special tokens here, which decoding drops: allow only words.
    model.generation_config.suppress_tokens = list(range(len(SPECIALS)))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def png(color: tuple[int, int, int] = (200, 80, 40), size: int = 48) -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()
