"""In-memory stand-in for `smsgw.dal.retention_store.RetentionStore` (`RetentionStoreLike`),
over the messages of a FakeMessageStore. `set_retention` stands for the admin's
`TenantStore.set_property_retention`. Held honest by
`tests/contract/test_retention_store_contract.py`."""

from __future__ import annotations

from collections.abc import Iterator

from smsgw.models.message import Message
from tests.fakes.messages import FakeMessageStore


class FakeRetentionStore:
    def __init__(self, messages: FakeMessageStore) -> None:
        self._messages = messages
        self.periods: dict[str, int] = {}
        self.cursors: dict[str, str] = {}

    def set_retention(self, property_sid: str, days: int | None) -> None:
        if days is None:
            self.periods.pop(property_sid, None)
        else:
            self.periods[property_sid] = days

    def retaining(self) -> Iterator[tuple[str, int, str]]:
        for property_sid, days in sorted(self.periods.items()):
            yield property_sid, days, self.cursors.get(property_sid, "")

    def created_between(
        self, property_sid: str, after: str, before: str, limit: int
    ) -> list[tuple[str, Message]]:
        timeline = sorted(
            (f"{item['DateCreated']}#{sid}", sid)
            for sid, item in self._messages.items.items()
            if item.get("PropertySid") == property_sid
        )
        found = [(at, self._messages.get(sid)) for at, sid in timeline if after < at < before]
        return found[:limit]

    def advance(self, property_sid: str, cursor: str) -> None:
        self.cursors[property_sid] = cursor
