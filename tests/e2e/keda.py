"""KEDA as a cluster administrator installs it, minus what nothing here could use: its own
CustomResourceDefinitions (with their full schemas, from the KEDA module pinned in tools/keda) and
its admission webhooks (bin/keda-webhooks, built from the same module), run out of the cluster
and registered by URL with KEDA's own ValidatingWebhookConfiguration. KEDA's operator and metrics
server are left out: without a metrics pipeline they would scale nothing, and the tests play their
part (scaling a Deployment by hand).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from kube import BIN, REPO, Cluster, eventually_gone
from storybang_testing.kube import eventually
from storybang_testing.waiting import free_port

WEBHOOKS = BIN / "keda-webhooks"
WEBHOOK_CONFIGURATION = "keda-admission"


def crd_dir() -> Path:
    """config/crd/bases of the pinned KEDA module (downloaded into Go's module cache once)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "keda.sh"), "crds"], capture_output=True, text=True, check=True, timeout=300
    )
    return Path(done.stdout.strip())


def crds() -> list[dict[str, Any]]:
    """KEDA's CRDs of the keda.sh group (ScaledObject, ScaledJob, TriggerAuthentication and
    ClusterTriggerAuthentication): what its webhooks watch."""
    docs = []
    for path in sorted(crd_dir().glob("keda.sh_*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


@contextlib.contextmanager
def installed_crds(cluster: Cluster) -> Iterator[list[str]]:
    names = []
    try:
        for crd in crds():
            cluster.extensions.create_custom_resource_definition(crd)
            names.append(crd["metadata"]["name"])
        for name in names:
            eventually(lambda name=name: _established(cluster, name), timeout=60)
        # Each kind's storage answers a list before the tests start: a CRD deleted while its storage
        # is still initializing can stay "being deleted" for minutes ("storage is (re)initializing").
        for crd in crds():
            eventually(lambda crd=crd: _lists(cluster, crd), timeout=60)
        yield names
    finally:
        for name in names:
            cluster.extensions.delete_custom_resource_definition(name)
        for name in names:
            # The API server deletes a CRD once it has deleted every resource of its kind: a minute or more
            # on a busy machine.
            eventually_gone(lambda name=name: cluster.extensions.read_custom_resource_definition(name), timeout=180)


def _lists(cluster: Cluster, crd: dict[str, Any]) -> bool:
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("served", True))
    try:
        cluster.custom.list_cluster_custom_object(spec["group"], version, spec["names"]["plural"])
    except kubernetes.client.ApiException:
        return False
    return True


def _established(cluster: Cluster, name: str) -> bool:
    """A CRD's Established condition (`kubectl wait` fails on one whose status is not written yet)."""
    crd = cluster.extensions.read_custom_resource_definition(name)
    conditions = (crd.status.conditions if crd.status else None) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def _certificate(directory: Path) -> bytes:
    """A self-signed serving certificate for 127.0.0.1 (tls.crt, tls.key: the names the webhook
    server reads); its PEM, which is also the CA bundle the API server trusts it with."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "1", "-subj", "/CN=keda-admission-webhooks", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt"),
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return (directory / "tls.crt").read_bytes()


def _configuration(port: int, ca: bytes) -> dict[str, Any]:
    """KEDA's own ValidatingWebhookConfiguration, its Service references turned into URLs."""
    path = crd_dir().parent.parent / "webhooks" / "validation_webhooks.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    for hook in config["webhooks"]:
        service = hook["clientConfig"].pop("service")
        hook["clientConfig"] = {
            "url": f"https://127.0.0.1:{port}{service['path']}",
            "caBundle": base64.b64encode(ca).decode(),
        }
    config["metadata"]["name"] = WEBHOOK_CONFIGURATION
    return config


@contextlib.contextmanager
def webhooks(cluster: Cluster, work: Path) -> Iterator[subprocess.Popen[bytes]]:
    """KEDA's admission webhooks, serving and registered; the CRDs must be installed first."""
    if not WEBHOOKS.exists():
        raise AssertionError("bin/keda-webhooks is missing: run scripts/keda.sh build")
    ca = _certificate(work)
    port, health = free_port(), free_port()
    log = (work / "keda-webhooks.log").open("ab")
    process = subprocess.Popen(
        [
            str(WEBHOOKS),
            f"--kubeconfig={cluster.kubeconfig}",
            f"--cert-dir={work}",
            f"--port={port}",
            "--metrics-bind-address=0",
            f"--health-probe-bind-address=127.0.0.1:{health}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    admission = kubernetes.client.AdmissionregistrationV1Api(cluster.api)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"keda-webhooks exited:\n{(work / 'keda-webhooks.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/readyz", timeout=2) as answer:
                    return bool(answer.status == 200)
            except OSError:
                return False

        eventually(ready, timeout=60)
        admission.create_validating_webhook_configuration(_configuration(port, ca))
        yield process
    finally:
        with contextlib.suppress(kubernetes.client.ApiException):
            admission.delete_validating_webhook_configuration(WEBHOOK_CONFIGURATION)
        process.terminate()
        process.wait(timeout=30)
        log.close()
