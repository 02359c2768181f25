"""Settings: one pydantic-settings class; every interval and secret is a setting.

Environment names are upper-case field names with the `BOKJI_` prefix, except DATABASE_URL and
REDIS_URL which keep their conventional names so compose files and PaaS defaults just work.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEV_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE="  # base64 of 32 bytes, dev only
DEV_LOOKUP_KEY = "dev-only-lookup-key"
DEV_METRICS_TOKEN = "dev-only-metrics-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOKJI_", extra="ignore", case_sensitive=False)

    env: Literal["demo", "production", "test"] = "demo"
    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:54329/bokji",
        validation_alias=AliasChoices("DATABASE_URL", "BOKJI_DATABASE_URL"),
    )
    redis_url: str = Field(
        "redis://127.0.0.1:63790/0", validation_alias=AliasChoices("REDIS_URL", "BOKJI_REDIS_URL")
    )
    queue_name: str = "bokji"

    # Security. The defaults are refused outside demo/test (see _refuse_dev_secrets).
    secret_key: str = DEV_SECRET
    token_minutes: int = 480
    data_key: str = DEV_DATA_KEY  # AES-256-GCM key for identifiers at rest, base64
    lookup_key: str = DEV_LOOKUP_KEY  # HMAC key for look-up hashes of identifiers

    # Operations (README "Operations: metrics and logs"). GET /metrics takes an administrator's token or this
    # scrape credential as its bearer token (Prometheus' `authorization: credentials_file`); empty: administrators
    # only. Refused outside demo/test when left at the default.
    metrics_token: str = DEV_METRICS_TOKEN
    # Where every process of one platform writes its counters for /metrics (prometheus_client's multiprocess
    # mode): prometheus_client reads the variable itself; it is a setting so that its name is known here.
    prometheus_multiproc_dir: str | None = Field(None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"))
    log_format: Literal["json", "text", ""] = ""  # empty: json in production, text in demo and test
    log_level: Literal["debug", "info", "warning", "error", "DEBUG", "INFO", "WARNING", "ERROR"] = "warning"

    # Sign-in throttling (bokji/identity/throttle.py), per username tried and per client address. After
    # `login_*_failures` failures in a row the username or address is refused for `login_lock_seconds`,
    # doubled at every further failure up to `login_lock_max_seconds`; failures are forgotten after
    # `login_forget_seconds` without one. The address limit is a small multiple of the user limit, so
    # one address is stopped after locking at most that many accounts (2 by default).
    login_user_failures: int = Field(5, ge=1)
    login_address_failures: int = Field(10, ge=1)
    login_lock_seconds: float = Field(30.0, gt=0)
    login_lock_max_seconds: float = Field(900.0, gt=0)
    login_forget_seconds: float = Field(3600.0, gt=0)

    # Where the definitions deployed at start-up and the form definitions live.
    bpmn_dir: Path = ROOT / "processes" / "bpmn"
    forms_dir: Path = ROOT / "forms"
    deploy_on_start: bool = True
    # Extra modules whose import registers automated-task handlers (comma-separated), for plugins
    # and tests: e.g. "tests.handlers".
    handler_modules: str = ""

    # What one request may send (api/inputs.py): the whole body, counted as it streams in (a missing
    # or false Content-Length does not get past it), else 413 naming the limit. Model uploads
    # (POST /definitions) and evidence documents get the larger limit; one BPMN/DMN/form file of a
    # deployment is limited again on its own, since the deploy holds each file several times (bytes,
    # text, parsed tree, the stored JSON).
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_model_file_bytes: int = Field(2 * 1024 * 1024, ge=1024)

    # Intervals (seconds). Tests shorten them; nothing in the code hard-codes a period.
    job_timeout: int = 300  # RQ hard limit for one job
    # A claimed job's lease; the worker renews it every third of it while the handler runs, so a job
    # that really runs long keeps it and a dead worker's job is taken back within about a lease.
    job_lease: float = 10.0
    job_max_attempts: int = 3  # then the job becomes an incident; a task's `retries` property overrides
    retry_backoff_base: float = 5.0  # first retry after ~base, then base*2, base*4, ...
    retry_backoff_max: float = 3600.0
    retry_jitter: float = 0.2  # +-20 % so that retries of a failed agency do not arrive together
    scheduler_poll: float = 1.0  # how often the scheduler looks for due timers and jobs
    sweeper_interval: float = 5.0  # how often it checks Redis for lost jobs and expired leases
    job_enqueue_grace: float = 5.0  # a job handed to Redis this recently is not checked for loss
    external_lock_max: float = 3600.0  # longest lock an external worker may ask for
    # The dashboard's summary tables (workers/monitor.py): refreshed this often; a refresh also recounts the cases
    # changed up to `monitor_overlap` seconds before the last one began (a transaction that committed late).
    monitor_interval: float = Field(30.0, gt=0)
    monitor_overlap: float = Field(60.0, ge=0)
    db_statement_timeout_ms: int = 30_000

    # The sandbox every model expression and script runs in (processes/sandbox). Per evaluation: CPU
    # time, then a wall-clock deadline after which the child is killed and replaced; per child: address
    # space. A process starts children as it needs them, up to `sandbox_children` (one per API request
    # thread: no request waits behind another's slow script); more evaluations wait for one.
    sandbox_cpu_seconds: float = Field(2.0, gt=0)
    sandbox_wall_seconds: float = Field(5.0, gt=0)
    sandbox_memory_mb: int = Field(256, ge=64)
    sandbox_children: int = Field(40, ge=1)
    sandbox_user: str = "nobody"  # the user children drop to when the platform runs as root

    # Data linkage. The simulator by default; a real agency by configuration alone:
    # BOKJI_AGENCY_URLS='{"nts": "https://nts.example/api"}' (else BOKJI_AGENCY_BASE_URL/agencies/<agency>).
    agency_base_url: str = "http://127.0.0.1:8100"
    agency_urls: dict[str, str] = {}
    linkage_timeout: float = 5.0  # seconds for one HTTP call
    linkage_retries: int = 2  # quick retries inside one job, before the job's own backoff
    linkage_backoff: float = 0.2  # seconds, doubled per quick retry, with jitter
    breaker_failures: int = 5  # consecutive failures that open an agency's circuit
    breaker_open_seconds: float = 30.0  # how long calls are refused before one is let through
    agency_rate_per_second: int = 100  # calls per second per agency, across all workers

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production":
            for name, dev in (
                ("secret_key", DEV_SECRET),
                ("data_key", DEV_DATA_KEY),
                ("lookup_key", DEV_LOOKUP_KEY),
                ("metrics_token", DEV_METRICS_TOKEN),
            ):
                if getattr(self, name) == dev:
                    raise ValueError(f"BOKJI_{name.upper()} must be set in production")
        return self

    @property
    def demo(self) -> bool:
        return self.env in ("demo", "test")


@lru_cache
def get_settings() -> Settings:
    return Settings()
