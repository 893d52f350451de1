"""Configuration: one nameko YAML file per service with ``${VAR:default}`` substitution.

``nameko run --config services/<name>/config.yml`` already expands the variables; this
module gives the same loading to commands and tests, and one place for the defaults that
every file shares (so a newcomer can run everything with no environment at all).
"""

from __future__ import annotations

import os
from pathlib import Path

from nameko.cli.utils.config import load_config as _nameko_load_config

REPO_ROOT = Path(__file__).resolve().parent.parent

LOCAL_DEFAULTS = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "S3_ENDPOINT": "127.0.0.1:8333",
    "S3_ACCESS_KEY": "combid",
    "S3_SECRET_KEY": "combid-secret",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": "8025",
    "JWT_SECRET": "dev-only-secret-not-for-production-use-0000",
    # `make run` and `make test` are development: the development secret and tokens are allowed
    "COMBID_ENV": "development",
}

DEVELOPMENT = "development"


def is_development(value: str | None = None) -> bool:
    """Whether this process runs in development (explicitly: anything else is production)."""
    if value is None:
        value = os.environ.get("COMBID_ENV")
    return (value or "").strip().lower() == DEVELOPMENT


def service_config_path(service: str) -> Path:
    if service == "gateway":
        return REPO_ROOT / "gateway" / "config.yml"
    return REPO_ROOT / "services" / service / "config.yml"


def load_config(path: str | os.PathLike) -> dict:
    """Load a service YAML config, expanding ``${VAR:default}`` from the environment."""
    with open(path, encoding="utf-8") as handle:
        return _nameko_load_config(handle) or {}


def load_service_config(service: str, overrides: dict | None = None) -> dict:
    config = load_config(service_config_path(service))
    config.update(overrides or {})
    return config


def database_env_var(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def default_database_url(service: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/combid_{service}"
