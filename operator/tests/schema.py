"""Test helpers that do what the API server does with a CRD's schema, without an API server:
apply structural defaults, validate against the OpenAPI schema (jsonschema) and evaluate the CEL
`x-kubernetes-validations` rules (cel-python)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import celpy
import jsonschema


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


def validate(schema: dict[str, Any], value: Any) -> list[str]:
    """JSON-schema errors of `value`; OpenAPI's x-kubernetes-* keywords are ignored."""
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)
    ]


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
        activation = {"self": celpy.json_to_cel(node)}
        if "oldSelf" in rule:
            if path not in old_rules:
                continue
            activation["oldSelf"] = celpy.json_to_cel(old_rules[path])
        try:
            result = env.program(env.compile(rule)).evaluate(activation)
        except celpy.CELEvalError as e:  # e.g. a missing field: the API server refuses too
            broken.append(f"{path or '.'}: {message} ({e.args[0]})")
            continue
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            broken.append(f"{path or '.'}: {message}")
    return broken
