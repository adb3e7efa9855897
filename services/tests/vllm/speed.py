"""Tokens per second of vLLM-CPU against `storybang inference`, on the same SmolLM2 and the same CPU.

    python -m tests.vllm.speed --vllm http://127.0.0.1:PORT/v1 [--inference URL] [--requests 3]

Run from ``services/`` with .venv-inference (`scripts/test-vllm.sh` does so, against the vLLM it
started). Without ``--inference`` it starts `storybang inference` itself, on a free port, with
``STORYBANG_INFERENCE_THREADS`` torch threads (default 1). One, because vLLM's CPU worker computes
on one core (its OpenMP binding keeps the other for its API server and scheduler), so both get the
same compute; and because two OpenMP threads on a shared two-core machine slow down several times
whenever anything else runs (seen here: 18.8 tokens/s alone, 4.6 beside a vLLM that had just
answered). The two servers are never asked at the same time.

Each server answers the same story prompt with greedy decoding (temperature 0), streamed as the
story worker streams; tokens are the server's own count (``usage.completion_tokens``). Reported:
one request at a time (a single reader), and the same requests all at once (vLLM batches them;
`storybang inference` serves one at a time by design).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from storybang_testing.waiting import free_port
from tests.processes import storybang

PROMPT = "Write a children's story of five paragraphs about Pip the fox, who finds a lost kite."
MAX_TOKENS = 256


@dataclass
class Run:
    tokens: int
    seconds: float
    first_token_seconds: float

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


async def one(http: httpx.AsyncClient, model: str) -> Run:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first = 0.0
    tokens = 0
    async with http.stream("POST", "chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                continue
            chunk = json.loads(line[5:])
            if not first and any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                first = time.perf_counter() - start
            if chunk.get("usage"):
                tokens = int(chunk["usage"]["completion_tokens"])
    return Run(tokens, time.perf_counter() - start, first)


def total(runs: list[Run], seconds: float | None = None) -> Run:
    """Tokens summed over ``runs``, over ``seconds`` of wall time (else their own times added)."""
    return Run(
        sum(r.tokens for r in runs),
        seconds if seconds is not None else sum(r.seconds for r in runs),
        sum(r.first_token_seconds for r in runs) / len(runs),
    )


async def measure(servers: dict[str, tuple[str, str]], requests: int) -> dict[str, tuple[Run, Run]]:
    """Per server (name: (base URL, model)): (one at a time, all at once).

    The one-at-a-time requests take turns between the servers, so a burst of other work on a
    shared machine slows both rather than whichever happened to be measured then.
    """
    clients = {
        name: (httpx.AsyncClient(base_url=url.rstrip("/") + "/", timeout=600), model)
        for name, (url, model) in servers.items()
    }
    try:
        for http, model in clients.values():
            await one(http, model)  # warm-up: first-call allocations and compilation are not the steady state
        serial: dict[str, list[Run]] = {name: [] for name in clients}
        for _ in range(requests):
            for name, (http, model) in clients.items():
                serial[name].append(await one(http, model))
        results = {}
        for name, (http, model) in clients.items():
            start = time.perf_counter()
            together = await asyncio.gather(*(one(http, model) for _ in range(requests)))
            results[name] = (total(serial[name]), total(list(together), time.perf_counter() - start))
    finally:
        for http, _ in clients.values():
            await http.aclose()
    return results


def report(results: dict[str, tuple[Run, Run]], requests: int) -> None:
    print(f"\nSmolLM2-135M-Instruct on {os.cpu_count()} CPUs, {MAX_TOKENS} max tokens, greedy, streamed")
    print(f"{'server':<22}{'mode':<16}{'tokens':>8}{'seconds':>9}{'tokens/s':>10}{'first token s':>15}")
    for server, runs in results.items():
        for mode, run in zip(("one at a time", f"{requests} at once"), runs, strict=True):
            print(
                f"{server:<22}{mode:<16}{run.tokens:>8}{run.seconds:>9.1f}{run.rate:>10.1f}"
                f"{run.first_token_seconds:>15.2f}"
            )
    names = list(results)
    if len(names) == 2:
        a, b = (results[n] for n in names)
        print(
            f"{names[0]} / {names[1]}: {a[0].rate / b[0].rate:.2f}x one at a time, "
            f"{a[1].rate / b[1].rate:.2f}x {requests} at once"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vllm", required=True, help="vLLM's base URL, ending in /v1")
    parser.add_argument("--vllm-model", default="smollm2")
    parser.add_argument("--inference", help="a running `storybang inference` (/v1); else one is started")
    parser.add_argument("--requests", type=int, default=3)
    args = parser.parse_args()

    servers = {"vllm-cpu": (args.vllm, args.vllm_model)}
    if args.inference:
        servers["storybang inference"] = (args.inference, "smollm2")
        report(asyncio.run(measure(servers, args.requests)), args.requests)
        return
    port = free_port()
    threads = os.environ.get("STORYBANG_INFERENCE_THREADS", "1")
    with (
        tempfile.TemporaryDirectory() as tmp,
        storybang(
            ["inference", "--port", str(port)],
            {"STORYBANG_INFERENCE_THREADS": threads},
            port,
            Path(tmp) / "inference.log",
            timeout=600,
            ready="/readyz",
        ) as base,
    ):
        servers[f"storybang inference/{threads}"] = (base + "/v1", "smollm2")
        results = asyncio.run(measure(servers, args.requests))
    report(results, args.requests)


if __name__ == "__main__":
    main()
