"""Tiny random-weight models, built by the tests: real transformers and diffusers code paths in
milliseconds.

Their words are gibberish; what they prove is the plumbing (loading, tokenizing, streaming, the
wire format). The real SmolLM2 test shows that words come out of a real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
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


def clip_tokenizer(max_length: int = 16) -> CLIPTokenizer:
    """CLIP's byte-level BPE on a vocabulary of letters and a few merges: every word tokenizes (to
    letters at worst), and a prompt longer than ``max_length`` is cut, as CLIP's 77 tokens cut real ones."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*letters, *(c + "</w>" for c in letters)]:
        vocab[token] = len(vocab)
    merges = [("f", "o"), ("fo", "x</w>"), ("r", "e"), ("re", "d</w>")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    # Pairs, as the tokenizers library wants them (transformers annotates merges as strings).
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)  # type: ignore[arg-type, unused-ignore]


def text_to_image(folder: Path, *, refuse_everything: bool = False) -> Path:
    """A Stable Diffusion pipeline: a 2-block UNet, a 4-block VAE (so latents are an eighth of the
    picture, as in the real one) and a 2-layer CLIP text encoder. Its pictures are noise; at
    512x512 and two steps one takes well under a second on a CPU.

    With ``refuse_everything``, it has a safety checker whose thresholds every picture crosses, as
    a real checkpoint's checker does for the pictures it flags."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker

    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=tokenizer.model_max_length,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    unet = UNet2DConditionModel(  # type: ignore[no-untyped-call, unused-ignore]
        sample_size=8,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(  # type: ignore[no-untyped-call, unused-ignore]
        block_out_channels=(4, 4, 4, 4),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=2,
        mid_block_add_attention=False,
    )
    scheduler = PNDMScheduler(  # type: ignore[no-untyped-call, unused-ignore]
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1
    )
    checker, features = None, None
    if refuse_everything:
        vision = CLIPVisionConfig(
            image_size=32,
            patch_size=8,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
        )
        checker = StableDiffusionSafetyChecker(CLIPConfig(vision_config=vision.to_dict(), projection_dim=32))
        # A concept is flagged when its cosine similarity exceeds its weight; cosines are >= -1.
        with torch.no_grad():
            checker.concept_embeds_weights.fill_(-2.0)
        features = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pipeline: Any = StableDiffusionPipeline(  # type: ignore[no-untyped-call, unused-ignore]
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=checker,
        feature_extractor=features,
        requires_safety_checker=refuse_everything,
    )
    pipeline.save_pretrained(folder)
    return folder
