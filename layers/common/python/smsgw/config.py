"""Typed settings, parsed once from each function's environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from smsgw.warm import warm


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    send_queue_url: str
    carrier: str
    carrier_secret_name: str
    carrier_timeout_seconds: float
    max_text_characters: int
    max_body_bytes: int
    max_send_attempts: int
    webhook_allowed_networks: tuple[str, ...]
    callback_queue_url: str = ""
    public_base_url: str = ""
    no_reply_email: str = ""
    breaker_submissions: int = 10
    breaker_failure_ratio: float = 0.5
    breaker_cooldown_seconds: int = 30
    breaker_probes: int = 3

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] = os.environ) -> Settings:
        return cls(
            table_name=env.get("TABLE_NAME", ""),
            send_queue_url=env.get("SEND_QUEUE_URL", ""),
            carrier=env.get("CARRIER", "twilio"),
            carrier_secret_name=env.get("CARRIER_SECRET_NAME", ""),
            carrier_timeout_seconds=float(env.get("CARRIER_TIMEOUT_SECONDS", "10")),
            max_text_characters=int(env.get("MAX_TEXT_CHARACTERS", "1600")),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", "16384")),
            max_send_attempts=int(env.get("MAX_SEND_ATTEMPTS", "5")),
            webhook_allowed_networks=tuple(
                n.strip() for n in env.get("WEBHOOK_ALLOWED_NETWORKS", "").split(",") if n.strip()
            ),
            callback_queue_url=env.get("CALLBACK_QUEUE_URL", ""),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
            no_reply_email=env.get("NO_REPLY_EMAIL", ""),
            breaker_submissions=int(env.get("BREAKER_SUBMISSIONS", "10")),
            breaker_failure_ratio=float(env.get("BREAKER_FAILURE_RATIO", "0.5")),
            breaker_cooldown_seconds=int(env.get("BREAKER_COOLDOWN_SECONDS", "30")),
            breaker_probes=int(env.get("BREAKER_PROBES", "3")),
        )


@warm
def settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings.from_env()
