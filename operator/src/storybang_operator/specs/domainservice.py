"""The DomainService's spec: which domain, how many pods, their resources and disruption budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from storybang_operator.specs.base import Ref, Resource, Resources, Spec

Domain = Literal["identity", "characters", "stories", "generation", "notifier", "web"]


class Autoscaling(Spec):
    min_replicas: int = 2
    max_replicas: int = 10
    target_cpu_utilization_percentage: int = Field(70, alias="targetCPUUtilizationPercentage")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self


class DisruptionBudget(Spec):
    enabled: bool = True
    min_available: int | str | None = None
    max_unavailable: int | str | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> DisruptionBudget:
        if self.min_available is not None and self.max_unavailable is not None:
            raise ValueError("set minAvailable or maxUnavailable, not both")
        return self


class DomainServiceSpec(Spec):
    platform_ref: Ref
    domain: Domain
    image: str | None = None
    replicas: int = 2
    autoscaling: Autoscaling | None = None
    resources: Resources = Resources(requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "512Mi"})
    pod_disruption_budget: DisruptionBudget = DisruptionBudget()


class DomainService(Resource):
    kind: Literal["DomainService"] = "DomainService"
    spec: DomainServiceSpec
