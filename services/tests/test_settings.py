"""Settings refuse unsafe defaults outside dev, and read nested values from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from storybang.settings import Settings


def test_production_refuses_to_start_without_a_signing_key_or_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STORYBANG_ENV", "STORYBANG_AUTH__SIGNING_KEY", "STORYBANG_MYSQL__URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as e:
        Settings()
    message = str(e.value)
    for name in ("STORYBANG_AUTH__SIGNING_KEY", "STORYBANG_MYSQL__URL", "STORYBANG_MONGO__URL", "STORYBANG_REDIS__URL"):
        assert name in message


def test_dev_runs_on_embedded_defaults(tmp_path: object) -> None:
    settings = Settings(env="dev", data_dir=tmp_path)
    assert settings.sql_url.startswith("sqlite+aiosqlite:///")
    assert settings.log_format == "console"


def test_nested_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBANG_ENV", "dev")
    monkeypatch.setenv("STORYBANG_AUTH__ACCESS_TOKEN_TTL_SECONDS", "300")
    monkeypatch.setenv("STORYBANG_LIMITS__LOGIN_PER_ACCOUNT", "3/minute")
    settings = Settings()
    assert settings.auth.access_token_ttl_seconds == 300
    assert settings.limits.login_per_account == "3/minute"


def test_weak_argon2_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="argon2_memory_kib"):
        Settings(env="dev", auth={"argon2_memory_kib": 1024})


def test_secrets_do_not_show_in_repr() -> None:
    settings = Settings(env="dev", mysql={"url": "mysql+asyncmy://u:hunter2@db/x"}, auth={"signing_key": "PEM"})
    assert "hunter2" not in repr(settings) and "PEM" not in repr(settings)


def test_trusted_proxies_take_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBANG_TRUSTED_PROXIES", " 10.244.0.0/16, 127.0.0.1 ,fd00::/8")
    assert Settings(env="dev").trusted_proxies == "10.244.0.0/16,127.0.0.1,fd00::/8"


@pytest.mark.parametrize("value", ["10.244.0.1/16", "ingress-nginx", "10.0.0.0/33", "10.0.0.0/8,*"])
def test_a_trusted_proxy_uvicorn_would_never_match_is_refused(value: str) -> None:
    """uvicorn reads such an entry as a host name that no client address equals: the proxy would
    be quietly untrusted and every client would share its address."""
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(env="dev", trusted_proxies=value)
