"""Typed specs of the custom resources, one model per kind, parsed once per reconcile pass.

The models hold the operator's only copy of the CRDs' defaults (see `base.py`); the builders
read typed fields and never fall back to a literal of their own.
"""

from storybang_operator.specs.base import Resource as Resource
from storybang_operator.specs.base import parse as parse
from storybang_operator.specs.domainservice import DomainService as DomainService
from storybang_operator.specs.generator import Generator as Generator
from storybang_operator.specs.modelserver import ModelServer as ModelServer
from storybang_operator.specs.platform import Platform as Platform

KINDS: dict[str, type[Resource]] = {
    "Platform": Platform,
    "DomainService": DomainService,
    "Generator": Generator,
    "ModelServer": ModelServer,
}
