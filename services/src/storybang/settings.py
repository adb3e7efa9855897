"""One settings object per process, loaded at the entry point and validated at start.

Every value comes from the environment (prefix ``STORYBANG_``, ``__`` between nested names, e.g.
``STORYBANG_AUTH__SIGNING_KEY``) or from keyword arguments in tests. Outside ``env=dev`` the settings
refuse to start without real stores and a signing key, so a forgotten Secret fails loudly at start-up
instead of silently running on throwaway defaults.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Env = Literal["dev", "production"]


class StoreSettings(BaseModel):
    """A connection URL; empty means the embedded default (allowed in dev only)."""

    url: SecretStr | None = None


class MongoSettings(StoreSettings):
    database: str = "storybang"
    # Whether the server applies a filtered update atomically (MongoDB does; FerretDB v1 does not,
    # and then a compare-and-set takes a revision claim first). Unset: the server is asked.
    atomic_updates: bool | None = None


class AuthSettings(BaseModel):
    # A PEM-encoded Ed25519 private key. In dev one is generated and kept in the data directory.
    signing_key: SecretStr | None = None
    issuer: str = "storybang"
    audience: str = "storybang"
    # RFC 9700 advice: short-lived access tokens, long-lived rotated refresh tokens.
    access_token_ttl_seconds: int = Field(900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=3600)
    # After a rotation, the old refresh token is answered again with the same new pair for this
    # long, so that two tabs or a retried request racing to refresh never log a person out; a
    # reuse after it revokes the family. 0 turns the grace off.
    refresh_grace_seconds: int = Field(10, ge=0, le=60)
    # Image URLs in API responses (an <img> cannot send a bearer token) are signed for this long.
    image_url_ttl_seconds: int = Field(3600, ge=60, le=24 * 3600)
    require_verification: bool = True
    verification_code_ttl_seconds: int = Field(15 * 60, ge=60)
    reset_token_ttl_seconds: int = Field(30 * 60, ge=60)
    # Argon2id cost; the defaults are above OWASP's minimum (m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = Field(19 * 1024, ge=19 * 1024)
    argon2_time_cost: int = Field(2, ge=2)
    argon2_parallelism: int = Field(1, ge=1)


class MailSettings(BaseModel):
    backend: Literal["log", "smtp"] = "log"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    from_address: str = "StoryBang <no-reply@storybang.local>"


class LimitSettings(BaseModel):
    """Rate limits in the `limits` library's notation ("10/minute")."""

    login_per_account: str = "10/minute"
    login_per_address: str = "60/minute"
    codes_per_account: str = "5/15 minutes"
    register_per_address: str = "20/hour"
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Decompression bombs: an image may be small in bytes and huge in pixels.
    max_image_pixels: int = Field(40_000_000, ge=10_000)


class BackendSettings(BaseModel):
    """One model backend. ``openai``: any OpenAI-compatible server (vLLM, an external API);
    ``storybang``: `storybang inference` (OpenAI-compatible plus translations and captions);
    ``local``: the bundled model in this process; ``apertium``: offline translation."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,63}$")
    kind: Literal["openai", "storybang", "local", "apertium"] = "openai"
    base_url: str = ""
    model: str = ""
    # A model server that may be scaled to zero: while it refuses connections or answers 503, a job
    # waits up to this long for it to start (storybang.generation.warmup). 0: such a backend is down.
    cold_start_seconds: int = Field(0, ge=0, le=3600)


class GenerationSettings(BaseModel):
    # Tried in order; a backend that is down or cold falls through to the next.
    backends: list[BackendSettings] = []
    # API keys by backend name (from a Secret); never logged, never in a job.
    api_keys: dict[str, SecretStr] = {}
    max_prompt_chars: int = Field(4000, ge=100)
    max_tokens: int = Field(4096, ge=16)
    # A job that makes no progress (no token, no paragraph, no step) for this long is stuck and
    # fails; a job that keeps making progress runs on, up to the limit its work allows
    # (storybang.generation.limits).
    timeout_seconds: int = Field(120, ge=5)
    max_retries: int = Field(3, ge=0, le=10)
    # How often a worker looks for jobs whose message was lost or whose worker died.
    sweep_seconds: int = Field(60, ge=1)
    # Per-user limits: jobs in flight at once, and daily quotas (UTC days).
    max_active_jobs: int = Field(3, ge=1)
    daily_tokens: int = Field(200_000, ge=0)
    daily_images: int = Field(50, ge=0)
    # The bundled model for `local` backends and `storybang dev`, and its engine: "auto" runs a GGUF
    # model (the bundled one) on llama.cpp when no GPU is present, anything else on transformers.
    local_model: str = "smollm2"
    local_engine: Literal["auto", "llama.cpp", "transformers"] = "auto"


class WorkerSettings(BaseModel):
    concurrency: int = Field(4, ge=1, le=64)
    metrics_port: int = 9191
    # Seconds before a dead worker's unacknowledged messages go back on the queue.
    heartbeat_timeout_seconds: int = Field(60, ge=1)
    # Out of a million queue commands, how many also requeue the messages of workers whose
    # heartbeat stopped (Dramatiq's default is 1,000; a killed pod's jobs come back sooner at 10,000).
    maintenance_chance: int = Field(10_000, ge=1, le=1_000_000)
    # Dramatiq's Redis broker polls: an idle (or fully busy) consumer backs off up to this long
    # before fetching again. Each enqueue also wakes the queue's consumers at once (storybang.queue),
    # so this bounds the latency only when a wake-up is missed, and sets how often Dramatiq's
    # maintenance (requeueing a dead worker's messages) gets its chance.
    poll_max_ms: int = Field(100, ge=10, le=10_000)
    # Dramatiq's Redis key prefix: queue "story" is the list "<namespace>:story".
    queue_namespace: str = Field("dramatiq", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class NotifierSettings(BaseModel):
    # Browser origins allowed to open a socket. Empty: every origin in env=dev, the notifier's own
    # host otherwise (the web app and /socket.io behind one ingress).
    allowed_origins: list[str] = []
    # Per user: a client offline for longer than this many events, or for this long after the
    # user's last event, gets an incomplete replay and refetches its state over the API.
    stream_max_len: int = Field(1000, ge=10)
    stream_ttl_seconds: int = Field(24 * 3600, ge=60)
    # Socket.IO's long-polling transport: each poll is a request of its own, which the Ingress may
    # send to any notifier replica, and a replica knows only the sessions it opened. Off, sockets
    # are WebSockets only (one connection, one replica) and a polling request is refused with the
    # reason; on only with a single replica or sticky sessions at the proxy. `storybang dev`, one
    # process, always takes both.
    polling: bool = False


class PushSettings(BaseModel):
    """Web Push (RFC 8030/8291/8292): a finished job notifies the person's browsers."""

    # The VAPID private key (P-256): PEM, or the raw 32-byte scalar in base64url as `web-push
    # generate-vapid-keys` prints it. Empty: derived from the signing key, so every replica agrees
    # with no other Secret; set it to keep subscriptions working across a change of signing key.
    vapid_private_key: SecretStr | None = None
    # Who the push services may contact about our traffic (RFC 8292 `sub`): a mailto: or https: URL.
    vapid_subject: str = Field("mailto:admin@storybang.invalid", pattern=r"^(mailto:|https://)\S+$")
    # Outside env=dev, endpoints must be https on one of these hosts (or below them): the servers
    # POST to whatever a person subscribes, so an open list would let anyone aim them at the
    # cluster's insides. Empty: any https host.
    endpoint_hosts: list[str] = [
        "fcm.googleapis.com",
        "android.googleapis.com",
        "push.services.mozilla.com",
        "notify.windows.com",
        "push.apple.com",
    ]
    # Browsers kept per person; a new one past this drops the oldest.
    max_subscriptions: int = Field(10, ge=1, le=100)
    # How long a push service keeps a notification for a browser that is offline.
    ttl_seconds: int = Field(24 * 3600, ge=0, le=28 * 24 * 3600)
    timeout_seconds: float = Field(10, gt=0, le=60)


class WebSettings(BaseModel):
    # The built web client (index.html and assets/). None: the copy inside the installed package
    # (the image has one), else web/dist of the source checkout (`make web` builds it).
    dist_dir: Path | None = None


class PageSettings(BaseModel):
    # Pages of a person's characters each API process keeps in memory (storybang.stores.pages): at
    # most this many, the oldest dropped first (a page of 20 characters is about 13 KB); 0 keeps none
    # and reads every page from the store.
    kept: int = Field(1024, ge=0, le=1_000_000)
    # The longest a page is answered from memory, whatever its version says.
    max_age_seconds: float = Field(300, gt=0, le=3600)


class LogSettings(BaseModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] | None = None  # None: console in dev, json elsewhere
    # Each job's lines are also kept for administrators (GET /api/v1/admin/generations/{id}/logs):
    # its last this many lines, in Redis (in memory in dev), for this long after its last line.
    job_lines: int = Field(200, ge=1, le=10_000)
    job_lines_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)
    # Lines waiting to be written out per process; past it they are dropped (and counted) rather
    # than slow a job down while Redis is away.
    job_lines_buffer: int = Field(10_000, ge=100, le=1_000_000)

    def resolved_format(self, *, dev: bool) -> Literal["json", "console"]:
        return self.format or ("console" if dev else "json")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYBANG_", env_nested_delimiter="__", extra="ignore", frozen=True)

    env: Env = "production"
    data_dir: Path = Path(".storybang")
    public_url: str = "http://127.0.0.1:8000"
    mysql: StoreSettings = StoreSettings()
    mongo: MongoSettings = MongoSettings()
    redis: StoreSettings = StoreSettings()
    auth: AuthSettings = AuthSettings()
    mail: MailSettings = MailSettings()
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    pages: PageSettings = PageSettings()
    generation: GenerationSettings = GenerationSettings()
    worker: WorkerSettings = WorkerSettings()
    notifier: NotifierSettings = NotifierSettings()
    push: PushSettings = PushSettings()
    web: WebSettings = WebSettings()
    cors_origins: list[str] = []
    # Addresses whose X-Forwarded-For is believed (the ingress controller's pods), comma-separated
    # IP addresses and CIDR networks (uvicorn's forwarded_allow_ips): rate limits per client address
    # are only as good as this. Behind a proxy left out, every client shares the proxy's address;
    # a client allowed in can claim any address. "*" trusts every hop.
    trusted_proxies: str = "127.0.0.1"
    # On SIGTERM, how long requests in flight may finish before they are cut: well inside the 30 s
    # Kubernetes waits. Socket.IO long-polls would otherwise hold the exit for their whole 25 s.
    shutdown_grace_seconds: int = Field(5, ge=0, le=300)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_and_networks(cls, value: str) -> str:
        """uvicorn takes an entry that is not an address or a network (``10.0.0.1/8``, a typo) for
        a literal host name that never matches: a proxy quietly untrusted. Refuse it at start."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if entries == ["*"]:
            return "*"
        bad = []
        for entry in entries:
            try:
                ipaddress.ip_network(entry)  # strict, as uvicorn parses it: no host bits after the prefix
            except ValueError:
                bad.append(entry)
        if bad:
            raise ValueError(f"not an IP address, nor a CIDR network with its host bits zero: {', '.join(bad)}")
        return ",".join(entries)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "dev":
            return self
        missing = [
            name
            for name, value in (
                ("STORYBANG_AUTH__SIGNING_KEY", self.auth.signing_key),
                ("STORYBANG_MYSQL__URL", self.mysql.url),
                ("STORYBANG_MONGO__URL", self.mongo.url),
                ("STORYBANG_REDIS__URL", self.redis.url),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ValueError("outside env=dev these settings are required: " + ", ".join(missing))
        return self

    @property
    def sql_url(self) -> str:
        if self.mysql.url is not None and self.mysql.url.get_secret_value():
            return self.mysql.url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'storybang.db'}"

    @property
    def log_format(self) -> Literal["json", "console"]:
        return self.log.resolved_format(dev=self.env == "dev")
