"""The vLLM path: tests that need a running `vllm serve` of the bundled SmolLM2.

`scripts/test-vllm.sh` (`make test-vllm`) makes .venv-vllm, starts `vllm serve` on a free port and
runs these tests with ``STORYBANG_TEST_VLLM_URL`` set to its ``/v1`` base URL. `make test` starts no
vLLM: there these modules are not collected at all (rather than skipped, so nothing reads as proven
that was not run). Asked for and unreachable, they fail.
"""

from __future__ import annotations

import os

import httpx
import pytest

VLLM_URL = "STORYBANG_TEST_VLLM_URL"
# The name `vllm serve --served-model-name` gives the bundled model in scripts/test-vllm.sh.
VLLM_MODEL = "smollm2"

collect_ignore_glob = [] if os.environ.get(VLLM_URL) else ["test_*.py"]


@pytest.fixture(scope="session")
def vllm_url() -> str:
    url = os.environ[VLLM_URL].rstrip("/")
    try:
        models = httpx.get(f"{url}/models", timeout=10).json()
    except httpx.HTTPError as e:
        pytest.fail(f"{VLLM_URL}={url} does not answer: {e}")
    served = [m["id"] for m in models["data"]]
    assert VLLM_MODEL in served, f"vLLM at {url} serves {served}, not {VLLM_MODEL}"
    return url
