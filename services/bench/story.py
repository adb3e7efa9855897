"""Story benchmark: the bundled model on the CPU, llama.cpp against transformers, each against itself.

For each engine, in this process, on the same CPU threads, greedy, the same prompt and token budget:

- the engine's own loop: ``model.generate`` (transformers, on the model converted from the GGUF
  file) and ``Llama.generate`` (llama.cpp, on the GGUF file as it is);
- StoryBang's model class on it, as `storybang dev` and `storybang inference` call it
  (``stream_chat``: chat template, streaming through the event loop, usage);

and a "short" story (the story task's own prompt and token budget, temperature 0.8) through
StoryBang's class. Printed: tokens/s, time to the first text, the ratio of each StoryBang figure to
its engine's own, and llama.cpp over transformers. Nothing asserts a timing.

Run from services/ with .venv-inference: ``../.venv-inference/bin/python -m bench.story``
(``--tokens 128 --runs 3 --threads 2``), or ``BENCH=story scripts/bench.sh``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import torch
from transformers import TextIteratorStreamer

from storybang.generation import prompts
from storybang.inference import weights
from storybang.inference.llama import LlamaModel
from storybang.inference.local import LocalModel
from storybang.inference.settings import DEFAULT_CACHE_DIR
from storybang.inference.text import TextModel
from storybang.settings import GenerationSettings

PROMPT = [{"role": "user", "content": "Write a short story about a brave little fox who finds a map."}]


@dataclass(frozen=True)
class Run:
    tokens: int
    seconds: float
    first: float

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def timed(deltas: Iterator[Any], count: Callable[[], int]) -> Run:
    started = time.perf_counter()
    first = 0.0
    for _ in deltas:
        if not first:
            first = time.perf_counter() - started
    return Run(count(), time.perf_counter() - started, first)


class RawTransformers:
    """``model.generate`` with transformers' own streamer, the way its documentation shows."""

    def __init__(self, model: LocalModel) -> None:
        self.model, self.tokenizer = model.model, model.tokenizer
        self.inputs = self.tokenizer.apply_chat_template(
            PROMPT, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )

    def run(self, max_tokens: int) -> Run:
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True)
        out: list[Any] = []
        prompt = self.inputs["input_ids"].shape[-1]

        def generate() -> None:
            with torch.inference_mode():
                kwargs = {"max_new_tokens": max_tokens, "do_sample": False, "streamer": streamer}
                out.append(self.model.generate(**self.inputs, **kwargs))

        thread = threading.Thread(target=generate)
        thread.start()
        run = timed(iter(streamer), lambda: 0)
        thread.join()
        return Run(int(out[0].shape[-1] - prompt), run.seconds, run.first)


class RawLlama:
    """llama-cpp-python's own token loop (``Llama.generate``), greedy, stopping at end of text."""

    def __init__(self, model: LlamaModel) -> None:
        self.llm = model.llm
        self.tokens = model.chat_tokens(PROMPT)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def run(self, max_tokens: int) -> Run:
        made = 0

        def steps() -> Iterator[int]:
            nonlocal made
            self.llm.reset()  # the whole prompt read each time, as StoryBang's class does
            for token in self.llm.generate(self.tokens, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
                if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                    return
                made += 1
                yield token
                if made >= max_tokens:
                    return

        return timed(steps(), lambda: made)


async def _ours(model: TextModel, messages: Sequence[Mapping[str, str]], max_tokens: int, temperature: float) -> Run:
    generation = model.stream_chat(messages, max_tokens=max_tokens, temperature=temperature)
    started = time.perf_counter()
    first = 0.0
    async for _ in generation:
        if not first:
            first = time.perf_counter() - started
    return Run(generation.usage.completion_tokens, time.perf_counter() - started, first)


def ours(model: TextModel, max_tokens: int, messages: Sequence[Mapping[str, str]] = PROMPT, temp: float = 0) -> Run:
    return asyncio.run(_ours(model, messages, max_tokens, temp))


def short_story_messages() -> list[dict[str, str]]:
    messages = prompts.story_messages(
        prompt="a brave little fox who finds a map",
        audience="children",
        cast=[prompts.Cast("Pip", "a small red fox with a blue scarf")],
        genre="adventure",
        values=["courage", "friendship"],
        length="short",
        language="en",
    )
    return [{"role": m.role, "content": m.content} for m in messages]


def median(runs: list[Run]) -> tuple[float, float, int]:
    return (
        statistics.median(r.rate for r in runs),
        statistics.median(r.first for r in runs),
        int(statistics.median(r.tokens for r in runs)),
    )


def line(label: str, runs: list[Run]) -> tuple[float, float]:
    rate, first, tokens = median(runs)
    print(f"  {label:<38} {rate:7.1f} tokens/s   first text {first:6.3f} s   {tokens:4d} tokens")
    return rate, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=128, help="max new tokens of the fixed prompt")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each, after one warm-up")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads, for both engines")
    parser.add_argument("--stories", type=int, default=2, help="short stories per engine")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    weights.convert_bundled(DEFAULT_CACHE_DIR)  # before timing anything: the first time takes a minute
    started = time.perf_counter()
    llama = LlamaModel.load("smollm2", threads=args.threads)
    llama_load = time.perf_counter() - started
    started = time.perf_counter()
    local = LocalModel.load("smollm2", device="cpu", threads=args.threads)
    local_load = time.perf_counter() - started
    raw_t, raw_l = RawTransformers(local), RawLlama(llama)
    # Alternating runs: the load of a shared machine drifts, and must fall on both sides alike.
    runs: dict[str, list[Run]] = {"raw_t": [], "ours_t": [], "raw_l": [], "ours_l": []}
    for measured in [False] + [True] * args.runs:
        got = {
            "raw_t": raw_t.run(args.tokens),
            "ours_t": ours(local, args.tokens),
            "raw_l": raw_l.run(args.tokens),
            "ours_l": ours(llama, args.tokens),
        }
        if measured:
            for key, run in got.items():
                runs[key].append(run)
    print(
        f"SmolLM2-135M-Instruct (bundled Q4_1 GGUF) on CPU, {args.threads} thread(s), greedy, "
        f"up to {args.tokens} new tokens, median of {args.runs} runs"
    )
    print(f"  load: llama.cpp {llama_load:.2f} s, transformers {local_load:.2f} s (converted folder, torch imported)")
    t_raw, _ = line("transformers model.generate", runs["raw_t"])
    t_ours, t_first = line("transformers, storybang stream_chat", runs["ours_t"])
    l_raw, _ = line("llama.cpp Llama.generate", runs["raw_l"])
    l_ours, l_first = line("llama.cpp, storybang stream_chat", runs["ours_l"])
    print(f"  ratio storybang/engine: transformers {t_ours / t_raw:.2f}, llama.cpp {l_ours / l_raw:.2f}")
    speed, first = l_ours / t_ours, l_first / t_first
    print(f"  ratio llama.cpp/transformers (storybang): tokens/s {speed:.2f}, time to first text {first:.2f}")
    budget = prompts.story_tokens("short", "children", "en", GenerationSettings().max_tokens)
    print(
        f"A short story (the story prompt, its {budget}-token budget, temperature 0.8), {args.stories} each:",
        flush=True,
    )
    story = short_story_messages()
    for label, model in (("llama.cpp", llama), ("transformers", local)):
        for _ in range(args.stories):
            run = ours(model, budget, story, 0.8)
            print(
                f"  {label:<12} {run.seconds:6.1f} s  first text {run.first:5.2f} s  "
                f"{run.tokens:4d} tokens  {run.rate:6.1f} tokens/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
