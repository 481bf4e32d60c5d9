"""Configuration from the environment (prefix ``HERALD_``), with embedded defaults.

The defaults run Herald on one machine with nothing to install: a SQLite file, a SQLite
broker and the outbox provider, all under ``./var``. Production points the database at
PostgreSQL and the broker at Redis.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

DEVELOPMENT_SECRET_KEY = "herald-development-secret-change-me"  # noqa: S105 - refused in production

VAR_DIR = Path("var")
DOCKER_SECRETS_DIR = Path("/run/secrets")
"""Where Docker (compose ``secrets:``, swarm) mounts secret files."""


class Settings(BaseSettings):
    """Every knob Herald reads; each is documented in README's configuration table."""

    # Errors never quote the values: a refused setting may be a secret, and they get logged.
    model_config = SettingsConfigDict(
        env_prefix="HERALD_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
        hide_input_in_errors=True,
    )

    # Where Herald runs, and where it keeps its data and its task messages.
    env: Literal["development", "test", "production"] = "development"
    """Production refuses the development secret key and never offers the first-visit
    admin setup."""
    data_dir: Path = VAR_DIR
    """The folder of the embedded defaults: the SQLite database and broker, the outbox and
    the uploaded imports. A URL or folder set explicitly wins over the one derived from it."""
    database_url: str = Field(default=f"sqlite:///{VAR_DIR}/herald.sqlite", repr=False)
    """SQLAlchemy URL of the database; production:
    ``postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`` (kept out of repr: it may carry a
    password)."""
    broker_url: str = Field(default=f"sqla+sqlite:///{VAR_DIR}/broker.sqlite", repr=False)
    """Celery broker for task messages: an embedded SQLite broker by default;
    production: ``redis://HOST:6379/0``."""
    # The provider that sends mail, and its credentials.
    provider: Literal["outbox", "postmark", "resend", "sendgrid", "mailgun", "ses", "smtp"] = (
        "outbox"
    )
    """Where mail goes; ``outbox`` writes each message to ``outbox_dir`` and sends nothing."""
    fallback_provider: Literal[
        "", "outbox", "postmark", "resend", "sendgrid", "mailgun", "ses", "smtp"
    ] = ""
    """A second provider for batches the first one cannot take (it is down); empty: none."""
    provider_url: str = ""
    """The HTTP provider's API base URL; empty means the provider's own public API."""
    provider_timeout_seconds: float = 30.0
    """Seconds one provider API call may take before it counts as timed out."""
    postmark_server_token: SecretStr = SecretStr("")
    """Postmark server token (``X-Postmark-Server-Token``)."""
    postmark_message_stream: str = "broadcast"
    """Postmark message stream for campaigns (a broadcast stream)."""
    resend_api_key: SecretStr = SecretStr("")
    """Resend API key (``Authorization: Bearer``)."""
    sendgrid_api_key: SecretStr = SecretStr("")
    """SendGrid API key."""
    mailgun_api_key: SecretStr = SecretStr("")
    """Mailgun API key."""
    mailgun_domain: str = ""
    """Mailgun sending domain (EU accounts also set ``provider_url`` to
    ``https://api.eu.mailgun.net``)."""
    ses_region: str = "eu-west-1"
    """Amazon SES v2 region (requests signed with SigV4)."""
    ses_access_key_id: str = ""
    """Amazon SES access key id."""
    ses_secret_access_key: SecretStr = SecretStr("")
    """Amazon SES secret access key."""
    ses_configuration_set: str = ""
    """The SES configuration set that publishes events to SNS; empty: none."""
    smtp_host: str = "localhost"
    """SMTP server for ``provider=smtp``."""
    smtp_port: int = 587
    """SMTP server port."""
    smtp_username: str = ""
    """SMTP user name; credentials are only sent over TLS (or to localhost)."""
    smtp_password: SecretStr = SecretStr("")
    """SMTP password."""
    smtp_starttls: bool = True
    """Upgrade the SMTP connection with STARTTLS."""
    # DKIM signing of SMTP mail (covers both List-Unsubscribe headers).
    dkim_domain: str = ""
    """The signing domain (``d=``); DKIM signs only when all three are set."""
    dkim_selector: str = ""
    """The DKIM selector (``s=``)."""
    dkim_private_key_path: str = ""
    """Path of the PEM private key."""
    # Provider webhooks: what each provider's events must carry to be believed.
    postmark_webhook_user: str = ""
    """Basic auth user Postmark's webhooks must carry (put it in the webhook URL)."""
    postmark_webhook_password: SecretStr = SecretStr("")
    """Basic auth password Postmark's webhooks must carry."""
    sendgrid_webhook_public_key: str = ""
    """SendGrid's Signed Event Webhook verification key (base64)."""
    mailgun_webhook_signing_key: SecretStr = SecretStr("")
    """Mailgun's webhook signing key."""
    resend_webhook_secret: SecretStr = SecretStr("")
    """Resend's webhook signing secret (``whsec_...``)."""
    ses_sns_topic_arn: str = ""
    """The SNS topic SES events arrive from (others are refused)."""
    # Pace: the shared rate limit and when a failing campaign stops.
    redis_url: str = Field(default="", repr=False)
    """Redis for the shared rate limit; empty means the broker's Redis, else the database."""
    rate_limit_per_second: float = Field(default=0.0, ge=0)
    """Messages per second for the provider, shared by every worker; 0 means no limit."""
    rate_limit_burst: int = Field(default=0, ge=0)
    """Messages that may go at once after a quiet spell; 0 means one second's worth."""
    pause_after_failures: int = Field(default=10, ge=1)
    """A campaign pauses itself after this many batches failed in a row."""
    # The mail itself: links, signing, sender.
    outbox_dir: Path = VAR_DIR / "outbox"
    """Where the outbox provider writes messages."""
    base_url: str = "http://127.0.0.1:8000"
    """Public address of the web app, without a trailing slash, used in every link of every
    email (unsubscribe, preferences, archive, tracking); https in production."""
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    """Signs every link and token (unsubscribe, preferences, confirmation, tracking). Production
    needs 32+ random characters: ``python -c "import secrets; print(secrets.token_urlsafe(48))"``.
    Unset, development uses a built-in key that production refuses. To change it, move the old
    key to ``secret_key_fallbacks`` (README: "Rotating the secret key")."""
    # Secrets: files for Docker secrets, and the keys of links already sent.
    secrets_dir: str = ""
    """A folder of secret files (Docker secrets), one file per setting named like its variable
    (``herald_secret_key``; any case), holding the bare value. Empty: ``/run/secrets`` when it
    exists. Read from the environment or ``.env`` only; a variable set there wins over a file."""
    secret_key_fallbacks: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """Earlier secret keys, newest first, comma-separated or a JSON list: links signed with
    them still verify (``secret_key`` signs every new one). Drop a key once its mail is old."""
    from_email: str = "newsletter@herald.localhost"
    """Sender address of every email (verified with the provider)."""
    from_name: str = ""
    """The From display name; empty means the organisation's name, as the masthead says."""
    organisation_name: str = "Herald Policy Centre"
    """The organisation's name, shown in every email's footer."""
    organisation_address: str = "1 Example Square, Kyiv, Ukraine"
    """The organisation's postal address, shown in every email's footer."""
    # Headers of every message (README: "Message headers").
    unsubscribe_mailto: str = ""
    """A mailbox the organisation reads and acts on, offered in List-Unsubscribe as mailto:
    next to the one-click link. Empty offers only the link: Herald itself reads no mail, and a
    mailto nobody processes is a promise broken."""
    reply_to: str = ""
    """Where replies go (``desk@example.org``); empty: no Reply-To, replies go to From."""
    reply_to_name: str = ""
    """The display name of ``reply_to``."""
    feedback_id_sender: str = "herald"
    """The sender id that ends Gmail's Feedback-ID (``campaign:list:kind:sender``)."""
    # The first admin account.
    admin_email: str = ""
    """The first admin's email: ``herald migrate`` creates the account while none exists."""
    admin_password: SecretStr = SecretStr("")
    """The first admin's initial password (10+ characters), used only with ``admin_email``."""
    # The send pipeline's pace and leases.
    batch_size: int = Field(default=0, ge=0)
    """Messages per provider call; 0 means the provider's own batch limit."""
    scheduler_tick_seconds: float = Field(default=5.0, gt=0)
    """Seconds between scheduler ticks (due campaigns, digests, sweeps)."""
    lease_seconds: int = Field(default=120, gt=0)
    """Seconds a worker holds a claimed batch before the sweep may take it back; keep it
    above ``provider_timeout_seconds``."""
    stall_seconds: int = Field(default=180, gt=0)
    """Seconds without progress after which the sweep re-enqueues a sending campaign's work."""
    # Reconciling dispatched rows whose answer never came (providers with a look-up).
    reconcile_settle_seconds: float = Field(default=120.0, ge=0)
    """How old a dispatch must be before the provider is asked about it (its search index
    may lag behind its send API); never less than ``provider_timeout_seconds``."""
    # The web process.
    metrics_token: SecretStr = SecretStr("")
    """A bearer token /metrics requires; empty leaves /metrics open (a private network)."""
    # herald doctor
    doctor_nameserver: str = ""
    """The DNS server (``host`` or ``host:port``) ``herald doctor`` asks for the From domain's
    SPF, DKIM and DMARC records; empty: the system's resolver."""
    doctor_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long each check of ``herald doctor`` waits for a server (database, broker, provider,
    DNS, the web process) before it calls it unreachable."""
    web_lock_timeout_ms: int = Field(default=5000, ge=0)
    """How long a web request waits for a row or table lock (PostgreSQL) before it is answered
    503 with Retry-After; 0 waits forever. Workers are not affected."""
    web_statement_timeout_ms: int = Field(default=30000, ge=0)
    """The longest one statement of a web request may run (PostgreSQL); 0: no limit."""
    login_attempts_per_hour: float = Field(default=60.0, gt=0)
    """Login attempts one client IP may make per hour, after a burst of ``login_burst``."""
    login_burst: int = Field(default=20, ge=1)
    """Login attempts one client IP may make at once."""
    # Publishing: what a published post sets off, and how long an announcement runs.
    auto_announce: Literal["hold", "send", "off"] = "hold"
    """On publishing a post: draft an announcement to the lists following its topics and
    hold it for an admin ("hold"), also start sending it when an admin published ("send"),
    or do nothing ("off")."""
    teaser_words: int = Field(default=600, ge=0)
    """An announcement of a post whose body is longer than this many words carries its lede,
    key takeaways and a "Read the full report" button instead of the whole body (0: never)."""

    # Where requests Herald makes itself (feeds, outgoing webhooks) may go.
    allow_private_addresses: bool = False
    """Let feed URLs typed in the admin and outgoing webhooks reach private, loopback and
    link-local addresses (a self-hosted network); off, only public addresses are reached."""

    # Logging, health and proxies
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """The least severe log lines every process (web, worker, scheduler, CLI) writes."""
    log_format: Literal["text", "json"] = "text"
    """Log lines as text for people, or as one JSON object per line for a log collector."""
    trusted_proxies: Annotated[list[str], NoDecode] = []
    """IPs and CIDRs of the reverse proxies in front of the web process (JSON list or
    comma-separated); a request from one of them takes its client address from
    X-Forwarded-For and its scheme from X-Forwarded-Proto. Empty: the peer is the client."""
    readiness_cache_seconds: float = Field(default=5.0, ge=0)
    """How long /readyz reuses its database and migration checks (load balancers poll it)."""
    sentry_dsn: str = ""
    """Report errors to this Sentry DSN (needs the ``sentry`` extra); empty: off."""

    # Retention: how many days the hourly housekeeping keeps each growing log (0: forever).
    retention_events_days: int = Field(default=400, ge=0)
    """Provider and tracking events (``delivery_events``). Campaign figures are kept apart as
    the events arrive, so pruning never changes them; 400 days covers a year-on-year look at
    a subscriber's history and any provider's replay window (days), with a month to spare.
    Hard-bounce events are never pruned: they say why an address is undeliverable."""
    retention_activity_days: int = Field(default=400, ge=0)
    """The activity log (subscribes, confirmations, unsubscribes, campaigns sent): a year and
    a month of each subscriber's history for support and privacy requests. Consent records
    live on the subscriptions, not here, and stay."""
    retention_webhook_deliveries_days: int = Field(default=30, ge=0)
    """Outgoing-webhook delivery logs (delivered or given up): a month to debug an endpoint;
    retries end within days, and deliveries still pending are never pruned."""
    retention_import_rejections_days: int = Field(default=30, ge=0)
    """Rejected-row reports of finished imports: a month to download and fix the rows; the
    job and its counts stay."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``.env``, then the secrets folder's files."""
        folder = _secrets_folder(init_settings, env_settings, dotenv_settings)
        secrets = SecretsSettingsSource(settings_cls, secrets_dir=folder)
        return init_settings, env_settings, dotenv_settings, secrets

    @field_validator("secret_key_fallbacks", mode="before")
    @classmethod
    def _split_fallbacks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("HERALD_SECRET_KEY_FALLBACKS is not a JSON list") from None
        return [key.strip() for key in value.split(",") if key.strip()]

    @field_validator("secret_key_fallbacks")
    @classmethod
    def _refuse_empty_fallbacks(cls, keys: list[SecretStr]) -> list[SecretStr]:
        # An empty HMAC key is one anybody can sign with.
        if any(not key.get_secret_value().strip() for key in keys):
            raise ValueError("HERALD_SECRET_KEY_FALLBACKS must not hold an empty key")
        return keys

    @model_validator(mode="after")
    def _derive_from_data_dir(self) -> Settings:
        # Unset fields follow data_dir; with the default ``var`` they are today's defaults.
        derived = {
            "database_url": f"sqlite:///{self.data_dir}/herald.sqlite",
            "broker_url": f"sqla+sqlite:///{self.data_dir}/broker.sqlite",
            "outbox_dir": self.data_dir / "outbox",
        }
        for name, value in derived.items():
            if name not in self.model_fields_set:
                setattr(self, name, value)
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        # A JSON list, or the comma-separated form uvicorn's FORWARDED_ALLOW_IPS uses.
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        # A typo must fail at startup, not silently trust nobody (or a host name).
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production" and not _strong(self.secret_key):
            raise ValueError(
                "HERALD_SECRET_KEY must be set to a random value of 32+ characters "
                "when HERALD_ENV=production"
            )
        if self.env == "production" and not all(map(_strong, self.secret_key_fallbacks)):
            raise ValueError(
                "each key of HERALD_SECRET_KEY_FALLBACKS must be 32+ characters "
                "when HERALD_ENV=production"
            )
        return self

    @property
    def shared_redis_url(self) -> str:
        """Redis for state every process shares: ``redis_url``, else a Redis broker, else ""."""
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith(("redis://", "rediss://")) else ""

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _strong(key: SecretStr) -> bool:
    value = key.get_secret_value()
    return value != DEVELOPMENT_SECRET_KEY and len(value) >= 32


def _secrets_folder(*sources: PydanticBaseSettingsSource) -> Path | None:
    """HERALD_SECRETS_DIR as the first source naming it gives it, else /run/secrets if any."""
    named = next((str(found) for source in sources if (found := source().get("secrets_dir"))), "")
    if not named:
        return DOCKER_SECRETS_DIR if DOCKER_SECRETS_DIR.is_dir() else None
    if not Path(named).is_dir():
        raise ValueError(f"HERALD_SECRETS_DIR={named} is not a folder")
    return Path(named)


def settings_problems(error: ValidationError) -> str:
    """What is wrong with the settings, one ``setting: problem`` per error, on one line."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
