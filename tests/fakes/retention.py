"""In-memory stand-in for `smsgw.dal.retention_store.RetentionStore` (`RetentionStoreLike`),
over the messages of a FakeMessageStore. `set_retention` stands for the admin's
`TenantStore.set_property_retention`. Held honest by
`tests/contract/test_retention_store_contract.py`."""

from __future__ import annotations

from collections.abc import Iterator

from smsgw.models.message import Message
from smsgw.models.tenant import Retaining
from tests.fakes.messages import FakeMessageStore


class FakeRetentionStore:
    def __init__(self, messages: FakeMessageStore) -> None:
        self._messages = messages
        self.periods: dict[str, tuple[int, bool]] = {}
        self.cursors: dict[str, str] = {}

    def set_retention(
        self, property_sid: str, days: int | None, delete_messages: bool = False
    ) -> None:
        if days is None:
            self.periods.pop(property_sid, None)
            self.cursors.pop(property_sid, None)
        else:
            self.periods[property_sid] = (days, delete_messages)

    def retaining(self) -> Iterator[Retaining]:
        for property_sid, (days, deletes) in sorted(self.periods.items()):
            yield Retaining(property_sid, days, self.cursors.get(property_sid, ""), deletes)

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

    def delete_message(self, message: Message, allowed: tuple[str, ...]) -> bool:
        sid = message.message_sid
        item = self._messages.items.get(sid)
        if item is None or item["Status"] not in allowed:
            return False
        del self._messages.items[sid]
        self._messages.index.pop(sid, None)
        return True
