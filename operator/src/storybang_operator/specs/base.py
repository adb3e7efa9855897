"""What every custom resource shares: metadata, the spec model's conventions, parsing.

The spec models are the operator's one source of defaults: a field's default here is what the
builders render when the field is absent, and `tests/test_specs.py` checks that every `default:`
of the CRDs in `crds/` says the same. The API server applies the CRD's defaults before the
operator sees a resource, so the two only meet where a section is absent (a nested default
under a missing parent) or where a body did not come from the API server (tests, tools).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from storybang_operator import errors

API_VERSION = "storybang.io/v1alpha1"


class Spec(BaseModel):
    """A part of a spec: camelCase names as in the CRD, unknown fields refused, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Ref(Spec):
    """A reference to another resource of the same namespace, by name."""

    name: str


class Resources(Spec):
    """Container requests and limits; quantities as written (`100m`, `1Gi`, `2`)."""

    requests: dict[str, int | str] | None = None
    limits: dict[str, int | str] | None = None

    def manifest(self) -> dict[str, Any]:
        """The container's `resources`: the sections given, as given."""
        return self.model_dump(exclude_none=True)


class Metadata(BaseModel):
    """The metadata the builders use; the rest of what the API server sends is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    namespace: str
    uid: str
    generation: int = 0


class Resource(BaseModel):
    """A custom resource as the API server returns it; subclasses type `kind` and `spec`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    api_version: str = API_VERSION
    kind: str
    metadata: Metadata
    # Written by the operator itself; read only for what another resource reports
    # (a Platform's Ready condition, a ModelServer's model).
    status: dict[str, Any] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace


R = TypeVar("R", bound=Resource)


def parse(body: Mapping[str, Any], model: type[R]) -> R:
    """The typed resource, or `InvalidSpec` naming every field that is wrong, by its path."""
    try:
        return model.model_validate(dict(body))
    except ValidationError as e:
        problems = "; ".join(_describe(error, model) for error in e.errors())
        raise errors.InvalidSpec(problems) from e


def _describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    path = _path(loc)
    kind = error["type"]
    if kind == "missing":
        return f"{_path(loc + _first_required(model, loc))} is required"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{path} must be one of {expected}, not {error['input']!r}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{path}: {message}" if path else message


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _first_required(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """Where a missing section is an object, the path on to its first required field, so that
    the message names what to set (`spec.datastores.mongo.secretName`, not `…mongo`)."""
    current: Any = model
    for part in loc:
        current = _field_type(current, part)
        if current is None:
            return ()
    found: tuple[str, ...] = ()
    while isinstance(current, type) and issubclass(current, BaseModel):
        required = [(n, f) for n, f in current.model_fields.items() if f.is_required()]
        if not required:
            break
        name, field = required[0]
        found += (field.alias or name,)
        current = _unwrap(field.annotation)
    return found


def _field_type(current: Any, part: int | str) -> Any:
    if isinstance(part, int):
        args = typing.get_args(current)
        return _unwrap(args[0]) if args else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, field in current.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
    return None


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


class LabelRequirement(Spec):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class LabelSelector(Spec):
    """Kubernetes' label selector (network policy peers, topology spread constraints)."""

    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelRequirement] | None = None
