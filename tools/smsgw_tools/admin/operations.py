"""Operator actions on accounts and properties, over the same table the functions use.

Works against a deployed stack (the table name from the stack's outputs) and against the
local moto server (an endpoint URL).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

import boto3

from smsgw.carriers import CARRIER_NAMES, configured_carriers
from smsgw.dal.pool import PoolNumber, PoolStore
from smsgw.dal.rate_store import RateLimit, RateStore
from smsgw.dal.route_store import Route, RouteStore
from smsgw.dal.tenant_store import Account, Property, TenantStore
from smsgw.dal.webhook_secrets import WebhookSecretStore, active
from smsgw.errors import ErrorCode, NotFoundError, ValidationError
from smsgw.ids import ACCOUNT_PREFIX, PROPERTY_PREFIX, new_sid
from smsgw.kernel.addresses import parse_e164
from smsgw.logic.credentials import hash_token, new_token
from smsgw.logic.rate_limits import checked_limit
from smsgw.logic.routing import checked_carriers, checked_prefix
from smsgw.models.message import iso_from_epoch, iso_now


class Admin:
    def __init__(
        self,
        table_name: str,
        session: boto3.session.Session | None = None,
        endpoint_url: str | None = None,
        config: Any = None,
    ) -> None:
        session = session or boto3.session.Session()
        dynamodb = session.resource("dynamodb", endpoint_url=endpoint_url, config=config)
        table = dynamodb.Table(table_name)
        self._tenants = TenantStore(table)
        self._webhook_secrets = WebhookSecretStore(table)
        self._pool = PoolStore(table)
        self._routes = RouteStore(table)
        self._rates = RateStore(table)
        self._secrets = lambda: session.client(
            "secretsmanager", endpoint_url=endpoint_url, config=config
        )

    def create_account(self, name: str, sms_enabled: bool = True) -> dict[str, Any]:
        """A new account and its AuthToken, which is shown only here, once."""
        token = new_token()
        account = Account(
            account_sid=new_sid(ACCOUNT_PREFIX),
            name=name,
            sms_enabled=sms_enabled,
            token_hashes=[{**hash_token(token), "Created": iso_now()}],
            date_created=iso_now(),
        )
        self._tenants.put_account(account)
        return {**_account_view(account), "AuthToken": token}

    def create_property(
        self, account_sid: str, name: str, sms_enabled: bool = True
    ) -> dict[str, Any]:
        self._account(account_sid)
        prop = Property(
            property_sid=new_sid(PROPERTY_PREFIX),
            account_sid=account_sid,
            name=name,
            sms_enabled=sms_enabled,
            date_created=iso_now(),
        )
        self._tenants.put_property(prop)
        self._webhook_secrets.ensure(prop.property_sid, time.time())
        return _property_view(prop)

    def webhook_secret(self, property_sid: str) -> dict[str, Any]:
        """The property's webhook signing secrets (a property without one gets one now)."""
        self._webhook_secrets.ensure(property_sid, time.time())
        return self._secrets_view(property_sid)

    def rotate_webhook_secret(self, property_sid: str) -> dict[str, Any]:
        """Issue a new webhook secret; the previous one signs beside it for 24 hours."""
        self._webhook_secrets.rotate(property_sid, time.time())
        return self._secrets_view(property_sid)

    def drop_previous_webhook_secrets(self, property_sid: str) -> dict[str, Any]:
        """End a rotation now: only the newest secret stays (nothing is rotated)."""
        self._webhook_secrets.drop_previous(property_sid, time.time())
        return self._secrets_view(property_sid)

    def _secrets_view(self, property_sid: str) -> dict[str, Any]:
        entries = active(self._webhook_secrets.entries(property_sid) or [], time.time())
        return {
            "PropertySid": property_sid,
            "WebhookSecret": entries[-1]["Secret"],
            "PreviousWebhookSecrets": [
                {"Secret": e["Secret"], "ValidUntil": iso_from_epoch(int(e["ExpiresAt"]))}
                for e in entries[:-1]
            ],
        }

    def set_account_sms(self, account_sid: str, enabled: bool) -> dict[str, Any]:
        self._tenants.set_account_sms(account_sid, enabled)
        return _account_view(self._account(account_sid))

    def set_property_sms(self, property_sid: str, enabled: bool) -> dict[str, Any]:
        self._tenants.set_property_sms(property_sid, enabled)
        prop = self._tenants.get_property(property_sid)
        assert prop is not None
        return _property_view(prop)

    def set_property_retention(
        self, property_sid: str, days: int | None, delete_messages: bool = False
    ) -> dict[str, Any]:
        """Remove the property's message and reply text `days` days after each message was
        created, or with `delete_messages` delete the messages and their replies then;
        None (or 0) keeps them, as by default."""
        if delete_messages and not days:
            raise ValueError("deleting messages needs a retention period")
        self._tenants.set_property_retention(property_sid, days or None, delete_messages)
        prop = self._tenants.get_property(property_sid)
        assert prop is not None
        return _property_view(prop)

    def set_property_smart_encoding(self, property_sid: str, on: bool) -> dict[str, Any]:
        """SmartEncoding for the property's send requests that do not say (off by default);
        a request's own `SmartEncoding` wins. Read by each send: it applies to the next."""
        self._tenants.set_property_smart_encoding(property_sid, on)
        prop = self._tenants.get_property(property_sid)
        assert prop is not None
        return _property_view(prop)

    def rotate_token(self, account_sid: str, keep_previous: bool = False) -> dict[str, Any]:
        """A new AuthToken. The previous one stops working now, or with `keep_previous`
        stays valid beside the new one until the next rotation."""
        account = self._account(account_sid)
        token = new_token()
        kept = account.token_hashes[-1:] if keep_previous else []
        self._tenants.set_token_hashes(
            account_sid, [*kept, {**hash_token(token), "Created": iso_now()}]
        )
        return {"AccountSid": account_sid, "AuthToken": token, "PreviousTokenValid": keep_previous}

    def list_accounts(self) -> list[dict[str, Any]]:
        return [_account_view(a) for a in self._tenants.list_accounts()]

    def list_properties(self, account_sid: str) -> list[dict[str, Any]]:
        self._account(account_sid)
        return [_property_view(p) for p in self._tenants.list_properties(account_sid)]

    def add_pool_number(
        self, number: str, countries: list[str], carrier: str | None = None
    ) -> dict[str, Any]:
        """Add an operator-owned number to the lease pool (or replace its countries and
        carrier: None sends through the deployment's carrier)."""
        if carrier is not None and carrier not in CARRIER_NAMES:
            raise ValidationError(
                ErrorCode.POOL_NUMBER_INVALID,
                f"Carrier must be one of {', '.join(CARRIER_NAMES)}.",
                "Carrier",
            )
        added = self._pool.add(*pool_entry(number, countries), iso_now(), carrier)
        return _pool_view(added)

    def list_pool(self) -> list[dict[str, Any]]:
        return [_pool_view(n) for n in self._pool.list()]

    def remove_pool_number(self, number: str) -> dict[str, Any]:
        """Take a number out of the pool; its live leases run to their expiry."""
        return _pool_view(self._pool.remove(pool_entry(number, ["US"])[0]))

    def set_route(self, prefix: str, carriers: list[str], carrier_secret: str) -> dict[str, Any]:
        """Set the carriers, in order, for destinations starting with `prefix` (or for
        `default`): known carriers with credentials in the secret `carrier_secret`."""
        prefix = checked_prefix(prefix)
        answer = self._secrets().get_secret_value(SecretId=carrier_secret)
        try:
            secret = json.loads(answer.get("SecretString") or "{}")
        except ValueError:
            secret = {}
        usable = configured_carriers(secret if isinstance(secret, dict) else {})
        route = self._routes.put(prefix, checked_carriers(carriers, usable), iso_now())
        return _route_view(route)

    def list_routes(self) -> list[dict[str, Any]]:
        return [_route_view(route) for route in self._routes.list()]

    def remove_route(self, prefix: str) -> dict[str, Any]:
        return _route_view(self._routes.remove(checked_prefix(prefix)))

    def set_rate(self, carrier: str, rate: str, sender: str | None = None) -> dict[str, Any]:
        """Limit `carrier` (or one sender number's messages through it) to `rate` messages
        a second, across every sender invocation."""
        name, value, number = checked_limit(carrier, rate, sender, CARRIER_NAMES)
        return _rate_view(self._rates.put(RateLimit(name, number, value), iso_now()))

    def list_rates(self) -> list[dict[str, Any]]:
        return [_rate_view(limit) for limit in self._rates.list()]

    def remove_rate(self, carrier: str, sender: str | None = None) -> dict[str, Any]:
        name, _, number = checked_limit(carrier, 1, sender, CARRIER_NAMES)
        return _rate_view(self._rates.remove(name, number))

    def _account(self, account_sid: str) -> Account:
        account = self._tenants.get_account(account_sid)
        if account is None:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, f"No account {account_sid}.", None)
        return account


def pool_entry(number: str, countries: list[str]) -> tuple[str, tuple[str, ...]]:
    """A pool number and its countries, checked: E.164, and ISO 3166 region codes."""
    import phonenumbers

    number = parse_e164(number.strip(), "Number", ErrorCode.POOL_NUMBER_INVALID)
    regions = tuple(dict.fromkeys(c.strip().upper() for c in countries if c.strip()))
    unknown = [c for c in regions if c not in phonenumbers.SUPPORTED_REGIONS]
    if not regions or unknown:
        raise ValidationError(
            ErrorCode.POOL_NUMBER_INVALID,
            f"Countries must be ISO 3166 region codes such as AU,NZ (not {','.join(unknown)}).",
            "Countries",
        )
    return number, regions


def _pool_view(entry: PoolNumber) -> dict[str, Any]:
    view = {
        "Number": entry.number,
        "Countries": ",".join(entry.countries),
        "DateCreated": entry.date_created,
    }
    if entry.carrier:
        view["Carrier"] = entry.carrier
    return view


def _route_view(route: Route) -> dict[str, Any]:
    return {
        "Prefix": route.prefix,
        "Carriers": list(route.carriers),
        "DateUpdated": route.date_updated,
    }


def _rate_view(limit: RateLimit) -> dict[str, Any]:
    view: dict[str, Any] = {"Carrier": limit.carrier}
    if limit.sender:
        view["Sender"] = limit.sender
    rate = int(limit.rate) if limit.rate.is_integer() else limit.rate  # 20, not 20.0
    return view | {"Rate": rate, "DateUpdated": limit.date_updated}


def _account_view(account: Account) -> dict[str, Any]:
    return {
        "AccountSid": account.account_sid,
        "Name": account.name,
        "SmsEnabled": account.sms_enabled,
        "DateCreated": account.date_created,
    }


def _property_view(prop: Property) -> dict[str, Any]:
    view = asdict(prop)
    return {
        "PropertySid": view["property_sid"],
        "AccountSid": view["account_sid"],
        "Name": view["name"],
        "SmsEnabled": view["sms_enabled"],
        "DateCreated": view["date_created"],
        "RetentionDays": view["retention_days"],
        "RetentionDeletesMessages": view["retention_deletes_messages"],
        "SmartEncoding": view["smart_encoding"],
    }
