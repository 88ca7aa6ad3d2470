"""The pool of operator-owned numbers that leases are taken from.

Keys (see docs/data-model.md):
  number   PK=POOL#<number>  SK=POOL            GSI1PK=POOL          GSI1SK=<number>
  country  PK=POOL#<number>  SK=COUNTRY#<cc>    GSI1PK=POOL#<cc>     GSI1SK=<number>
A number has one country item per country it may send to, so "the numbers for AU" is one
Query on GSI1, and no request path scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.paging import query_full_items
from smsgw.errors import ErrorCode, NotFoundError


@dataclass(frozen=True, slots=True)
class PoolNumber:
    number: str
    countries: tuple[str, ...]
    date_created: str = ""
    carrier: str | None = None
    """The carrier this number belongs to; None: the deployment's (docs/carriers.md)."""


def number_key(number: str) -> dict[str, str]:
    return {"PK": f"POOL#{number}", "SK": "POOL"}


class PoolStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def add(
        self,
        number: str,
        countries: tuple[str, ...],
        created: str,
        carrier: str | None = None,
    ) -> PoolNumber:
        """Add a number (or replace its countries and carrier) in one transaction."""
        existing = self.get(number)
        carrier_attribute = {"Carrier": carrier} if carrier else {}
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **number_key(number),
                        "Type": "PoolNumber",
                        "GSI1PK": "POOL",
                        "GSI1SK": number,
                        "Number": number,
                        "Countries": list(countries),
                        "DateCreated": existing.date_created if existing else created,
                        **carrier_attribute,
                    },
                }
            }
        ]
        for country in countries:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": {
                            "PK": f"POOL#{number}",
                            "SK": f"COUNTRY#{country}",
                            "Type": "PoolCountry",
                            "GSI1PK": f"POOL#{country}",
                            "GSI1SK": number,
                            "Number": number,
                        },
                    }
                }
            )
        for country in set(existing.countries if existing else ()) - set(countries):
            writes.append(
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": {"PK": f"POOL#{number}", "SK": f"COUNTRY#{country}"},
                    }
                }
            )
        self._table.meta.client.transact_write_items(TransactItems=writes)
        return PoolNumber(
            number, countries, existing.date_created if existing else created, carrier
        )

    def get(self, number: str) -> PoolNumber | None:
        item = self._table.get_item(Key=number_key(number), ConsistentRead=True).get("Item")
        return _pool_number(item) if item else None

    def contains(self, number: str) -> bool:
        """Whether `number` is one of the pool's (for any country). One eventually
        consistent GetItem of the key."""
        found = self._table.get_item(Key=number_key(number), ProjectionExpression="PK")
        return "Item" in found

    def carrier_of(self, number: str) -> str | None:
        """The carrier a pool number belongs to; None when it names none (or is not in
        the pool). One eventually consistent GetItem of one attribute."""
        found = self._table.get_item(Key=number_key(number), ProjectionExpression="Carrier")
        return (found.get("Item") or {}).get("Carrier") or None

    def remove(self, number: str) -> PoolNumber:
        """Take a number out of the pool. Its live leases run out; no new ones are made
        (allocation checks the number item in its transaction)."""
        found = self.get(number)
        if found is None:
            raise NotFoundError(
                ErrorCode.POOL_NUMBER_NOT_FOUND, f"{number} is not in the pool.", "Number"
            )
        writes = [{"Delete": {"TableName": self._table.name, "Key": number_key(number)}}]
        writes += [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": {"PK": f"POOL#{number}", "SK": f"COUNTRY#{country}"},
                }
            }
            for country in found.countries
        ]
        try:
            self._table.meta.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:  # pragma: no cover - a concurrent remove
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
        return found

    def list(self) -> list[PoolNumber]:
        return [_pool_number(item) for item in self._query("POOL")]

    def numbers_for(self, country: str, page_size: int = 100):
        """The pool's numbers that may send to `country`, a page (a list) at a time."""
        kwargs: dict[str, Any] = {
            "IndexName": "GSI1",
            "KeyConditionExpression": Key("GSI1PK").eq(f"POOL#{country}"),
            "Limit": page_size,
        }
        while True:
            page = self._table.query(**kwargs)
            numbers = [item["GSI1SK"] for item in page["Items"]]  # the index's sort key
            if numbers:
                yield numbers
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, partition: str) -> list[dict[str, Any]]:
        return list(
            query_full_items(
                self._table, IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq(partition)
            )
        )


def _pool_number(item: dict[str, Any]) -> PoolNumber:
    return PoolNumber(
        number=item["Number"],
        countries=tuple(item.get("Countries") or ()),
        date_created=item.get("DateCreated", ""),
        carrier=item.get("Carrier") or None,
    )
