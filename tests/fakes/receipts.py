"""In-memory stand-in for `smsgw.dal.receipt_store.ReceiptStore` (the `ReceiptStoreLike` port).

It applies receipts to the messages of a `FakeMessageStore` (the real store updates the
same table's message items): a receipt moves a message only forward (`ALLOWED_FROM`) and
only when its carrier id is the message's (or one of its parts', or none is recorded yet);
a late, duplicate or out-of-order receipt is appended to the history with `Applied: false`
and the unchanged status. Held honest by `tests/contract/test_receipt_store_contract.py`.
"""

from __future__ import annotations

import copy
from typing import Any

from smsgw.dal.receipt_store import Applied
from smsgw.models.carrier import Receipt
from smsgw.models.message import ALLOWED_FROM
from tests.fakes.messages import FakeMessageStore


class FakeReceiptStore:
    def __init__(self, messages: FakeMessageStore) -> None:
        self._messages = messages
        self.carrier_sids: dict[tuple[str, str], str] = {}
        self.unmatched: list[dict[str, Any]] = []

    def remember_carrier_sid(self, carrier: str, carrier_sid: str, message_sid: str) -> None:
        self.carrier_sids[(carrier, carrier_sid)] = message_sid

    def message_sid_for(self, carrier: str, carrier_sid: str) -> str | None:
        return self.carrier_sids.get((carrier, carrier_sid))

    def store_unmatched(
        self, carrier: str, receipt: Receipt, raw_status: str, received_at: str, now: float
    ) -> None:
        self.unmatched.append(
            {
                "Carrier": carrier,
                "CarrierSid": receipt.carrier_sid,
                "MessageSid": receipt.message_sid or "",
                "Status": receipt.status,
                "CarrierStatus": raw_status,
                "ErrorCode": receipt.error_code,
                "ReceivedAt": received_at,
            }
        )

    def apply(
        self,
        message_sid: str,
        carrier: str,
        carrier_sid: str,
        status: str,
        event: dict[str, Any],
        attributes: dict[str, Any],
    ) -> Applied | None:
        current = self._messages.get(message_sid)
        if current is None or not current.may_have_carrier_sid(carrier_sid):
            return None
        item = self._messages.items[message_sid]
        if current.status in ALLOWED_FROM[status]:
            item["Status"] = status
            self._messages._append(item, {**event, "Status": status})
            item.setdefault("CarrierSid", carrier_sid)
            item.setdefault("Carrier", carrier)
            item.setdefault("DateSent", event["Timestamp"])
            item.update(copy.deepcopy(attributes))
            return Applied(self._messages.get(message_sid), changed=True)
        self._messages._append(item, {**event, "Status": current.status, "Applied": False})
        return Applied(self._messages.get(message_sid), changed=False)
