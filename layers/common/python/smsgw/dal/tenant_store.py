"""Accounts, properties and their credentials.

Keys (see docs/data-model.md):
  account   PK=ACCOUNT#<AccountSid>   SK=ACCOUNT    GSI1PK=ACCOUNTS   GSI1SK=<AccountSid>
  property  PK=PROPERTY#<PropertySid> SK=PROPERTY   GSI1PK=ACCOUNT#<AccountSid>#PROPERTIES
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed
from smsgw.dal.paging import query_full_items
from smsgw.errors import ErrorCode, NotFoundError
from smsgw.models.tenant import Account, Property


def _account_key(account_sid: str) -> dict[str, str]:
    return {"PK": f"ACCOUNT#{account_sid}", "SK": "ACCOUNT"}


def _property_key(property_sid: str) -> dict[str, str]:
    return {"PK": f"PROPERTY#{property_sid}", "SK": "PROPERTY"}


def _retention(property_sid: str, days: int | None, deletes: bool) -> dict[str, Any]:
    """A property created with a retention period: its days, whether it deletes messages,
    and its entry on GSI3's `RETENTION` partition, which the retention pass reads (as
    `set_property_retention` writes them); none without a period."""
    if days is None:
        return {}
    attributes: dict[str, Any] = {
        "RetentionDays": days,
        "GSI3PK": "RETENTION",
        "GSI3SK": property_sid,
    }
    if deletes:
        attributes["RetentionDeletesMessages"] = True
    return attributes


def _account(item: dict[str, Any]) -> Account:
    return Account(
        account_sid=item["AccountSid"],
        name=item.get("Name", ""),
        sms_enabled=bool(item.get("SmsEnabled", False)),
        token_hashes=list(item.get("TokenHashes", [])),
        date_created=item.get("DateCreated", ""),
    )


def _property(item: dict[str, Any]) -> Property:
    return Property(
        property_sid=item["PropertySid"],
        account_sid=item["AccountSid"],
        name=item.get("Name", ""),
        sms_enabled=bool(item.get("SmsEnabled", False)),
        date_created=item.get("DateCreated", ""),
        retention_days=int(item["RetentionDays"]) if "RetentionDays" in item else None,
        retention_deletes_messages=bool(item.get("RetentionDeletesMessages", False)),
        smart_encoding=bool(item.get("SmartEncoding", False)),
    )


class TenantStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get_account(self, account_sid: str) -> Account | None:
        item = self._table.get_item(Key=_account_key(account_sid)).get("Item")
        return _account(item) if item else None

    def get_property(self, property_sid: str) -> Property | None:
        item = self._table.get_item(Key=_property_key(property_sid)).get("Item")
        return _property(item) if item else None

    def put_account(self, account: Account) -> None:
        self._table.put_item(
            Item={
                **_account_key(account.account_sid),
                "GSI1PK": "ACCOUNTS",
                "GSI1SK": account.account_sid,
                "Type": "Account",
                "AccountSid": account.account_sid,
                "Name": account.name,
                "SmsEnabled": account.sms_enabled,
                "TokenHashes": account.token_hashes,
                "DateCreated": account.date_created,
            },
            ConditionExpression="attribute_not_exists(PK)",
        )

    def put_property(self, prop: Property) -> None:
        self._table.put_item(
            Item={
                **_property_key(prop.property_sid),
                "GSI1PK": f"ACCOUNT#{prop.account_sid}#PROPERTIES",
                "GSI1SK": prop.property_sid,
                "Type": "Property",
                "PropertySid": prop.property_sid,
                "AccountSid": prop.account_sid,
                "Name": prop.name,
                "SmsEnabled": prop.sms_enabled,
                "DateCreated": prop.date_created,
                **({"SmartEncoding": True} if prop.smart_encoding else {}),
                **_retention(
                    prop.property_sid, prop.retention_days, prop.retention_deletes_messages
                ),
            },
            ConditionExpression="attribute_not_exists(PK)",
        )

    def set_account_sms(self, account_sid: str, enabled: bool) -> None:
        self._update(_account_key(account_sid), "SmsEnabled", enabled, "account", account_sid)

    def set_property_sms(self, property_sid: str, enabled: bool) -> None:
        self._update(_property_key(property_sid), "SmsEnabled", enabled, "property", property_sid)

    def set_property_retention(
        self, property_sid: str, days: int | None, delete_messages: bool = False
    ) -> None:
        """Keep the property's message text `days` days, or (None) for good; with
        `delete_messages`, delete the messages themselves then. A property with a period is
        listed on the sparse GSI3 partition `RETENTION`, which the scheduler's retention
        pass reads (dal/retention_store.py). Removing the period forgets the pass's cursor
        (`RetainedThrough`): a period set again walks the property's messages from the
        first, and with them the replies that arrived while it had none."""
        update: dict[str, Any] = {
            "UpdateExpression": (
                "REMOVE RetentionDays, RetentionDeletesMessages, RetainedThrough, GSI3PK, GSI3SK"
            )
        }
        if days is not None:
            values: dict[str, Any] = {":d": days, ":pk": "RETENTION", ":sk": property_sid}
            expression = "SET RetentionDays = :d, GSI3PK = :pk, GSI3SK = :sk"
            if delete_messages:
                expression += ", RetentionDeletesMessages = :x"
                values[":x"] = True
            else:
                expression += " REMOVE RetentionDeletesMessages"
            update = {"UpdateExpression": expression, "ExpressionAttributeValues": values}
        self._update_property(property_sid, update)

    def set_property_smart_encoding(self, property_sid: str, on: bool) -> None:
        """The property's SmartEncoding default for a send request that does not say. Off
        (the default) removes the attribute, so a property that never set it and one set
        back read the same."""
        update: dict[str, Any] = (
            {"UpdateExpression": "SET SmartEncoding = :v", "ExpressionAttributeValues": {":v": on}}
            if on
            else {"UpdateExpression": "REMOVE SmartEncoding"}
        )
        self._update_property(property_sid, update)

    def _update_property(self, property_sid: str, update: dict[str, Any]) -> None:
        """`update` (UpdateItem's expression and values) on an existing property."""
        try:
            self._table.update_item(
                Key=_property_key(property_sid),
                ConditionExpression="attribute_exists(PK)",
                **update,
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise NotFoundError(
                    ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.", None
                ) from exc
            raise

    def set_token_hashes(self, account_sid: str, token_hashes: list[dict[str, str]]) -> None:
        self._update(_account_key(account_sid), "TokenHashes", token_hashes, "account", account_sid)

    def _update(self, key: dict, attribute: str, value: Any, kind: str, sid: str) -> None:
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET #a = :v",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={":v": value},
            )
        except ClientError as exc:
            if condition_failed(exc):
                code = (
                    ErrorCode.PROPERTY_NOT_FOUND
                    if kind == "property"
                    else ErrorCode.ACCOUNT_NOT_FOUND
                )
                raise NotFoundError(code, f"No {kind} {sid}.", None) from exc
            raise

    def list_accounts(self) -> list[Account]:
        return [_account(i) for i in self._query_all("ACCOUNTS")]

    def list_properties(self, account_sid: str) -> list[Property]:
        return [_property(i) for i in self._query_all(f"ACCOUNT#{account_sid}#PROPERTIES")]

    def _query_all(self, partition: str) -> list[dict[str, Any]]:
        return list(
            query_full_items(
                self._table, IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq(partition)
            )
        )
