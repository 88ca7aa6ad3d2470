"""In-memory fakes of the ports the use cases depend on, for fast unit tests.

One fake per store or port; each keeps the real store's observable behaviour that the
logic relies on (conditional writes, forward-only moves, once-only stores), not just a
dict. Each store fake is held honest by a contract test in `tests/contract/` that runs
the same assertions against the fake and against the real `smsgw.dal` store on moto:

| fake | stands for | contract |
|---|---|---|
| `FakeMessageStore` (`FakeClaimStore`) | `dal.messages.MessageStore`, `ClaimStore` | `test_message_store_contract.py` |
| `FakeScheduleStore` | `dal.schedule.ScheduleStore` (waiting room, cursor) | `test_schedule_store_contract.py` |
| `FakeReceiptStore` | `dal.receipts.ReceiptStore` (`ReceiptStoreLike`) | `test_receipt_store_contract.py` |
| `FakeLeaseStore` | `dal.leases.LeaseStore` (`LeaseStoreLike`, `LeaseLookup`) | `test_lease_store_contract.py` |
| `FakePool` | `dal.pool.PoolStore` (`PoolLike`, `PoolMembers`) | `test_lease_store_contract.py` |
| `FakeReplyStore` | `dal.replies.ReplyStore` (`ReplyStoreLike`, `ForwardClaims`) | `test_reply_store_contract.py` |
| `FakeRetentionStore` | `dal.retention_store.RetentionStore` (`RetentionStoreLike`) | `test_retention_store_contract.py` |
| `FakeSendQueue` | `dal.queue.SendQueue` (`SendQueueLike`) | `test_queue_contract.py` |
| `FakeCallbackQueue` | `dal.callbacks.CallbackQueue` (`JobQueue`) | `test_queue_contract.py` |
| `FakeTenantStore` | `dal.tenants.TenantStore` (the sender's reads) | `test_tenant_store_contract.py` |
| `FakeBreakerStore` | `dal.breaker_store.BreakerStore` (`logic.breaker.BreakerStore`) | `test_breaker_store_contract.py` |
| `FakeRateStore` | `dal.rate_store.RateStore` (`logic.rate_limits.RateStore`) | `test_rate_store_contract.py` |
| `FakeCarrier` | a carrier adapter (`carriers.base.Carrier`, `reconcile`) | none: scripted |
| `FakeCarriers` | a deployment's carriers with routes (`route_for`, `adapter`) | none: scripted |
| `FakeMailer` | `dal.email.SesMailer` (`Mailer`) | none: scripted |

The carrier and the mailer stand for the outside world: a test scripts what they answer.
"""

from tests.fakes.breakers import FakeBreakerStore
from tests.fakes.carrier import FakeCarrier, FakeCarriers, FakeMailer, callback
from tests.fakes.leases import FakeLeaseStore, FakePool
from tests.fakes.messages import FakeClaimStore, FakeMessageStore, FakeScheduleStore
from tests.fakes.queues import FakeCallbackQueue, FakeSendQueue
from tests.fakes.rates import FakeRateStore
from tests.fakes.receipts import FakeReceiptStore
from tests.fakes.replies import FakeReplyStore
from tests.fakes.tenants import FakeTenantStore

__all__ = [
    "FakeBreakerStore",
    "FakeCallbackQueue",
    "FakeCarrier",
    "FakeCarriers",
    "FakeClaimStore",
    "FakeLeaseStore",
    "FakeMailer",
    "FakeMessageStore",
    "FakePool",
    "FakeRateStore",
    "FakeReceiptStore",
    "FakeReplyStore",
    "FakeScheduleStore",
    "FakeSendQueue",
    "FakeTenantStore",
    "callback",
]
