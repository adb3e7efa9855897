"""Query parameters read as one pydantic model in one step, for the API's most frequent reads.

FastAPI validates each declared query parameter on its own, at a cost per parameter per request
that is larger than the rest of a cached read (bench/api.py). A route that takes the request and
reads ``queries.read(request, Model)`` validates the whole query string with the model at once
(and spares FastAPI a dependency to resolve), and documents the same parameters
(:func:`parameters`, for ``openapi_extra``), so clients and ``web/src/api/schema.d.ts`` see no
difference. Invalid values are the same 422 as FastAPI's.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read(request: Request, model: type[M]) -> M:
    """The request's query string as ``model`` (unknown parameters are ignored)."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as e:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in e.errors(include_url=False)]
        ) from e


def parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI parameters FastAPI writes for the model's fields declared one by one."""
    schema = model.model_json_schema()
    documented = []
    for name, field in schema["properties"].items():
        field_schema = {k: v for k, v in field.items() if not (k == "default" and v is None)}
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "schema": field_schema,
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        documented.append(parameter)
    return documented
