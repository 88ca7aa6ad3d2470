"""Where a scheduled message waits, and which waiting messages a scheduler tick releases.

SQS can delay a message by at most 15 minutes. A message due sooner goes straight onto
SendQueue with the delay; a later one waits in the table, indexed by the minute it is due
(its bucket) and a shard of its MessageSid, so that one busy minute is spread over
SHARDS partitions. Every minute the scheduler releases the buckets that have come within
15 minutes, each message with the delay that remains, so it still leaves on time to the
second.
"""

from __future__ import annotations

import zlib

SQS_MAX_DELAY_SECONDS = 900
BUCKET_SECONDS = 60
# Part of the key: changing it would hide messages already waiting under the old shards.
SHARDS = 16
FIRST_TICK_LOOKBACK_SECONDS = 86_400
"""How far back a scheduler with no cursor looks on a table older than a day (first_cursor)."""
CLOCK_SKEW_SECONDS = 60
"""How far a function's clock may be behind DynamoDB's record of the table's creation."""


WAITING_KEYS = ("GSI3PK", "GSI3SK")
"""The attributes that put a message in the scheduler's waiting room (dal/schedule_store.py);
an update that removes them takes it out."""
UNCLAIMED_GRACE_SECONDS = 300
"""How long after it is due a message queued on SendQueue may stay unclaimed before the
scheduler queues it again: its job was never sent (the API died between its write and its
queue send) or is lost. Longer than a job takes to arrive on a healthy queue; a backlog
longer than this gets a second job, which the sender's claim makes harmless."""


def recovery_time(deliver_at: int) -> int:
    """The moment whose bucket holds the recovery entry of a message queued on SendQueue:
    the scheduler releases that bucket 15 minutes ahead of it, i.e. about
    UNCLAIMED_GRACE_SECONDS after the message is due, with no delay (it is overdue)."""
    return deliver_at + UNCLAIMED_GRACE_SECONDS + SQS_MAX_DELAY_SECONDS


def waits_in_table(deliver_at: int, now: int) -> bool:
    """True when the message is due too far ahead for an SQS delay."""
    return deliver_at - now > SQS_MAX_DELAY_SECONDS


def bucket_of(deliver_at: int) -> int:
    return deliver_at // BUCKET_SECONDS


def shard_of(message_sid: str) -> int:
    return zlib.crc32(message_sid.encode()) % SHARDS


def last_releasable_bucket(now: int) -> int:
    """The last bucket whose every message is due within SQS's delay limit from now."""
    return (now + SQS_MAX_DELAY_SECONDS + 1) // BUCKET_SECONDS - 1


def release_delay(deliver_at: int, now: int) -> int:
    """The SendQueue delay that makes a released message due on time (0 if overdue)."""
    return max(0, min(deliver_at - now, SQS_MAX_DELAY_SECONDS))


def first_cursor(now: int, table_created: int) -> int:
    """The cursor (last bucket released) of a scheduler that has never run.

    Nothing can wait in a bucket before the table's creation plus 15 minutes: a message
    waits in the table only when it is due more than 15 minutes after it was stored (its
    recovery entry later still). So a new stack's first tick starts there and reads two or
    three buckets, and misses nothing however late it comes, up to a day. A long-lived table
    that has lost its cursor looks back one day (eight catch-up ticks), not to its first."""
    earliest = table_created + SQS_MAX_DELAY_SECONDS - CLOCK_SKEW_SECONDS
    start = max(earliest, now - FIRST_TICK_LOOKBACK_SECONDS)
    return bucket_of(start) - 1
