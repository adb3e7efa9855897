"""Inference benchmark: tokens/s through `storybang inference` against raw ``model.generate``.

Both run the real SmolLM2-135M-Instruct (the bundled model, converted once into the cache), on the
same device and CPU threads, greedy, with the same prompt and ``max_new_tokens``: greedy decoding
makes them produce the same tokens, so the ratio is the cost of our layer (HTTP, server-sent events,
the streamer, the executor hop) and nothing else. The server is a separate process, as in production,
so client and server do not share a GIL.

At a concurrency of N, the server answers N streams sent at once, and the raw side generates a
batch of N copies of the prompt, the way the library does N completions at once; both print the
tokens per second of all N together. On a GPU (``--device auto`` finds one) the default is 1, 4 and
16; on a CPU, 1.

Run from services/ with .venv-inference: ``../.venv-inference/bin/python -m bench.inference``
(``--tokens 64 --runs 5 --threads 1 --device auto --concurrency 1,4,16``). One thread by default:
on a small shared machine more threads contend with other work and make both figures noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import torch

from storybang.inference import weights
from storybang.inference.settings import DEFAULT_CACHE_DIR
from storybang_testing.waiting import free_port

PROMPT = [{"role": "user", "content": "Write a short story about a brave little fox who finds a map."}]
SERVE = "from storybang.inference.cli import command; command()"


@dataclass(frozen=True)
class Run:
    """``tokens`` new tokens in all, in ``seconds``; ``first_token``: the median stream's wait."""

    tokens: int
    seconds: float
    first_token: float | None = None

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


class Raw:
    """The same model in this process, called the way the transformers documentation shows."""

    def __init__(self, threads: int, device: str) -> None:
        torch.set_num_threads(threads)
        source = str(weights.convert_bundled(DEFAULT_CACHE_DIR))
        self.where = weights.placement(device)
        self.model, tokenizer = weights.load_causal_lm(source, self.where)
        self.inputs = tokenizer.apply_chat_template(
            PROMPT, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )

    def run(self, max_tokens: int, batch: int = 1) -> Run:
        """``batch`` copies of the prompt in one ``generate`` (one prompt, so no padding)."""
        inputs = {name: tensor.repeat(batch, 1).to(self.where.device) for name, tensor in self.inputs.items()}
        started = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
        if self.where.device.type == "cuda":
            torch.cuda.synchronize()
        new = int(out.shape[-1] - inputs["input_ids"].shape[-1])
        return Run(new * batch, time.perf_counter() - started)


def server_run(client: httpx.Client, max_tokens: int) -> Run:
    body = {
        "model": "smollm2",
        "messages": PROMPT,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter() - started
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    return Run(tokens, time.perf_counter() - started, first)


def served_at_once(base: str, max_tokens: int, streams: int) -> Run:
    """``streams`` requests sent together, each on a connection of its own."""

    def one(_: int) -> Run:
        with httpx.Client(base_url=base, timeout=600) as client:
            return server_run(client, max_tokens)

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        runs = list(pool.map(one, range(streams)))
    first = statistics.median(r.first_token or 0.0 for r in runs)
    return Run(sum(r.tokens for r in runs), time.perf_counter() - started, first)


def start_server(threads: int, device: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "STORYBANG_INFERENCE_THREADS": str(threads),
        "STORYBANG_INFERENCE_DEVICE": device,
        # Against transformers' own generate: the server on the same engine (on a CPU, "auto" would
        # pick llama.cpp for the bundled model; bench.story compares the two engines).
        "STORYBANG_INFERENCE_ENGINE": "transformers",
        "STORYBANG_INFERENCE_LOG__LEVEL": "warning",
    }
    cmd = [sys.executable, "-c", SERVE, "--model", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env)  # noqa: S603 - our own interpreter and module
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"storybang inference exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("storybang inference did not become ready in 10 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=64, help="max_new_tokens / max_tokens")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each, after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, for both")
    parser.add_argument("--device", default="auto", help='"auto" (CUDA when there is one), "cpu", "cuda"')
    parser.add_argument("--concurrency", default="", help="streams at once, e.g. 1,4,16 (default: 1; 1,4,16 on CUDA)")
    args = parser.parse_args()

    weights.convert_bundled(DEFAULT_CACHE_DIR)  # before timing anything: the first time takes a minute
    raw = Raw(args.threads, args.device)
    device = raw.where.device.type
    levels = [int(n) for n in (args.concurrency or ("1,4,16" if device == "cuda" else "1")).split(",")]
    proc, base = start_server(args.threads, str(raw.where.device))
    # Alternating runs: the load of a shared machine drifts, and must fall on both sides alike.
    raw_runs: dict[int, list[Run]] = {n: [] for n in levels}
    served: dict[int, list[Run]] = {n: [] for n in levels}
    try:
        for n in levels:
            served_at_once(base, args.tokens, n)  # warm-up, both
            raw.run(args.tokens, n)
            for _ in range(args.runs):
                served[n].append(served_at_once(base, args.tokens, n))
                raw_runs[n].append(raw.run(args.tokens, n))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    name = torch.cuda.get_device_name(raw.where.device) if device == "cuda" else f"CPU, {args.threads} thread(s)"
    print(f"SmolLM2-135M-Instruct on {name}, greedy, up to {args.tokens} new tokens, median of {args.runs} runs")
    for n in levels:
        raw_tokens, served_tokens = [r.tokens for r in raw_runs[n]], [r.tokens for r in served[n]]
        if set(raw_tokens) != set(served_tokens):
            print(f"note: token counts differ (raw {raw_tokens}, server {served_tokens})")
        raw_rate = statistics.median(r.rate for r in raw_runs[n])
        served_rate = statistics.median(r.rate for r in served[n])
        ttft = statistics.median(r.first_token or 0.0 for r in served[n])
        print(f"  {n} at once: tokens/s of all {n} together")
        print(f"    raw model.generate (a batch of {n:>2})      {raw_rate:8.1f} tokens/s")
        print(f"    storybang inference (HTTP SSE)         {served_rate:8.1f} tokens/s   first delta {ttft:.3f} s")
        print(f"    ratio server/raw                       {served_rate / raw_rate:8.2f}")


if __name__ == "__main__":
    main()
