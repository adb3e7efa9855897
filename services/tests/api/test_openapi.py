"""The OpenAPI document is a contract a client can be generated from: every operation lists the
problem+json answers it can give, each with the Problem schema that real answers follow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from storybang.api.problems import PROBLEM_JSON, Problem
from storybang.stores import ids
from tests.conftest import SignUp

METHODS = {"get", "put", "post", "patch", "delete"}
PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def answers(operation: dict[str, Any]) -> set[str]:
    return set(operation["responses"])


def test_the_document_has_operations_under_every_domain(document: dict[str, Any]) -> None:
    paths = {path.split("/")[3] for path, _, _ in operations(document) if path.startswith("/api/v1/")}
    assert {"auth", "users", "characters", "stories", "generations", "admin"} <= paths


def test_every_authenticated_operation_lists_401(document: dict[str, Any]) -> None:
    authenticated = [(p, m, o) for p, m, o in operations(document) if o.get("security")]
    assert len(authenticated) > 20
    missing = [f"{m.upper()} {p}" for p, m, o in authenticated if "401" not in answers(o)]
    assert missing == []


def test_every_operation_on_an_id_lists_404(document: dict[str, Any]) -> None:
    missing = [f"{m.upper()} {p}" for p, m, o in operations(document) if "{" in p and "404" not in answers(o)]
    assert missing == []


def test_every_operation_with_a_body_lists_413_and_422(document: dict[str, Any]) -> None:
    with_body = [(p, m, o) for p, m, o in operations(document) if "requestBody" in o]
    assert len(with_body) > 10
    missing = [f"{m.upper()} {p}" for p, m, o in with_body if not {"413", "422"} <= answers(o)]
    assert missing == []


def test_every_operation_with_parameters_lists_422(document: dict[str, Any]) -> None:
    missing = [
        f"{m.upper()} {p}" for p, m, o in operations(document) if o.get("parameters") and "422" not in answers(o)
    ]
    assert missing == []


def test_every_conditional_write_lists_412(document: dict[str, Any]) -> None:
    conditional = [
        (p, m, o)
        for p, m, o in operations(document)
        if any(q["in"] == "header" and q["name"].lower() == "if-match" for q in o.get("parameters", []))
    ]
    assert {f"{m.upper()} {p}" for p, m, _ in conditional} >= {
        "PATCH /api/v1/characters/{character_id}",
        "PUT /api/v1/characters/{character_id}/photo",
        "DELETE /api/v1/characters/{character_id}",
        "PATCH /api/v1/stories/{story_id}",
        "DELETE /api/v1/stories/{story_id}",
    }
    assert [f"{m.upper()} {p}" for p, m, o in conditional if "412" not in answers(o)] == []


def test_administrators_routes_list_403(document: dict[str, Any]) -> None:
    admin = [(p, m, o) for p, m, o in operations(document) if p.startswith("/api/v1/admin/")]
    assert admin
    assert [f"{m.upper()} {p}" for p, m, o in admin if "403" not in answers(o)] == []


def test_rate_limited_and_racing_operations_list_429_and_409(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/password/forgot"):
        assert "429" in paths[path]["post"]["responses"], path
    assert {"429", "503"} <= set(paths["/api/v1/generations"]["post"]["responses"])
    assert "409" in paths["/api/v1/characters/{character_id}"]["patch"]["responses"]
    assert "409" in paths["/api/v1/stories/{story_id}"]["patch"]["responses"]


def test_every_error_answer_is_a_problem(document: dict[str, Any]) -> None:
    """Every 4xx/5xx answer is application/problem+json with the Problem schema; FastAPI's own
    validation error body, which this API never sends, is gone."""
    wrong = [
        f"{m.upper()} {p} {status}"
        for p, m, o in operations(document)
        for status, answer in o["responses"].items()
        if status[0] in "45" and answer.get("content") != PROBLEM
    ]
    assert wrong == []
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in str(document)


async def test_real_problems_follow_the_documented_schema(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    answers = [
        await client.get("/api/v1/characters"),
        await client.get(f"/api/v1/characters/{ids.new_id()}", headers=me.headers),
        await client.post("/api/v1/characters", json={"name": ""}, headers=me.headers),
        await client.post("/api/v1/generations", json={"task": "poem", "input": {}}, headers=me.headers),
        await client.get("/api/v1/admin/users", headers=me.headers),
    ]
    assert [r.status_code for r in answers] == [401, 404, 422, 422, 403]
    for r in answers:
        assert r.headers["content-type"] == PROBLEM_JSON
        problem = Problem.model_validate(r.json())
        assert problem.status == r.status_code
