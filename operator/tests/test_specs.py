"""The typed specs agree with the CRDs: the same fields, the same required ones and the same
defaults (the models are the operator's only copy of them), and a spec the models refuse is an
`InvalidSpec` that names each wrong field by its path."""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from storybang_operator import errors, specs
from tests.conftest import examples_by_name, load_crds, schema

KINDS = sorted(specs.KINDS)
Field = tuple[str, dict[str, Any], FieldInfo]


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X; `list[X]` → X: the model a CRD node's properties belong to, if any."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _spec(kind: str) -> tuple[dict[str, Any], type[BaseModel]]:
    node = schema.openapi(load_crds()[kind])["properties"]["spec"]
    return node, specs.KINDS[kind].model_fields["spec"].annotation  # type: ignore[return-value]


def _fields(node: dict[str, Any], model: type[BaseModel], path: str = "spec") -> Iterator[Field]:
    """Every field of the model beside the CRD node that describes it, depth first."""
    by_alias = {field.alias or name: field for name, field in model.model_fields.items()}
    for key, field in by_alias.items():
        sub = node.get("properties", {}).get(key)
        if sub is None:
            continue  # reported by the coverage test
        yield f"{path}.{key}", sub, field
        inner = _unwrap(field.annotation)
        if _is_model(inner):
            yield from _fields(sub.get("items", sub), inner, f"{path}.{key}")


def _objects(node: dict[str, Any], model: type[BaseModel], path: str = "spec") -> Iterator[Any]:
    yield path, node, model
    for sub_path, sub, field in _fields(node, model, path):
        inner = _unwrap(field.annotation)
        if _is_model(inner):
            yield from _objects(sub.get("items", sub), inner, sub_path)


@pytest.mark.parametrize("kind", KINDS)
def test_the_model_has_every_field_of_the_crd_and_no_other(kind: str) -> None:
    differ = []
    for path, node, model in _objects(*_spec(kind)):
        crd = set(node.get("properties", {}))
        ours = {field.alias or name for name, field in model.model_fields.items()}
        differ += [f"{path}.{key}: only in the CRD" for key in sorted(crd - ours)]
        differ += [f"{path}.{key}: only in the model" for key in sorted(ours - crd)]
    assert differ == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_model_requires_what_the_crd_requires(kind: str) -> None:
    for path, node, model in _objects(*_spec(kind)):
        required = {f.alias or n for n, f in model.model_fields.items() if f.is_required()}
        assert required == set(node.get("required", [])), path


@pytest.mark.parametrize("kind", KINDS)
def test_every_crd_default_is_the_models(kind: str) -> None:
    """What the API server fills in for an absent field (its `default`, with the defaults below
    it applied in turn) is what the model gives that field when it is absent."""
    checked, differ = 0, []
    for path, node, field in _fields(*_spec(kind)):
        if "default" not in node:
            continue
        crd_default = copy.deepcopy(node["default"])
        schema.apply_defaults(node, crd_default)
        ours = field.get_default(call_default_factory=True)
        theirs = TypeAdapter(field.annotation).validate_python(crd_default)
        checked += 1
        if theirs != ours:
            differ.append(f"{path}: the CRD says {crd_default!r}, the model {ours!r}")
    assert differ == []
    assert checked > 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_field_without_a_crd_default_is_empty_when_absent(kind: str) -> None:
    """Where the CRD has no default, the model invents none: absent is None, empty, or an object
    made of its own (checked) defaults."""
    invented = []
    for path, node, field in _fields(*_spec(kind)):
        if "default" in node or field.is_required():
            continue
        ours = field.get_default(call_default_factory=True)
        empty = ours in (None, "", [], {}) or (isinstance(ours, BaseModel) and ours == type(ours).model_validate({}))
        if not empty:
            invented.append(f"{path}: {ours!r}")
    assert invented == []


def _body(kind: str, name: str) -> dict[str, Any]:
    body = copy.deepcopy(examples_by_name()[(kind, name)])
    body["metadata"] |= {"namespace": "stories", "uid": "u-1"}
    return body


def test_an_invalid_spec_names_each_wrong_field_by_its_path() -> None:
    body = _body("Platform", "storybang")
    body["spec"]["logLevel"] = "loud"
    del body["spec"]["datastores"]["mongo"]
    body["spec"]["settings"] = {"PATH": "/bin"}
    with pytest.raises(errors.InvalidSpec) as caught:
        specs.parse(body, specs.Platform)
    assert caught.value.reason == "InvalidSpec"
    assert caught.value.message.split("; ") == [
        "spec.logLevel must be one of 'debug', 'info', 'warning' or 'error', not 'loud'",
        "spec.datastores.mongo.secretName is required",
        "spec.settings: keys must start with STORYBANG_: PATH",
    ]


def test_a_rule_across_fields_is_reported_where_it_applies() -> None:
    body = _body("Generator", "story")
    body["spec"]["backends"][1]["modelServerRef"] = {"name": "llama-story"}
    with pytest.raises(errors.InvalidSpec) as caught:
        specs.parse(body, specs.Generator)
    assert caught.value.message == (
        "spec.backends[1]: backend xai must have exactly one of modelServerRef, external and apertium"
    )


def test_an_absent_section_takes_the_crd_defaults() -> None:
    body = _body("Generator", "story")
    del body["spec"]["limits"]
    limits = specs.parse(body, specs.Generator).spec.limits
    assert (limits.max_prompt_chars, limits.max_tokens, limits.timeout_seconds) == (4000, 4096, 120)
