"""Shared fixtures: the repository's CRDs, example manifests and profiles, and resource bodies
shaped as the API server returns them (defaults applied, uid, namespace, generation)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from storybang_operator import profiles
from storybang_testing import crd_schema as schema

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
MANIFESTS = REPO / "manifests"
PROFILES = REPO / "inference" / "vllm"
NAMESPACE = "stories"

# The cluster tests need a running cluster and fail without one; `pytest` of the unit tests leaves
# them out, and scripts/e2e.sh runs them by path (`pytest operator/tests/cluster`), with a cluster.
collect_ignore = ["cluster"]


def load_crds() -> dict[str, dict[str, Any]]:
    """CRDs by kind."""
    crds = [yaml.safe_load(p.read_text()) for p in sorted(CRDS.glob("*.yaml"))]
    return {crd["spec"]["names"]["kind"]: crd for crd in crds}


def load_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every document of manifests/*.yaml, with the file it came from."""
    return [
        (f"{p.name}:{doc['metadata']['name']}", doc)
        for p in sorted(MANIFESTS.glob("*.yaml"))
        for doc in yaml.safe_load_all(p.read_text())
        if doc
    ]


def examples_by_name() -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in load_examples()}


@pytest.fixture(scope="session")
def crds() -> dict[str, dict[str, Any]]:
    return load_crds()


@pytest.fixture
def live(crds: dict[str, dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Turn an example (or any resource) into what the operator receives: defaults applied by
    the CRD schema, and the metadata the API server adds."""
    counter = iter(range(1, 1_000_000))

    def make(resource: dict[str, Any], **status: Any) -> dict[str, Any]:
        body = copy.deepcopy(resource)
        schema.apply_defaults(schema.openapi(crds[body["kind"]]), body)
        number = next(counter)
        body["metadata"] |= {
            "namespace": NAMESPACE,
            "uid": f"00000000-0000-0000-0000-{number:012d}",
            "generation": 1,
        }
        if status:
            body["status"] = status
        return body

    return make


@pytest.fixture
def example(live: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """An example of manifests/ by kind and name, as the operator receives it."""
    found = examples_by_name()

    def get(kind: str, name: str, **status: Any) -> dict[str, Any]:
        return live(found[(kind, name)], **status)

    return get


@pytest.fixture(scope="session")
def llama_profile() -> profiles.Profile:
    return profiles.load(PROFILES, "llama-3.1-8b-instruct")
