"""The ``STORYBANG_*`` variables StoryBang reads, and the refusal of every other one.

pydantic-settings reads the names it knows and passes over the rest in silence, so a misspelt
variable (``STORYBANG_REDIS_URL`` for ``STORYBANG_REDIS__URL``) would leave a default in place and
the mistake would surface, if ever, as odd behaviour far from its cause. Every `storybang` process
checks its whole environment against this catalogue before it starts: a name under ``STORYBANG_``
that no part of StoryBang reads stops it with the name and the closest valid one.

The catalogue is derived from the settings classes themselves (nothing to keep in step by hand),
plus the names that other programs of the project read, listed below with their reader: these are
left to their readers, which check them.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from storybang.inference.settings import InferenceSettings
from storybang.settings import Settings

PREFIX = "STORYBANG_"
NESTED = "__"  # env_nested_delimiter of both settings classes

# Names (or, ending in "_", prefixes) under STORYBANG_ that programs other than `storybang` read.
# A container or a shell may carry them beside the services' own settings.
OTHER_READERS: Mapping[str, str] = {
    "STORYBANG_OPERATOR_": "the operator (storybang_operator.settings checks them)",
    "STORYBANG_TEST_": "the test suites (scripts/servers.sh writes them)",
    "STORYBANG_E2E_": "the end-to-end tests (tests/e2e)",
    "STORYBANG_API": "the web client's dev server (web/vite.config.ts)",
    "STORYBANG_BIN": "the web client's browser tests (web/e2e)",
    "STORYBANG_WEB_URL": "the web client's browser tests (web/e2e)",
    "STORYBANG_WEB_DATA": "the web client's browser tests (web/e2e)",
}
# Read by `storybang create-admin` as its --password option (click's envvar), not by a settings class.
OPTION_VARIABLES = ("STORYBANG_ADMIN_PASSWORD",)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """Every name `storybang` accepts: exact names, and prefixes under which any key is a name
    (a dict setting such as ``STORYBANG_GENERATION__API_KEYS__<backend>``)."""

    names: frozenset[str]
    open_prefixes: tuple[str, ...]
    other_readers: Mapping[str, str]

    def accepts(self, name: str) -> bool:
        # pydantic-settings matches names case-insensitively; so does the check.
        upper = name.upper()
        if upper in self.names or upper.startswith(self.open_prefixes):
            return True
        return any(upper == other or (other.endswith("_") and upper.startswith(other)) for other in self.other_readers)

    def closest(self, name: str) -> str | None:
        # Compared without the shared prefix, which would make every pair of names look alike.
        tails = {known.removeprefix(PREFIX): known for known in self.names}
        found = difflib.get_close_matches(name.upper().removeprefix(PREFIX), sorted(tails), n=1, cutoff=0.75)
        return tails[found[0]] if found else None


@dataclasses.dataclass(frozen=True)
class Unknown:
    name: str
    closest: str | None

    def __str__(self) -> str:
        hint = f"did you mean {self.closest}?" if self.closest else "no StoryBang setting is called that"
        return f"unknown setting {self.name}: {hint}"


class UnknownVariables(ValueError):
    """The environment holds ``STORYBANG_*`` names that nothing reads."""

    def __init__(self, unknown: list[Unknown]) -> None:
        self.unknown = unknown
        super().__init__("\n".join(map(str, unknown)))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds, through ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        models = [m for arg in typing.get_args(annotation) if (m := _model_of(arg)) is not None]
        return models[0] if len(models) == 1 else None
    return None


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict


def _walk(model: type[BaseModel], prefix: str) -> tuple[set[str], set[str]]:
    """The variable names of a settings model: each field as a whole (a nested model or a list as
    JSON), each field of a nested model after ``__``, and any key of a dict field after ``__``."""
    names: set[str] = set()
    open_prefixes: set[str] = set()
    for field, info in model.model_fields.items():
        name = prefix + field.upper()
        names.add(name)
        nested = _model_of(info.annotation)
        if nested is not None:
            inner, inner_open = _walk(nested, name + NESTED)
            names |= inner
            open_prefixes |= inner_open
        elif _is_mapping(info.annotation):
            open_prefixes.add(name + NESTED)
    return names, open_prefixes


def catalogue() -> Catalogue:
    """The names of the services' settings and of the model server's (``STORYBANG_INFERENCE_``),
    which share the prefix and often one pod: every role accepts both, and each role's settings
    class validates its own values."""
    names, open_prefixes = set(OPTION_VARIABLES), set()
    for model in (Settings, InferenceSettings):
        prefix = str(model.model_config.get("env_prefix", "")).upper()
        found, found_open = _walk(model, prefix)
        names |= found
        open_prefixes |= found_open
    return Catalogue(frozenset(names), tuple(sorted(open_prefixes)), OTHER_READERS)


def unknown(environ: Iterable[str], known: Catalogue | None = None) -> list[Unknown]:
    """The ``STORYBANG_*`` names of ``environ`` that no part of StoryBang reads, in order."""
    known = known or catalogue()
    return [
        Unknown(name, known.closest(name))
        for name in sorted(environ)
        if name.upper().startswith(PREFIX) and not known.accepts(name)
    ]


def refuse_unknown(environ: Iterable[str]) -> None:
    """Raise :class:`UnknownVariables` when ``environ`` holds a name StoryBang does not read."""
    found = unknown(environ)
    if found:
        raise UnknownVariables(found)
