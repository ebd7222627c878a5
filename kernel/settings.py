"""All configuration, read from the environment once.

This is the only module that touches ``os.environ``. Every process (monolith, domain
services, events service, proxy, console, worker, CLI) builds one ``Settings`` at start-up
via :func:`get_settings`; tests build their own with :func:`load_settings`.

Every variable, its default and its meaning is listed in ``FIELDS`` below; the README's
configuration table is generated from the same list (``cinemaabyss config``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from kernel.validation import parse_bool

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines of an env file (if present) so local overrides need no export."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _bool(value: str) -> bool:
    # an empty variable (``FOO=``) reads as off, as it does in a shell test
    return bool(value.strip()) and parse_bool(value)


def _setting(env: str, default: str, doc: str):
    return field(default=None, metadata={"env": env, "default": default, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Typed configuration. Field metadata holds the env name, default and description."""

    # Infrastructure
    database_url: str = _setting(
        "DATABASE_URL",
        "postgresql+psycopg://cinemaabyss@127.0.0.1:5432/cinemaabyss",
        "SQLAlchemy URL of the system-of-record database (make up writes one to RUN_DIR/stack.env)",
    )
    redis_url: str = _setting("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis (Celery broker, live counters)")
    kafka_brokers: str = _setting("KAFKA_BROKERS", "127.0.0.1:9092", "Kafka bootstrap servers, comma separated")
    # Upstream URLs (used by the proxy, console health probes and tests)
    monolith_url: str = _setting("MONOLITH_URL", "http://127.0.0.1:8080", "legacy monolith base URL")
    movies_service_url: str = _setting("MOVIES_SERVICE_URL", "http://127.0.0.1:8081", "movies service base URL")
    events_service_url: str = _setting("EVENTS_SERVICE_URL", "http://127.0.0.1:8082", "events service base URL")
    users_service_url: str = _setting("USERS_SERVICE_URL", "http://127.0.0.1:8083", "users service base URL")
    payments_service_url: str = _setting("PAYMENTS_SERVICE_URL", "http://127.0.0.1:8084", "payments service base URL")
    proxy_url: str = _setting("PROXY_URL", "http://127.0.0.1:8000", "proxy base URL (console links, tests)")
    console_url: str = _setting("CONSOLE_URL", "http://127.0.0.1:8090", "console base URL")
    # Listening
    host: str = _setting("HOST", "127.0.0.1", "interface every HTTP process binds to")
    port: str = _setting("PORT", "", "port of this process; empty = the process's default port")
    web_workers: int = _setting("WEB_WORKERS", "2", "worker processes per HTTP process")
    web_threads: int = _setting("WEB_THREADS", "8", "threads per worker for the Flask processes")
    # Proxy initial flag values (legacy deployment variables)
    gradual_migration: bool = _setting(
        "GRADUAL_MIGRATION", "false", "initial movies flag: gradual mode when no flag row exists"
    )
    movies_migration_percent: int = _setting(
        "MOVIES_MIGRATION_PERCENT", "0", "initial movies percent when no flag row exists"
    )
    # Security
    secret_key: str = _setting(
        "SECRET_KEY", "", "console session secret; empty = generated into RUN_DIR/secret_key on first start"
    )
    jwt_private_key_path: str = _setting(
        "JWT_PRIVATE_KEY_PATH", "", "users service Ed25519 signing key; empty = RUN_DIR/keys/jwt_ed25519.pem"
    )
    jwt_public_key_path: str = _setting(
        "JWT_PUBLIC_KEY_PATH",
        "",
        "public key the proxy verifies tokens with; empty = RUN_DIR/keys/jwt_ed25519.pub",
    )
    jwt_ttl_seconds: int = _setting(
        "JWT_TTL_SECONDS", "900", "lifetime of access tokens (short: a refresh token gets a new one)"
    )
    jwt_refresh_ttl_seconds: int = _setting(
        "JWT_REFRESH_TTL_SECONDS", "1209600", "lifetime of refresh tokens (each works once; rotated on use)"
    )
    payment_provider_url: str = _setting(
        "PAYMENT_PROVIDER_URL", "http://127.0.0.1:8085", "payment provider (sandbox) base URL the payments side calls"
    )
    payment_callback_url: str = _setting(
        "PAYMENT_CALLBACK_URL",
        "",
        "where the provider posts signed webhooks; empty = PROXY_URL + /api/payments/webhook",
    )
    payment_webhook_secret: str = _setting(
        "PAYMENT_WEBHOOK_SECRET",
        "",
        "HMAC secret shared with the payment provider; empty = generated into RUN_DIR/payment_webhook_secret",
    )
    payment_webhook_tolerance_seconds: int = _setting(
        "PAYMENT_WEBHOOK_TOLERANCE_SECONDS", "300", "oldest (or most future) webhook timestamp accepted"
    )
    payment_provider: str = _setting(
        "PAYMENT_PROVIDER", "sandbox", "payment provider adapter: sandbox, stripe or yookassa"
    )
    stripe_api_key: str = _setting(
        "STRIPE_API_KEY", "", "Stripe secret key (sk_test_... in test mode); from the environment, never committed"
    )
    stripe_webhook_secret: str = _setting(
        "STRIPE_WEBHOOK_SECRET", "", "signing secret of the Stripe webhook endpoint (whsec_...)"
    )
    stripe_api_base: str = _setting(
        "STRIPE_API_BASE", "", "Stripe API base URL; empty = Stripe's own (the tests point it at stripe-mock)"
    )
    yookassa_shop_id: str = _setting("YOOKASSA_SHOP_ID", "", "YooKassa shop id (PAYMENT_PROVIDER=yookassa)")
    yookassa_secret_key: str = _setting(
        "YOOKASSA_SECRET_KEY", "", "YooKassa secret key (test_... for a test shop); from the environment only"
    )
    yookassa_api_url: str = _setting("YOOKASSA_API_URL", "", "YooKassa API base URL; empty = the SDK's own")
    payment_reconcile_after_seconds: int = _setting(
        "PAYMENT_RECONCILE_AFTER_SECONDS", "300", "a checkout unsettled this long is looked up at the provider"
    )
    payment_sandbox_retry_delays: str = _setting(
        "PAYMENT_SANDBOX_RETRY_DELAYS",
        "1,5,30,120,600,1800,3600,7200,14400",
        "sandbox: seconds before each callback retry after a non-2xx answer (about 8 h in all)",
    )
    console_admin_user: str = _setting("CONSOLE_ADMIN_USER", "admin", "first console admin's username")
    console_trusted_hosts: str = _setting(
        "CONSOLE_TRUSTED_HOSTS", "", "host names the console answers for, comma separated; empty = any"
    )
    console_admin_password: str = _setting(
        "CONSOLE_ADMIN_PASSWORD", "", "first admin's password; empty = generated and printed once by make up"
    )
    traffic_history_hours: int = _setting(
        "TRAFFIC_HISTORY_HOURS", "48", "hours of 10-second traffic rollups kept for the console's charts"
    )
    console_csv_export: bool = _setting(
        "CONSOLE_CSV_EXPORT", "true", "catalogue lists offer a CSV export (personal data masked by role); false = off"
    )
    # Password work (users service): bounded so a login flood cannot starve the service
    password_check_concurrency: int = _setting(
        "PASSWORD_CHECK_CONCURRENCY", "2", "users service: password hashes/verifications at once per worker process"
    )
    password_check_queue: int = _setting(
        "PASSWORD_CHECK_QUEUE", "4", "users service: password checks that may wait for a slot per worker; more → 429"
    )
    password_checks_per_address: int = _setting(
        "PASSWORD_CHECKS_PER_ADDRESS", "20", "users service: logins and sign-ups per client address per minute"
    )
    signups_per_address: int = _setting(
        "SIGNUPS_PER_ADDRESS", "5", "users service: accounts created per client address per hour"
    )
    # Runtime
    run_dir: str = _setting("RUN_DIR", str(PROJECT_ROOT / ".run"), "runtime data, logs and pid files")
    log_level: str = _setting("LOG_LEVEL", "INFO", "logging level of every process")
    max_body_bytes: int = _setting("MAX_BODY_BYTES", "1048576", "largest JSON request body the APIs accept")
    # Event consumers (dead letters)
    consumer_max_attempts: int = _setting(
        "CONSUMER_MAX_ATTEMPTS", "3", "attempts at a failing message before it goes to <topic>.dlq"
    )
    consumer_retry_backoff_ms: int = _setting(
        "CONSUMER_RETRY_BACKOFF_MS", "200", "first pause before a failed message is retried (doubles each time)"
    )
    consumer_retry_max_backoff_ms: int = _setting(
        "CONSUMER_RETRY_MAX_BACKOFF_MS", "5000", "longest pause between retries (also while the database is down)"
    )
    # Outbox relay
    outbox_retention_hours: int = _setting(
        "OUTBOX_RETENTION_HOURS", "168", "published outbox rows older than this are deleted by the relay (0 = kept)"
    )
    # Proxy (API gateway)
    proxy_auth_mode: str = _setting(
        "PROXY_AUTH_MODE", "writes", "proxy token policy: writes (writes need a token) | all | off"
    )
    proxy_interface: str = _setting("PROXY_INTERFACE", "rsgi", "proxy server interface: rsgi | asgi (granian)")
    proxy_connect_timeout_ms: int = _setting("PROXY_CONNECT_TIMEOUT_MS", "2000", "proxy upstream connect timeout")
    proxy_read_timeout_ms: int = _setting("PROXY_READ_TIMEOUT_MS", "30000", "proxy upstream read timeout")
    proxy_flag_refresh_ms: int = _setting("PROXY_FLAG_REFRESH_MS", "5000", "proxy periodic flag re-read")
    proxy_header_timeout_ms: int = _setting(
        "PROXY_HEADER_TIMEOUT_MS", "10000", "proxy: time a client has to send its request headers (1..60000)"
    )
    proxy_body_timeout_ms: int = _setting(
        "PROXY_BODY_TIMEOUT_MS", "30000", "proxy: time a client has to send its whole request body"
    )
    proxy_body_min_rate: int = _setting(
        "PROXY_BODY_MIN_RATE", "4096", "proxy: slowest average request body rate in bytes/s (after 2 s; 0 = none)"
    )
    proxy_max_client_concurrency: int = _setting(
        "PROXY_MAX_CLIENT_CONCURRENCY", "64", "proxy: concurrent requests per client address and worker (0 = no cap)"
    )
    proxy_callback_concurrency: int = _setting(
        "PROXY_CALLBACK_CONCURRENCY", "32",
        "proxy: concurrent provider callbacks (payment webhook) per worker, a budget apart from per-address caps",
    )
    proxy_trusted_proxies: str = _setting(
        "PROXY_TRUSTED_PROXIES", "",
        "proxy: addresses/CIDRs of proxies in front whose X-Forwarded-For is believed, comma separated; empty = none",
    )
    proxy_max_url_bytes: int = _setting(
        "PROXY_MAX_URL_BYTES", "4000", "proxy: longest request target (path and query); longer gets 414"
    )
    proxy_max_header_bytes: int = _setting(
        "PROXY_MAX_HEADER_BYTES", "8000", "proxy: longest request header (name and value); longer gets 431"
    )
    proxy_rollback_witnesses: int = _setting(
        "PROXY_ROLLBACK_WITNESSES", "3",
        "proxy: distinct callers whose service failures it takes to auto-roll back (connect failures need none)",
    )
    proxy_rollback_p99_percent: int = _setting(
        "PROXY_ROLLBACK_P99_PERCENT", "0",
        "proxy: auto-roll back when the service's p99 exceeds this % of the monolith's (e.g. 300; 0 = off)",
    )
    proxy_exactly_once: bool = _setting(
        "PROXY_EXACTLY_ONCE", "true",
        "proxy: give every POST/PATCH an Idempotency-Key upstream and send a write whose answer was lost to the "
        "monolith with it (the backends must store keys with their writes; false in front of ones that do not)",
    )
    proxy_idempotency_max_keys: int = _setting(
        "PROXY_IDEMPOTENCY_MAX_KEYS", "1000", "proxy: Idempotency-Keys one caller may hold at once (a day each)"
    )
    proxy_idempotency_max_bytes: int = _setting(
        "PROXY_IDEMPOTENCY_MAX_BYTES", "1048576", "proxy: bytes of stored answers one caller may hold at once"
    )
    proxy_idempotency_max_answer_bytes: int = _setting(
        "PROXY_IDEMPOTENCY_MAX_ANSWER_BYTES", "16384",
        "proxy: largest answer kept for replay; a larger one is kept as status and digest only",
    )
    # Shadow compare (docs/shadow.md)
    shadow_compare_max_bytes: int = _setting(
        "SHADOW_COMPARE_MAX_BYTES", "65536", "shadow: larger bodies are compared as bytes, not parsed as JSON"
    )
    shadow_compare_headers: str = _setting(
        "SHADOW_COMPARE_HEADERS", "", "shadow: response headers compared too, comma separated (empty = none)"
    )
    shadow_calibration_percent: int = _setting(
        "SHADOW_CALIBRATION_PERCENT", "0",
        "shadow: share of mirrored GETs also asked of the monolith twice (A/A) to learn noisy paths",
    )
    shadow_samples_per_domain: int = _setting(
        "SHADOW_SAMPLES_PER_DOMAIN", "200", "shadow: mismatch samples kept per domain (oldest pruned)"
    )
    shadow_samples_per_minute: int = _setting(
        "SHADOW_SAMPLES_PER_MINUTE", "30", "shadow: mismatch samples one gateway worker stores per domain and minute"
    )
    shadow_sample_body_bytes: int = _setting(
        "SHADOW_SAMPLE_BODY_BYTES", "16384", "shadow: each stored sample body is cut to this many bytes"
    )
    identity_secret: str = _setting(
        "IDENTITY_SECRET", "",
        "HMAC secret the proxy signs forwarded identity with; empty = generated into RUN_DIR/identity_secret",
    )
    identity_unsigned_allowed: bool = _setting(
        "IDENTITY_UNSIGNED_ALLOWED", "false", "development only: services accept identity headers without a signature"
    )

    # Outgoing notifications (webhooks)
    notify_max_attempts: int = _setting(
        "NOTIFY_MAX_ATTEMPTS", "6", "attempts at delivering one webhook before it is marked failed"
    )
    notify_backoff_s: int = _setting(
        "NOTIFY_BACKOFF_S", "2", "first pause before a failed webhook is retried (doubles each time)"
    )
    notify_timeout_s: int = _setting("NOTIFY_TIMEOUT_S", "5", "time a webhook receiver has to answer")

    def port_or(self, default: int) -> int:
        """The configured ``PORT`` or this process's default port."""
        return int(self.port) if self.port else default

    @property
    def run_path(self) -> Path:
        """``RUN_DIR`` as a path."""
        return Path(self.run_dir)


_CASTS = {"str": str, "int": int, "bool": _bool}


def _layered_environ() -> dict[str, str]:
    """``RUN_DIR/stack.env`` < ``.env`` < ``os.environ``; RUN_DIR itself comes from the latter two."""
    upper = {**read_env_file(PROJECT_ROOT / ".env"), **os.environ}
    run_dir = Path(upper.get("RUN_DIR") or str(PROJECT_ROOT / ".run"))
    return {**read_env_file(run_dir / "stack.env"), **upper}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``environ`` (default: the layered sources below).

    Without ``environ`` the sources are, lowest priority first: ``RUN_DIR/stack.env`` (values
    the local stack generated, e.g. the database password), ``.env``, the process environment.
    Raises ``ValueError`` naming the variable when a value cannot be cast, so a typo fails
    loudly at start-up instead of deep inside a request.
    """
    source = _layered_environ() if environ is None else dict(environ)
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        raw = source.get(f.metadata["env"], f.metadata["default"])
        cast = _CASTS[f.type if isinstance(f.type, str) else f.type.__name__]
        try:
            values[f.name] = cast(raw)
        except ValueError as exc:
            raise ValueError(f"invalid value for {f.metadata['env']}: {raw!r} ({exc})") from None
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def describe() -> list[tuple[str, str, str]]:
    """``(ENV_NAME, default, description)`` for every setting, in declaration order.

    A default inside this checkout is shown relative to ``<checkout>`` so the generated table
    names no machine's path.
    """
    root = str(PROJECT_ROOT)
    return [
        (f.metadata["env"], f.metadata["default"].replace(root, "<checkout>"), f.metadata["doc"])
        for f in fields(Settings)
    ]
