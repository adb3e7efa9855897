"""The ModelServer's spec: the engine, the model (or a vLLM profile), GPUs, placement and
scheduling, autoscaling and the model cache."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from storybang_operator.specs.base import LabelSelector, Ref, Resource, Resources, Spec


class TokenRef(Spec):
    name: str
    key: str = "token"


class HuggingFace(Spec):
    id: str
    revision: str | None = None
    token_secret_ref: TokenRef | None = None


class Pvc(Spec):
    claim_name: str
    path: str = ""

    @model_validator(mode="after")
    def _inside(self) -> Pvc:
        if ".." in self.path.strip("/").split("/"):
            raise ValueError("path must stay inside the volume")
        return self


class Bundled(Spec):
    name: str


class Model(Spec):
    """Exactly one source; the served name defaults to the profile's or the source's last part."""

    served_name: str | None = None
    hugging_face: HuggingFace | None = None
    pvc: Pvc | None = None
    bundled: Bundled | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Model:
        if sum(s is not None for s in (self.hugging_face, self.pvc, self.bundled)) != 1:
            raise ValueError("a model has exactly one source of huggingFace, pvc and bundled")
        return self


class EnvVar(Spec):
    name: str
    value: str = ""


class Gpu(Spec):
    # None: the profile's count (0 without a profile).
    count: int | None = None
    resource_name: str = "nvidia.com/gpu"


class Toleration(Spec):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class Autoscaling(Spec):
    min_replicas: int = 1
    max_replicas: int = 2
    target_waiting_requests: int = 5
    target_cpu_utilization_percentage: int = Field(80, alias="targetCPUUtilizationPercentage")
    prometheus_address: str | None = None
    # With minReplicas 0: how long the Generators' queues stay empty before the last replica stops.
    scale_to_zero_after_seconds: int = Field(300, ge=0, le=86400)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self


class Cache(Spec):
    enabled: bool = True
    # shared: one claim for every pod; perPod: a generic ephemeral volume per pod.
    mode: Literal["shared", "perPod"] = "shared"
    delete_with_server: bool = False
    size: int | str = "20Gi"
    storage_class_name: str | None = None
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"] = "ReadWriteOnce"

    @property
    def single_node_claim(self) -> bool:
        """Whether every pod mounts one claim that only one node (or pod) may mount at a time."""
        return self.enabled and self.mode == "shared" and self.access_mode != "ReadWriteMany"


class TopologySpreadConstraint(Spec):
    max_skew: int
    topology_key: str
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    # None: the server's own pods.
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: Literal["Honor", "Ignore"] | None = None
    node_taints_policy: Literal["Honor", "Ignore"] | None = None
    match_label_keys: list[str] | None = None


# Label and annotation prefixes of the operator's own: a pod label under them could clash with
# the Deployment's selector or the labels pruning and the dashboards rely on.
RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/", "storybang.io/")
RESERVED_ANNOTATION_PREFIXES = ("storybang.io/",)


class ModelServerSpec(Spec):
    engine: Literal["vllm", "transformers"]
    profile: str | None = None
    model: Model | None = None
    image: str | None = None
    platform_ref: Ref | None = None
    args: list[str] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    replicas: int = 1
    gpu: Gpu = Gpu()
    # None: the profile's, else the operator's defaults for a CPU server.
    resources: Resources | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    # A core/v1 Affinity, passed through as given (the API server checks it on apply).
    affinity: dict[str, Any] | None = None
    priority_class_name: str | None = None
    runtime_class_name: str | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] = Field(default_factory=list)
    # None: 2Gi for vllm, no /dev/shm volume for transformers.
    shared_memory_size: int | str | None = None
    pod_labels: dict[str, str] = Field(default_factory=dict)
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    autoscaling: Autoscaling | None = None
    cache: Cache = Cache()

    @property
    def most_replicas(self) -> int:
        """The most pods the server may run at once (the autoscaler's bound when it has one)."""
        return self.autoscaling.max_replicas if self.autoscaling is not None else self.replicas

    @model_validator(mode="after")
    def _engine_fits(self) -> ModelServerSpec:
        if self.profile and self.engine != "vllm":
            raise ValueError("profiles are vLLM profiles; engine must be vllm")
        if self.model is None and not self.profile:
            raise ValueError(
                "a vllm model server needs a profile or a model"
                if self.engine == "vllm"
                else "a transformers model server needs a model"
            )
        if self.model is not None and self.model.bundled and self.engine != "transformers":
            raise ValueError("a bundled model is served by the transformers engine only")
        if self.engine == "transformers" and not self.image and self.platform_ref is None:
            raise ValueError("a transformers model server needs an image or a platformRef")
        return self

    @model_validator(mode="after")
    def _cache_fits_the_replicas(self) -> ModelServerSpec:
        if self.cache.single_node_claim and self.most_replicas > 1:
            raise ValueError(
                "more than one replica cannot share a ReadWriteOnce or ReadWriteOncePod cache: set "
                "cache.accessMode ReadWriteMany, or cache.mode perPod (a claim per pod)"
            )
        return self

    @model_validator(mode="after")
    def _own_prefixes(self) -> ModelServerSpec:
        if any(k.startswith(RESERVED_LABEL_PREFIXES) for k in self.pod_labels):
            raise ValueError("podLabels may not use the app.kubernetes.io/ and storybang.io/ prefixes")
        if any(k.startswith(RESERVED_ANNOTATION_PREFIXES) for k in self.pod_annotations):
            raise ValueError("podAnnotations may not use the storybang.io/ prefix")
        return self


class ModelServer(Resource):
    kind: Literal["ModelServer"] = "ModelServer"
    spec: ModelServerSpec
