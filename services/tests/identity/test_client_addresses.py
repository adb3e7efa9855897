"""Behind the Ingress, each person's login attempts count against their own address.

A real `storybang serve` process (uvicorn, as in a pod) on loopback, trusting one proxy address
given as a CIDR network: requests from that address are the ingress controller's, and their
X-Forwarded-For names the client; requests from any other loopback address are a client that
reaches the pod directly, whose X-Forwarded-For is its own claim and ignored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from storybang.settings import Settings
from storybang_testing.waiting import free_port
from tests.conftest import make_settings
from tests.processes import settings_env, storybang

PROXY = "127.0.0.1"


@pytest.fixture(scope="module")
def api(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("proxied")
    settings = make_settings(
        tmp,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
        limits={"login_per_address": "2/minute"},
    )
    env = settings_env(settings) | {"STORYBANG_TRUSTED_PROXIES": f"{PROXY}/32"}
    port = free_port()
    with storybang(["serve", "--domain", "identity", "--port", str(port)], env, port, tmp / "api.log") as base:
        yield base


def client(base: str, source: str) -> httpx.Client:
    """A client whose connections come from `source`, a loopback address (all of 127/8 is local)."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=source), timeout=30)


def random_address(prefix: str) -> str:
    """An address no other run shares: the limits live in the shared Redis for a minute."""
    return ".".join([prefix, *(str(secrets.randbelow(250) + 1) for _ in range(4 - prefix.count(".") - 1))])


def login(http: httpx.Client, forwarded_for: str) -> int:
    email = f"nobody-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": "not the password"}
    return http.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_clients_behind_the_trusted_proxy_have_their_own_login_limits(api: str) -> None:
    first, second = random_address("198.51"), random_address("203.0")
    with client(api, PROXY) as ingress:
        assert [login(ingress, first) for _ in range(3)] == [401, 401, 429]
        # One person's failures lock out that person's address, not everyone behind the proxy.
        assert login(ingress, second) == 401


def test_a_client_cannot_escape_its_limit_by_sending_its_own_forwarded_for(api: str) -> None:
    real = random_address("198.51")
    with client(api, PROXY) as ingress:
        assert [login(ingress, real) for _ in range(2)] == [401, 401]
        # The ingress controller appends the address it saw; whatever the client wrote before it
        # is a claim, and the limit stays with the real address.
        assert login(ingress, f"{random_address('192.0')}, {real}") == 429


def test_forwarded_for_from_an_untrusted_address_is_ignored(api: str) -> None:
    direct = random_address("127")
    with client(api, direct) as attacker:
        # A new claimed address each time: all of them count against the connection's address.
        assert [login(attacker, random_address("198.51")) for _ in range(3)] == [401, 401, 429]
