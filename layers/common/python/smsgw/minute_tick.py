"""The scheduler function's glue: one tick per EventBridge event."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from smsgw import services
from smsgw.config import settings
from smsgw.dal import aws
from smsgw.dal.schedule_store import ScheduleStore
from smsgw.logic.schedule_release import Scheduler, TickResult
from smsgw.warm import warm

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="schedule")


@warm
def scheduler() -> Scheduler:
    queue = services.send_queue()
    return Scheduler(
        ScheduleStore(aws.table(settings().table_name)),
        queue.enqueue_many,
        # Longer than the function's timeout, so a running tick never loses its lease.
        lease_seconds=360,
        pool=_pool,
    )


def run_tick(owner: str, now: float | None = None) -> TickResult:
    return scheduler().tick(int(time.time() if now is None else now), owner)


@warm
def reconciler():
    """Unknown-outcome reconciliation (smsgw.logic.reconcile), run after each tick."""
    from smsgw.carriers import CarrierNotConfiguredError
    from smsgw.logic.reconcile import Reconciler
    from smsgw.models.carrier import CarrierError, OutboundSms

    carriers = services.carriers()

    def carrier_for(message):
        try:
            if message.carrier:
                return carriers.get(message.carrier)
        except CarrierNotConfiguredError as exc:
            raise CarrierError(str(exc), permanent=False) from exc
        # no carrier recorded: the claim ended during its first submission, made to the
        # first carrier of the message's route
        return carriers.adapter(
            carriers.route_for(message.to, message.sender, bool(message.lease))[0]
        )

    def outbound(message, carrier):
        return OutboundSms(message.message_sid, message.sender or "", message.to, message.text)

    return Reconciler(
        claims=services.claims(),
        carrier_for=carrier_for,
        outbound=outbound,
        receipts=services.receipts(),
    )


def run_reconcile(now: float | None = None):
    return reconciler().run(int(time.time() if now is None else now))


def run_retention(now: float | None = None):
    """Retaining properties' text past its period removed (smsgw.logic.retention)."""
    from smsgw.dal.retention_store import RetentionStore
    from smsgw.logic.retention import expire_text

    return expire_text(
        RetentionStore(aws.table(settings().table_name)),
        services.messages(),
        services.replies(),
        time.time() if now is None else now,
    )
