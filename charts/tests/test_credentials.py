"""Credentials under GitOps: the bundled datastores' passwords given as existing Secrets, and
`secrets.generate=false`, which makes `helm template` (Argo CD, Flux) render the same manifests
every time instead of new passwords."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import (
    CHART,
    FULLNAME,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    Manifest,
    Render,
    RenderError,
    by_kind,
    helm_binary,
)

# Every credential given as a Secret the platform team creates (Sealed Secrets, External Secrets,
# SOPS): what the chart README's GitOps section sets.
GITOPS = {
    "secrets.generate": False,
    "redis.auth.existingSecret": "queue-credentials",
    "mysql.auth.existingSecret": "mariadb-credentials",
    "mongodb.auth.existingSecret": "mongodb-credentials",
    "platform.auth.signingKey.existingSecret": "signing-key",
}


def env_secrets(statefulset: Manifest) -> dict[str, tuple[str, str]]:
    """name -> (Secret, key) of the container's variables read from Secrets."""
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def helm_template(values: dict[str, object]) -> str:
    """The raw output of `helm template` (not cached, unlike the `render` fixture)."""
    cmd = [helm_binary(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for key, value in values.items():
        cmd += ["--set-json", f"{key}={json.dumps(value)}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


def test_bundled_stores_read_their_passwords_from_existing_secrets(render: Render) -> None:
    manifests = render(GITOPS)
    assert not by_kind(manifests, "Secret")
    statefulsets = {s["metadata"]["name"]: s for s in by_kind(manifests, "StatefulSet")}
    assert env_secrets(statefulsets[f"{FULLNAME}-redis"]) == {
        "REDIS_PASSWORD": ("queue-credentials", "password"),
        "REDISCLI_AUTH": ("queue-credentials", "password"),
    }
    assert env_secrets(statefulsets[f"{FULLNAME}-mysql"]) == {
        "MARIADB_ROOT_PASSWORD": ("mariadb-credentials", "mariadb-root-password"),
        "MARIADB_PASSWORD": ("mariadb-credentials", "mariadb-password"),
    }
    assert env_secrets(statefulsets[f"{FULLNAME}-mongodb"]) == {
        "MONGO_INITDB_ROOT_PASSWORD": ("mongodb-credentials", "mongodb-root-password"),
        "MONGO_APP_PASSWORD": ("mongodb-credentials", "mongodb-password"),
    }
    [platform] = by_kind(manifests, "Platform")
    stores = platform["spec"]["datastores"]
    assert stores["redis"]["secretName"] == "queue-credentials"
    assert (stores["redis"]["urlKey"], stores["redis"]["addressKey"], stores["redis"]["passwordKey"]) == (
        "url",
        "address",
        "password",
    )
    assert stores["mysql"] == {"secretName": "mariadb-credentials", "urlKey": "url"}
    assert stores["mongo"] == {"secretName": "mongodb-credentials", "urlKey": "url"}
    assert platform["spec"]["auth"]["signingKeySecretName"] == "signing-key"


def test_one_existing_secret_replaces_only_its_own_store_s_secret(render: Render) -> None:
    manifests = render({"mysql.auth.existingSecret": "mariadb-credentials"})
    names = {s["metadata"]["name"] for s in by_kind(manifests, "Secret")}
    assert names == {f"{FULLNAME}-redis", f"{FULLNAME}-mongodb", f"{FULLNAME}-signing-key"}


def test_the_gitops_configuration_renders_byte_identical_twice() -> None:
    first = helm_template(GITOPS)
    assert "kind: Platform" in first
    assert helm_template(GITOPS) == first


def test_generated_credentials_differ_between_renders_which_is_why_gitops_turns_them_off() -> None:
    """The default under `helm template`: nothing to read back, so every render is new."""
    assert helm_template({}) != helm_template({})


@pytest.mark.parametrize("missing", sorted(k for k in GITOPS if k != "secrets.generate"))
def test_without_generation_a_missing_credential_fails_the_render_naming_it(render: Render, missing: str) -> None:
    values = {k: v for k, v in GITOPS.items() if k != missing}
    with pytest.raises(RenderError, match=f"secrets.generate=false.*set {missing.replace('.', '[.]')}"):
        render(values)


def test_without_generation_given_passwords_are_still_used(render: Render) -> None:
    """A password in values is the same at every render: allowed, though a Secret keeps it out of Git."""
    values = {k: v for k, v in GITOPS.items() if k != "redis.auth.existingSecret"} | {"redis.auth.password": "r3dis"}
    [redis] = [s for s in by_kind(render(values), "Secret") if s["metadata"]["name"] == f"{FULLNAME}-redis"]
    assert redis["stringData"]["password"] == "r3dis"


@pytest.mark.parametrize("store", ["redis", "mysql", "mongodb"])
def test_a_password_and_an_existing_secret_for_one_store_are_refused(render: Render, store: str) -> None:
    with pytest.raises(RenderError, match=f"{store}.auth.password and {store}.auth.existingSecret"):
        render({f"{store}.auth.existingSecret": "given", f"{store}.auth.password": "pw"})
