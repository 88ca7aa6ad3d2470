"""Accounts and properties: who may send, and under which name (stored by dal.tenant_store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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
    retention_deletes_messages: bool = False
    """With a retention period: the messages themselves are deleted then, with their
    replies and status history, not only their text."""
    smart_encoding: bool = False
    """SmartEncoding for a send request that does not say (issue #18); the request's own
    `true` or `false` wins."""


class Retaining(NamedTuple):
    """A property with a retention period, as the scheduler's retention pass reads it."""

    property_sid: str
    days: int
    cursor: str
    """The timeline position (`<DateCreated>#<MessageSid>`) of the last message handled."""
    deletes_messages: bool = False
