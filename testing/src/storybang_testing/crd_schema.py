"""What the API server does with a custom resource, without an API server: structural defaults,
the OpenAPI schema (jsonschema), pruning of unknown fields and the CEL `x-kubernetes-validations`
rules (cel-python)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import celpy
import jsonschema
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError


def openapi(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def apply_defaults(schema: dict[str, Any], value: Any) -> None:
    """Fill in `default`s the way the API server does: for absent properties, then recursively,
    also inside the defaults just added."""
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for item in value.values():
                apply_defaults(extra, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """A defaulted copy of `value`."""
    value = copy.deepcopy(value)
    apply_defaults(schema, value)
    return value


def validate(schema: dict[str, Any], value: Any) -> list[str]:
    """JSON-schema errors of `value`; OpenAPI's x-kubernetes-* keywords are ignored."""
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


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
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                yield from _rules(extra, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _rules(schema["items"], item, f"{path}[{i}]")


def cel_errors(schema: dict[str, Any], value: Any, old: Any = None) -> list[str]:
    """Messages of the CEL rules `value` breaks. Transition rules (those reading oldSelf) run only
    when `old` is given, as on an update."""
    env = celpy.Environment()
    broken = []
    old_rules = {path: v for path, _, _, v in _rules(schema, old, "")} if old is not None else {}
    for path, rule, message, node in _rules(schema, value, ""):
        activation = {"self": json_to_cel(node)}
        if "oldSelf" in rule:
            if path not in old_rules:
                continue
            activation["oldSelf"] = json_to_cel(old_rules[path])
        try:
            result = env.program(env.compile(rule)).evaluate(activation)
        except CELEvalError as e:  # e.g. a missing field: the API server refuses too
            broken.append(f"{path or '.'}: {message} ({e.args[0]})")
            continue
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            broken.append(f"{path or '.'}: {message}")
    return broken


def errors(crd: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    """Everything the API server would refuse, or silently change, about `resource` on create
    (an unknown field it would silently drop is reported as an error: it is a bug where it is)."""
    schema = openapi(crd)
    value = with_defaults(schema, resource)
    pruning = [f"{field}: unknown field, pruned by the API server" for field in pruned(schema, resource)]
    return validate(schema, value) + pruning + cel_errors(schema, value)
