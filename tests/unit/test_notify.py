"""The notifier's retry policy and the destination checks, with time and DNS injected."""

import ipaddress
import socket

import pytest

from smsgw import explanations
from smsgw.logic import webhook_delivery as notify
from smsgw.logic.webhook_delivery import (
    DELIVERED,
    GAVE_UP,
    GONE,
    MAX_ATTEMPTS,
    REFUSED,
    RETRY,
    RETRY_SCHEDULE,
    DeliveryError,
    DestinationRefusedError,
    Notifier,
)
from smsgw.models.callback import CallbackJob
from smsgw.webhook_client import WebhookClient, resolve_checked

PAYLOAD = {
    "MessageSid": "SM" + "1" * 32,
    "AccountSid": "AC" + "2" * 32,
    "PropertySid": "PR" + "3" * 32,
    "ExternalId": None,
    "From": "+61499009990",
    "To": "+61488023555",
    "Status": "delivered",
    "ErrorCode": None,
    "ErrorMessage": None,
    "Timestamp": "2026-11-27T02:10:21.101Z",
    "IsFinal": True,
}


class Secrets:
    def active_secrets(self, property_sid, now):
        return ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]


class Log:
    def __init__(self):
        self.attempts = []

    def record_attempt(self, message_sid, attempt):
        self.attempts.append(attempt)


class Endpoint:
    """A customer endpoint that answers with the given statuses (or raises)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def notifier(endpoint, log, clock, rand=lambda: 0.0):
    return Notifier(secrets=Secrets(), attempts=log, transport=endpoint, clock=clock, rand=rand)


def job():
    return CallbackJob("msg_1", "https://hooks.example.com/r", "POST", dict(PAYLOAD))


def test_failing_endpoint_is_retried_on_schedule_for_over_a_day_then_given_up():
    # Given an endpoint that always fails, and a clock the test moves
    now = [1_800_000_000.0]
    timed_out = DeliveryError("read timed out", detail=explanations.WEBHOOK_TIMED_OUT)
    endpoint = Endpoint(*([503] * 4 + [timed_out] * 4))
    log = Log()
    hooks = notifier(endpoint, log, lambda: now[0])

    # When each attempt is made when SQS would hand the job back
    outcomes = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = hooks.deliver(job(), attempt)
        outcomes.append(outcome)
        now[0] += outcome.retry_in or 0

    # Then it waited 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, and gave up after 8 attempts
    assert [o.retry_in for o in outcomes[:-1]] == list(RETRY_SCHEDULE)
    assert [o.result for o in outcomes] == [RETRY] * 7 + [GAVE_UP]
    assert sum(RETRY_SCHEDULE) >= 24 * 3600
    assert [a["Attempt"] for a in log.attempts] == list(range(1, 9))
    assert log.attempts[0]["HttpStatus"] == 503
    assert log.attempts[-1]["Detail"] == explanations.WEBHOOK_TIMED_OUT
    assert log.attempts[0]["NextAttemptAt"] == "2027-01-15T08:00:05.000Z"
    assert len(endpoint.requests) == MAX_ATTEMPTS


def test_jitter_only_lengthens_the_wait_by_up_to_a_fifth():
    assert notify.retry_delay(1, rand=lambda: 0.0) == 5
    assert notify.retry_delay(1, rand=lambda: 0.999) == 6
    assert notify.retry_delay(4, rand=lambda: 0.5) == 7920
    assert notify.retry_delay(7, rand=lambda: 0.999) <= notify.MAX_VISIBILITY_SECONDS


def test_each_attempt_is_signed_at_its_own_time():
    now = [1_800_000_000.0]
    endpoint = Endpoint(500, 200)
    hooks = notifier(endpoint, Log(), lambda: now[0])

    hooks.deliver(job(), 1)
    now[0] += 5
    outcome = hooks.deliver(job(), 2)

    first, second = endpoint.requests
    assert outcome.result == DELIVERED
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "msg_1"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 5


def test_410_gone_stops_retries():
    log = Log()

    outcome = notifier(Endpoint(410), log, lambda: 1_800_000_000.0).deliver(job(), 1)

    assert (outcome.result, outcome.retry_in) == (GONE, None)
    assert log.attempts[0]["Result"] == "gone"


def test_refused_destination_is_not_retried():
    endpoint = Endpoint(DestinationRefusedError("resolves to 10.0.0.1"))

    outcome = notifier(endpoint, Log(), lambda: 1_800_000_000.0).deliver(job(), 1)

    assert (outcome.result, outcome.retry_in) == (REFUSED, None)


def resolver_to(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def resolve(host, port, **_):
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "192.168.1.20",
        "fd00:ec2::254",
        "224.0.0.1",
        "100.64.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_host_names_resolving_to_internal_addresses_are_refused(address):
    with pytest.raises(DestinationRefusedError):
        resolve_checked("hooks.example.com", 443, (), resolver_to(address))


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/r",
        "http://10.0.0.1/r",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/r",
    ],
)
def test_internal_literals_are_refused_before_any_connection(uri):
    client = WebhookClient(resolver=socket.getaddrinfo)
    request = notify.HttpRequest("POST", uri, {}, "{}")

    with pytest.raises(DestinationRefusedError):
        client(request)


def test_one_internal_address_among_several_refuses_the_name():
    def resolve(host, port, **_):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    with pytest.raises(DestinationRefusedError):
        resolve_checked("hooks.example.com", 443, (), resolve)


def test_allow_list_permits_an_internal_network():
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)

    assert resolve_checked("sink.local", 80, allowed, resolver_to("127.0.0.1")) == "127.0.0.1"
    with pytest.raises(DestinationRefusedError):
        resolve_checked("sink.local", 80, allowed, resolver_to("10.0.0.1"))


def test_public_address_is_returned_for_pinning():
    assert resolve_checked("hooks.example.com", 443, (), resolver_to("93.184.215.14")) == (
        "93.184.215.14"
    )
