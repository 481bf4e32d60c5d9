"""Configuration from the environment (prefix ``HERALD_``), with embedded defaults.

The defaults run Herald on one machine with nothing to install: a SQLite file, a SQLite
broker and the outbox provider, all under ``./var``. Production points the database at
PostgreSQL and the broker at Redis.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "herald-development-secret-change-me"  # noqa: S105 - refused in production

VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Every knob Herald reads; each is documented in README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{VAR_DIR}/herald.sqlite"
    broker_url: str = f"sqla+sqlite:///{VAR_DIR}/broker.sqlite"
    provider: Literal["outbox", "postmark", "resend", "sendgrid", "mailgun", "ses", "smtp"] = (
        "outbox"
    )
    fallback_provider: Literal[
        "", "outbox", "postmark", "resend", "sendgrid", "mailgun", "ses", "smtp"
    ] = ""
    """A second provider for batches the first one cannot take (it is down); empty: none."""
    provider_url: str = ""
    """The HTTP provider's API base URL; empty means the provider's own public API."""
    provider_timeout_seconds: float = 30.0
    postmark_server_token: str = ""
    postmark_message_stream: str = "broadcast"
    resend_api_key: str = ""
    sendgrid_api_key: str = ""
    mailgun_api_key: str = ""
    mailgun_domain: str = ""
    ses_region: str = "eu-west-1"
    ses_access_key_id: str = ""
    ses_secret_access_key: str = ""
    ses_configuration_set: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key_path: str = ""
    postmark_webhook_user: str = ""
    postmark_webhook_password: str = ""
    sendgrid_webhook_public_key: str = ""
    mailgun_webhook_signing_key: str = ""
    resend_webhook_secret: str = ""
    ses_sns_topic_arn: str = ""
    redis_url: str = ""
    """Redis for the shared rate limit; empty means the broker's Redis, else the database."""
    rate_limit_per_second: float = Field(default=0.0, ge=0)
    """Messages per second for the provider, shared by every worker; 0 means no limit."""
    rate_limit_burst: int = Field(default=0, ge=0)
    """Messages that may go at once after a quiet spell; 0 means one second's worth."""
    pause_after_failures: int = Field(default=10, ge=1)
    """A campaign pauses itself after this many batches failed in a row."""
    outbox_dir: Path = VAR_DIR / "outbox"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    from_email: str = "newsletter@herald.localhost"
    from_name: str = ""
    """The From display name; empty means the organisation's name, as the masthead says."""
    organisation_name: str = "Herald Policy Centre"
    organisation_address: str = "1 Example Square, Kyiv, Ukraine"
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
    admin_email: str = ""
    """The first admin's email: ``herald migrate`` creates the account while none exists."""
    admin_password: str = ""
    """The first admin's initial password (10+ characters), used only with ``admin_email``."""
    batch_size: int = Field(default=0, ge=0)
    """Messages per provider call; 0 means the provider's own batch limit."""
    scheduler_tick_seconds: float = Field(default=5.0, gt=0)
    lease_seconds: int = Field(default=120, gt=0)
    stall_seconds: int = Field(default=180, gt=0)
    # Reconciling dispatched rows whose answer never came (providers with a look-up).
    reconcile_settle_seconds: float = Field(default=120.0, ge=0)
    """How old a dispatch must be before the provider is asked about it (its search index
    may lag behind its send API); never less than ``provider_timeout_seconds``."""
    metrics_token: str = ""
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
    auto_announce: Literal["hold", "send", "off"] = "hold"
    """On publishing a post: draft an announcement to the lists following its topics and
    hold it for an admin ("hold"), also start sending it when an admin published ("send"),
    or do nothing ("off")."""
    teaser_words: int = Field(default=600, ge=0)
    """An announcement of a post whose body is longer than this many words carries its lede,
    key takeaways and a "Read the full report" button instead of the whole body (0: never)."""

    allow_private_addresses: bool = False
    """Let feed URLs typed in the admin and outgoing webhooks reach private, loopback and
    link-local addresses (a self-hosted network); off, only public addresses are reached."""

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production" and (
            self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "HERALD_SECRET_KEY must be set to a random value of 32+ characters "
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def project_root() -> Path:
    """The folder holding templates/, migrations/ and alembic.ini (source tree or image)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "alembic.ini").exists() else Path.cwd()
