"""What the API server does with a custom resource, without an API server: structural defaults,
the OpenAPI schema (jsonschema), pruning of unknown fields (reported here as errors: a field the
server would silently drop is a bug in the chart) and the CEL rules (cel-python)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import celpy
import jsonschema


def openapi(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    value = copy.deepcopy(value)
    _default(schema, value)
    return value


def _default(schema: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _default(sub, value[key])
        if isinstance(schema.get("additionalProperties"), dict):
            for item in value.values():
                _default(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(schema["items"], item)


def pruned(schema: dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
    """Fields the API server would drop: not in `properties`, where nothing else allows them."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if path == "" and key in ("apiVersion", "kind", "metadata"):
                continue  # metadata is the API server's, not the CRD schema's
            if key in props:
                yield from pruned(props[key], item, f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from pruned(extra, item, f"{path}.{key}")
            elif extra is not True:
                yield f"{path}.{key}"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from pruned(schema["items"], item, f"{path}[{i}]")


def _rules(schema: dict[str, Any], value: Any, path: str) -> Iterator[tuple[str, str, str, Any]]:
    for rule in schema.get("x-kubernetes-validations", []):
        yield path, rule["rule"], rule.get("message", rule["rule"]), value
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                yield from _rules(sub, value[key], f"{path}.{key}")
        if isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                yield from _rules(schema["additionalProperties"], item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _rules(schema["items"], item, f"{path}[{i}]")


def errors(crd: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    """Everything the API server would refuse, or silently change, about `resource` on create."""
    schema = openapi(crd)
    value = with_defaults(schema, resource)
    out = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(value)
    ]
    out += [f"{field}: unknown field, pruned by the API server" for field in pruned(schema, resource)]
    env = celpy.Environment()
    for path, rule, message, node in _rules(schema, value, ""):
        if "oldSelf" in rule:
            continue  # transition rules run on updates only
        result = env.program(env.compile(rule)).evaluate({"self": celpy.json_to_cel(node)})
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            out.append(f"{path or '.'}: {message}")
    return out
