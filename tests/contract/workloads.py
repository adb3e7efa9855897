"""Every StoryBang container the operator and the chart would run, rendered without a cluster.

The examples of manifests/ and the custom resources of the chart's default platform go through the
operator's pure builders, as a reconcile pass renders them (defaults from the CRDs applied, the
ModelServers' served names reported); the chart's own workloads (the operator, the migration hook)
come from `helm template`. Each container's environment is then resolved as the kubelet would:
`envFrom` ConfigMaps expanded, and a placeholder for each value read from a Secret.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from storybang_operator import profiles, specs
from storybang_operator.builders import domainservice, generator, modelplan, modelserver, platform, workerscaling
from storybang_testing import crd_schema

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "storybang"
NAMESPACE = "stories"
KUBE_VERSION = "1.34.0"  # the local control plane's (tools/cluster); the chart's kubeVersion needs one
# The operator's defaults (its settings), which the chart may override on the operator itself.
VLLM_IMAGE = "vllm/vllm-openai"
VLLM_CPU_IMAGE = "vllm-cpu"

Manifest = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Container:
    """One container of a rendered pod, with its environment resolved."""

    source: str  # the example file or chart values it came from
    workload: str  # Kind/name of the object holding the pod
    name: str
    image: str
    command: tuple[str, ...]
    env: Mapping[str, str]

    @property
    def program(self) -> str:
        """`storybang` (the services' images), `operator`, or "" for another image (vLLM, the datastores)."""
        repository = self.image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
        return {"storybang": "storybang", "storybang-inference": "storybang", "storybang-operator": "operator"}.get(
            repository, ""
        )

    @property
    def role(self) -> str:
        """`storybang serve`, `storybang worker`...: the command, whose settings the process loads."""
        return "operator" if self.program == "operator" else " ".join(self.command[:2])

    def __str__(self) -> str:
        return f"{self.source}:{self.workload}/{self.name}"


def helm() -> str:
    for candidate in (os.environ.get("HELM"), str(ROOT / "bin" / "helm"), shutil.which("helm")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("no helm binary: run `make tools` (bin/helm) or set HELM")


def render_chart(values: Mapping[str, Any]) -> list[Manifest]:
    """`helm template` of charts/storybang with dotted-path values (`--set-json`: types kept)."""
    cmd = [helm(), "template", "sb", str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for key, value in values.items():
        cmd += ["--set-json", f"{key}={json.dumps(value)}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def examples() -> list[Manifest]:
    return [
        doc for p in sorted((ROOT / "manifests").glob("*.yaml")) for doc in yaml.safe_load_all(p.read_text()) if doc
    ]


def _crd_schemas() -> dict[str, dict[str, Any]]:
    crds = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))]
    return {crd["spec"]["names"]["kind"]: crd_schema.openapi(crd) for crd in crds}


def _as_received(resources: list[Manifest]) -> list[Manifest]:
    """Custom resources as the API server hands them to the operator: defaults applied, a uid."""
    schemas = _crd_schemas()
    received = []
    for number, resource in enumerate(resources, start=1):
        body = copy.deepcopy(resource)
        crd_schema.apply_defaults(schemas[body["kind"]], body)
        body["metadata"] |= {"namespace": NAMESPACE, "uid": f"00000000-0000-0000-0000-{number:012d}", "generation": 1}
        received.append(body)
    return received


def operator_children(resources: list[Manifest]) -> list[Manifest]:
    """What the operator renders for these custom resources (the others are left out)."""
    bodies = _as_received([r for r in resources if r.get("apiVersion", "").startswith("storybang.io/")])
    of_kind = {kind: [b for b in bodies if b["kind"] == kind] for kind in ("Platform", "DomainService", "Generator")}
    platforms = {b["metadata"]["name"]: specs.parse(b, specs.Platform) for b in of_kind["Platform"]}
    services = [specs.parse(b, specs.DomainService) for b in of_kind["DomainService"]]
    children: list[Manifest] = []
    for plat in platforms.values():
        children += platform.build(plat, [ds for ds in services if ds.spec.platform_ref.name == plat.name])
    for ds in services:
        children += domainservice.build(ds, platforms[ds.spec.platform_ref.name])
    servers: dict[str, specs.ModelServer] = {}
    for body in (b for b in bodies if b["kind"] == "ModelServer"):
        ms = specs.parse(body, specs.ModelServer)
        profile = profiles.load(ROOT / "inference" / "vllm", ms.spec.profile) if ms.spec.profile else None
        owner = platforms[ms.spec.platform_ref.name] if ms.spec.platform_ref else None
        children += modelserver.build(
            ms, profile=profile, plat=owner, vllm_image=VLLM_IMAGE, vllm_cpu_image=VLLM_CPU_IMAGE, keda=False
        )
        # The Generators name the model the operator reported in the server's status.
        reported = body | {"status": {"model": modelplan.plan(ms, profile).served_name}}
        servers[ms.name] = specs.parse(reported, specs.ModelServer)
    for body in of_kind["Generator"]:
        gen = specs.parse(body, specs.Generator)
        plan = workerscaling.plan(gen, keda=True, queue_depth=None, current=None)
        children += generator.build(gen, platforms[gen.spec.platform_ref.name], servers, plan=plan)
    return children


def _pods(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for m in manifests:
        spec = m.get("spec", {})
        if m["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pod = spec.get("template", {}).get("spec")
        if pod is not None:
            yield f"{m['kind']}/{m['metadata']['name']}", pod


def _resolve(container: Manifest, configmaps: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The environment the kubelet would give the container; Secrets' values are placeholders."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" not in source:
            raise ValueError(f"cannot resolve envFrom {source}: only ConfigMaps are expected")
        prefix = source.get("prefix", "")
        env |= {prefix + k: v for k, v in configmaps[source["configMapRef"]["name"]].items()}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
            continue
        ref = var.get("valueFrom", {})
        if "secretKeyRef" in ref:
            env[var["name"]] = f"secret:{ref['secretKeyRef']['name']}/{ref['secretKeyRef']['key']}"
        elif "configMapKeyRef" in ref:
            env[var["name"]] = configmaps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
        else:
            env[var["name"]] = f"field:{ref}"
        # A value of "" is as good as a name: the process sees the variable either way.
    return env


def containers(source: str, manifests: list[Manifest]) -> list[Container]:
    """Every container (init containers too) of every pod template in `manifests`."""
    configmaps = {m["metadata"]["name"]: m.get("data", {}) for m in manifests if m["kind"] == "ConfigMap"}
    found = []
    for workload, pod in _pods(manifests):
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            command = (*c.get("command", []), *c.get("args", []))
            found.append(Container(source, workload, c["name"], c["image"], command, _resolve(c, configmaps)))
    return found


def examples_containers() -> list[Container]:
    return containers("manifests/", operator_children(examples()))


def chart_containers(name: str, values: Mapping[str, Any]) -> list[Container]:
    """The chart's own workloads and those the operator renders from the chart's custom resources."""
    rendered = render_chart(values)
    return containers(f"chart[{name}]", rendered + operator_children(rendered))
