"""Resources as a reconcile pass hands them to the builders: parsed into their typed specs. The
tests change plain bodies (as a person edits YAML) and parse them just before rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storybang_operator import specs


def platform(body: Mapping[str, Any]) -> specs.Platform:
    return specs.parse(body, specs.Platform)


def domain_service(body: Mapping[str, Any]) -> specs.DomainService:
    return specs.parse(body, specs.DomainService)


def generator(body: Mapping[str, Any]) -> specs.Generator:
    return specs.parse(body, specs.Generator)


def model_server(body: Mapping[str, Any]) -> specs.ModelServer:
    return specs.parse(body, specs.ModelServer)
