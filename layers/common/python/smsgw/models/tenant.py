"""Accounts and properties: who may send, and under which name (stored by dal.tenant_store)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Account:
    account_sid: str
    name: str
    sms_enabled: bool
    token_hashes: list[dict[str, str]] = field(default_factory=list)
    date_created: str = ""


@dataclass(frozen=True, slots=True)
class Property:
    property_sid: str
    account_sid: str
    name: str
    sms_enabled: bool
    date_created: str = ""
    retention_days: int | None = None
    """Days after which its messages' text is removed (issue #18); None: kept."""
