"""Settings read from the environment, every name prefixed ``CRM_``."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'var' / 'crm.db'}",
        description="SQLAlchemy URL; postgresql+psycopg://user:pw@host/db for PostgreSQL",
    )
    secret_key: str = "dev-secret-change-me-0123456789abcdef"
    timezone: str = "Asia/Shanghai"
    base_url: str = "http://127.0.0.1:8000"
    default_language: str = "zh_CN"
    # development: templates are re-read when their file changes (a stat of every template on
    # every render, ~12 % of a page's time); in production each is compiled once per process
    development: bool = False
    # web worker processes of `crm serve` / `crm start`: 0 = one per core available to us
    web_workers: int = Field(default=0, ge=0, le=256)

    # sessions and accounts
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    cookie_secure: bool = False
    # reverse proxies whose X-Forwarded-For is believed (comma-separated addresses, e.g.
    # "127.0.0.1"); empty: the connection's own address is the client's (audit rows, throttling)
    trusted_proxies: str = ""
    api_token_hours: int = 24
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    ip_max_failures: int = 20
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    password_min_length: int = 10

    # limits
    max_body_bytes: int = 10 * 1024 * 1024

    # mail
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_security: str = "none"  # none | starttls | tls
    smtp_from: str = "crm@localhost"
    smtp_timeout: float = 10.0

    # scheduler
    scheduler_enabled: bool = True
    daily_reminder_time: str = "08:30"
    weekly_digest: str = "mon 08:00"
    stale_project_days: int = 30
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: int = 30  # first retry after this, doubling each time (cap 1 h)
    outbox_lease_seconds: int = 300  # a claim older than this is taken as a crashed sender's
    outbox_drain_seconds: int = 15
    job_retry_seconds: int = 60  # a failed daily/weekly run is tried again after this, doubling
    webhook_timeout: float = 5.0
    # networks a department robot's URL may point into besides the public internet, as
    # comma-separated CIDRs (e.g. "10.0.0.0/8,192.168.0.0/16" for a robot gateway on the
    # office network); empty: public addresses only — never this host, the cloud metadata
    # address (169.254.169.254) or a private range (crm.accounts.robot_address)
    webhook_allow_networks: str = ""
    # the nightly backup (crm.backup.nightly): when, where ("" = var/backups), how many kept
    backup_time: str = "02:30"
    backup_dir: str = ""
    backup_keep: int = 14
    # imports: "process" = a worker process of their own, spawned when a run is queued (the web
    # processes never import); "thread" = a thread of the process that queued it (tests that
    # hold an import in the middle from inside the process)
    import_worker: str = Field(default="process", pattern="^(process|thread)$")

    @property
    def workers(self) -> int:
        """How many web processes to run: the setting, else one per usable core."""
        if self.web_workers:
            return self.web_workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, v: str) -> str:
        for part in filter(None, (p.strip() for p in v.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"CRM_WEBHOOK_ALLOW_NETWORKS: not a network: {part!r}") from exc
        return v

    @property
    def allowed_robot_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = (p.strip() for p in self.webhook_allow_networks.split(","))
        return [ipaddress.ip_network(p, strict=False) for p in parts if p]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
