"""The stores and queues a function uses, built once per process from its settings."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from smsgw.config import settings
from smsgw.dal import aws
from smsgw.dal.claim_store import ClaimStore
from smsgw.dal.idempotency import IdempotencyStore
from smsgw.dal.message_store import MessageStore
from smsgw.dal.send_queue import SendQueue
from smsgw.dal.tenant_store import TenantStore
from smsgw.warm import warm

if TYPE_CHECKING:  # imported where used: the authorizer and the other functions never send
    from smsgw.logic.send_request_use_case import SendLimits, SendRequests


@warm
def tenants() -> TenantStore:
    return TenantStore(aws.table(settings().table_name))


@warm
def messages() -> MessageStore:
    return MessageStore(aws.table(settings().table_name))


@warm
def claims() -> ClaimStore:
    return ClaimStore(aws.table(settings().table_name))


@warm
def idempotency() -> IdempotencyStore:
    return IdempotencyStore(aws.table(settings().table_name))


@warm
def send_queue() -> SendQueue:
    return SendQueue(aws.sqs(), settings().send_queue_url)


@warm
def send_limits() -> SendLimits:
    from smsgw.logic.send_request_use_case import SendLimits

    config = settings()
    return SendLimits(
        max_text_characters=config.max_text_characters,
        allowed_webhook_networks=tuple(
            ipaddress.ip_network(n) for n in config.webhook_allowed_networks
        ),
    )


@warm
def send_requests() -> SendRequests:
    """The send use case with the API's stores (the sender builds its own for raw requests)."""
    from smsgw.logic.send_request_use_case import SendRequests

    return SendRequests(
        tenants=tenants(),
        messages=messages(),
        queue=send_queue(),
        limits=send_limits(),
        leasing=leasing(),
        idempotency=idempotency(),
    )


# --- delivery receipts and customer webhooks (webhooks, notifier, sender) ---------------


@warm
def carriers():
    """Every carrier adapter the deployment can use (docs/carriers.md), built on first use;
    routes pick them by destination, and a leased number's pool item may name its own."""
    from smsgw.carriers import Carriers
    from smsgw.dal.pool import PoolStore
    from smsgw.dal.secrets import load_secret

    config = settings()
    pool = PoolStore(aws.table(config.table_name))
    return Carriers(
        config.carrier,
        lambda: load_secret(config.carrier_secret_name),
        config.carrier_timeout_seconds,
        pool_carrier=pool.carrier_of,
        routes=routes().current,
    )


@warm
def routes():
    """The routes by destination prefix; a warm process re-reads them at most once a
    minute (docs/carriers.md, "Routes")."""
    from smsgw.dal.route_store import RouteStore

    return RouteStore(aws.table(settings().table_name), cache_seconds=ROUTES_CACHE_SECONDS)


ROUTES_CACHE_SECONDS = 60


@warm
def breakers():
    """The carriers' circuit breakers, shared through the table (docs/carriers.md,
    "Circuit breakers")."""
    from smsgw.dal.breaker_store import BreakerStore
    from smsgw.logic.breaker import BreakerPolicy, CircuitBreakers

    config = settings()
    policy = BreakerPolicy(
        submissions=config.breaker_submissions,
        failure_ratio=config.breaker_failure_ratio,
        cooldown_seconds=config.breaker_cooldown_seconds,
        probes=config.breaker_probes,
    )
    return CircuitBreakers(BreakerStore(aws.table(config.table_name)), policy)


@warm
def rate_limits():
    """The carriers' throughput limits, shared through the table; a warm process re-reads
    them at most once a minute (docs/carriers.md, "Rate limits")."""
    from smsgw.dal.rate_store import RateStore
    from smsgw.logic.rate_limits import RateLimits

    table = aws.table(settings().table_name)
    return RateLimits(RateStore(table, cache_seconds=RATES_CACHE_SECONDS))


RATES_CACHE_SECONDS = 60


def carrier():
    """The deployment's own carrier adapter."""
    return carriers().default


@warm
def receipts():
    from smsgw.dal.receipt_store import ReceiptStore

    return ReceiptStore(aws.table(settings().table_name))


@warm
def callback_queue():
    from smsgw.dal.callback_store import CallbackQueue

    return CallbackQueue(aws.sqs(), settings().callback_queue_url)


@warm
def callback_log():
    from smsgw.dal.callback_store import CallbackLog

    return CallbackLog(aws.table(settings().table_name))


@warm
def webhook_secrets():
    from smsgw.dal.webhook_secrets import WebhookSecretStore

    # Each warm notifier re-reads a property's secrets at most once a minute.
    return WebhookSecretStore(aws.table(settings().table_name), cache_seconds=60)


# --- leases, replies and opt-outs (api, sender, webhooks, notifier) ---------------------


@warm
def lease_store():
    from smsgw.dal.lease_store import LeaseStore

    return LeaseStore(aws.table(settings().table_name))


@warm
def leasing():
    from smsgw.dal.pool import PoolStore
    from smsgw.logic.leases import Leasing

    return Leasing(leases=lease_store(), pool=PoolStore(aws.table(settings().table_name)))


@warm
def replies():
    from smsgw.dal.reply_store import ReplyStore

    return ReplyStore(aws.table(settings().table_name))
