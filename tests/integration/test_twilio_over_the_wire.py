"""TwilioCarrier against a running CarrierSimulator, over real HTTP on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests

from smsgw.carriers.twilio import TwilioCarrier
from smsgw.models.carrier import CarrierError, OutboundSms, OutcomeUnknownError
from smsgw_tools.simulators.server import CarrierSimulator

READ_TIMEOUT = 0.5
CARRIER_HOLDS = 20.0  # a timeout fault's hold: the simulator releases it when it stops
TO = "+447700900123"


@pytest.fixture(scope="module")
def simulator() -> Iterator[CarrierSimulator]:
    with CarrierSimulator(timeout_seconds=2.0) as sim:
        yield sim


@pytest.fixture
def sim(simulator: CarrierSimulator) -> CarrierSimulator:
    simulator.reset()
    return simulator


@pytest.fixture
def carrier(sim: CarrierSimulator) -> TwilioCarrier:
    return TwilioCarrier(sim.account_sid, sim.auth_token, sim.url, read_timeout=READ_TIMEOUT)


def _sms(to: str = TO, text: str = "Your code is 1234") -> OutboundSms:
    return OutboundSms(
        message_sid="SMours",
        sender="Acme",
        to=to,
        text=text,
        status_callback_url="https://gw.example.com/v1/Carriers/twilio/Receipts?smsgw_sid=SMours",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_accepted_submission_is_held_once_with_its_fields(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    # When a message is submitted
    result = carrier.submit(_sms())
    # Then Twilio's sid and status come back
    assert result.carrier_sid.startswith("SM") and len(result.carrier_sid) == 34
    assert result.carrier_status == "queued"
    # and the simulator holds exactly that one submission
    [held] = sim.submissions()
    assert held["sid"] == result.carrier_sid
    assert (held["From"], held["To"], held["Body"], held["outcome"]) == (
        "Acme",
        TO,
        "Your code is 1234",
        "accepted",
    )
    assert held["StatusCallback"] == _sms().status_callback_url


@pytest.mark.parametrize(("validity", "sent"), [(600, "600"), (0, "1"), (40_000, "36000")])
def test_the_validity_that_remains_goes_as_twilio_validity_period_within_its_range(
    sim: CarrierSimulator, carrier: TwilioCarrier, validity: int, sent: str
) -> None:
    carrier.submit(replace(_sms(), validity_seconds=validity))

    [held] = sim.submissions()
    assert held["ValidityPeriod"] == sent


def test_without_a_validity_no_validity_period_is_sent(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    carrier.submit(_sms())
    assert sim.submissions()[0]["ValidityPeriod"] is None


@pytest.mark.parametrize("validity", ["0", "36001", "60.5", "soon"])
def test_the_simulator_refuses_a_validity_period_twilio_would(
    sim: CarrierSimulator, validity: str
) -> None:
    form = {"From": "Acme", "To": TO, "Body": "Hi", "ValidityPeriod": validity}
    answer = requests.post(
        f"{sim.url}/2010-04-01/Accounts/{sim.account_sid}/Messages.json",
        data=form,
        auth=(sim.account_sid, sim.auth_token),
        timeout=5,
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 21624)
    assert sim.submissions() == []


def test_wrong_credentials_are_a_transient_error(sim: CarrierSimulator) -> None:
    carrier = TwilioCarrier(sim.account_sid, "wrong-token", sim.url)
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert caught.value.permanent is False
    assert sim.submissions() == []


def test_invalid_recipient_is_a_permanent_error_with_twilio_code(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms(to="07700900123"))
    assert (caught.value.permanent, caught.value.code) == (True, "21211")
    assert "not a valid phone number" in str(caught.value)
    assert sim.submissions() == []


@pytest.mark.parametrize(("mode", "retry_after"), [("5xx", None), ("429", 1.0)])
def test_carrier_failure_is_transient_and_then_clears(
    sim: CarrierSimulator, carrier: TwilioCarrier, mode: str, retry_after: float | None
) -> None:
    # Given the carrier fails the next submission
    sim.set_fault(mode, count=1)
    # When two are submitted
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    carrier.submit(_sms())
    # Then the first is a transient error (with Retry-After when throttled), the second passes
    assert (caught.value.permanent, caught.value.retry_after) == (False, retry_after)
    assert len(sim.submissions()) == 1


def test_beyond_the_carriers_own_rate_limit_submissions_are_throttled_and_counted(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    # Given the carrier taking 2 submissions a second, 2 at once
    sim.set_rate_limit(2, burst=2)

    # When three go at once, and one more half a second later
    answers = []
    for wait in (0, 0, 0, 0.55):
        time.sleep(wait)
        try:
            carrier.submit(_sms())
            answers.append("taken")
        except CarrierError as refused:
            answers.append(f"{refused.code} permanent={refused.permanent}")  # 429: no code

    # Then the third is a 429 (transient), counted; half a second later a token is back
    assert answers == ["taken", "taken", "None permanent=False", "taken"]
    assert sim.state.throttled == 1 and len(sim.submissions()) == 3
    assert [r["fault"] for r in sim.state.refused()] == ["429"]


def test_an_opted_out_fault_is_a_refusal_of_the_message_that_does_not_fail_over(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    # Given the carrier refuses the next message for its recipient (opted out)
    sim.set_fault("opted-out", count=1)
    # When it is submitted
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    # Then the refusal is permanent and about the message: no other carrier may take it
    assert (caught.value.permanent, caught.value.fails_over) == (True, False)
    assert sim.submissions() == []


def test_fault_for_one_recipient_spares_the_others(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    sim.set_fault("5xx", to="+447700900999")
    carrier.submit(_sms())
    with pytest.raises(CarrierError):
        carrier.submit(_sms(to="+447700900999"))
    assert [s["To"] for s in sim.submissions()] == [TO]


def test_timeout_is_an_unknown_outcome_within_the_read_timeout(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    # Given the carrier holds the request far past the client's read timeout
    sim.set_fault("timeout", count=1, timeout_seconds=CARRIER_HOLDS)
    # When a message is submitted
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError):
        carrier.submit(_sms())
    # Then the client gives up after its read timeout, not the carrier's delay (the margin
    # is wide: a busy machine must not decide the answer)
    assert READ_TIMEOUT <= time.monotonic() - started < CARRIER_HOLDS / 2
    # and the simulator counts the submission as possibly taken
    assert [s["outcome"] for s in sim.submissions()] == ["unknown"]


def test_dropped_connection_is_an_unknown_outcome(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    sim.set_fault("drop", count=1)
    with pytest.raises(OutcomeUnknownError):
        carrier.submit(_sms())
    assert [s["outcome"] for s in sim.submissions()] == ["unknown"]


def test_refused_connection_is_transient() -> None:
    # Given nothing listens on the port
    carrier = TwilioCarrier("ACx", "token", f"http://127.0.0.1:{_free_port()}")
    # When / Then the carrier cannot have the message: retry is safe
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert caught.value.permanent is False


def test_a_submission_a_fault_refused_is_listed_apart_from_those_taken(
    sim: CarrierSimulator, carrier: TwilioCarrier
) -> None:
    # Given the carrier answers the next submission with a 5xx
    sim.set_fault("5xx", count=1)
    # When two are submitted
    with pytest.raises(CarrierError):
        carrier.submit(_sms(to="+447700900999"))
    carrier.submit(_sms())
    # Then the refused one is listed as refused, by its fault, and not as taken
    answer = requests.get(f"{sim.url}/_sim/messages", timeout=5).json()
    assert [m["To"] for m in answer["messages"]] == [TO]
    assert [(m["To"], m["fault"]) for m in answer["refused"]] == [("+447700900999", "5xx")]


def test_a_stopped_simulator_refuses_connections_and_comes_back_on_its_port() -> None:
    # Given a running simulator the adapter was given the URL of
    with CarrierSimulator() as sim:
        url = sim.url
        carrier = TwilioCarrier(sim.account_sid, sim.auth_token, url, read_timeout=READ_TIMEOUT)

        # When it stops (a carrier that is down), then starts again
        sim.stop()
        with pytest.raises(CarrierError) as refused:
            carrier.submit(_sms())
        sim.start()

        # Then the submission while down was refused transiently, and one after it is taken
        # at the same URL
        carrier.submit(_sms())
        assert refused.value.permanent is False
        assert sim.url == url and len(sim.submissions()) == 1


def test_concurrent_submissions_are_answered_concurrently(sim: CarrierSimulator) -> None:
    # Given every answer takes 1 s (well within this client's read timeout)
    latency = 1.0
    sim.set_latency(latency)
    carrier = TwilioCarrier(sim.account_sid, sim.auth_token, sim.url, read_timeout=10 * latency)
    # When 10 messages are submitted at once
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(carrier.submit, [_sms(text=f"m{i}") for i in range(10)]))
    elapsed = time.monotonic() - started
    # Then all are accepted in far less than the 10 s one after the other would take
    assert len({r.carrier_sid for r in results}) == 10
    assert elapsed < 5 * latency
    assert len(sim.submissions()) == 10


def test_control_endpoints_over_http(sim: CarrierSimulator, carrier: TwilioCarrier) -> None:
    base = f"{sim.url}/_sim"
    with requests.Session() as http:
        # health
        assert http.get(f"{base}/health", timeout=5).json()["status"] == "ok"
        # faults: set over HTTP, felt by the adapter
        fault = {"mode": "5xx", "count": 1, "to": TO}
        assert http.post(f"{base}/faults", json=fault, timeout=5).json()["remaining"] == 1
        with pytest.raises(CarrierError):
            carrier.submit(_sms())
        # a bad fault mode is a 400, and so is Vonage's status fault
        assert http.post(f"{base}/faults", json={"mode": "bogus"}, timeout=5).status_code == 400
        assert http.post(f"{base}/faults", json={"mode": "status"}, timeout=5).status_code == 400
        # latency
        assert http.post(f"{base}/latency", json={"seconds": 0}, timeout=5).json() == {
            "seconds": 0.0
        }
        # messages
        carrier.submit(_sms())
        messages = http.get(f"{base}/messages", timeout=5).json()["messages"]
        assert [m["To"] for m in messages] == [TO]
        # reset
        assert http.post(f"{base}/reset", timeout=5).status_code == 200
        assert http.get(f"{base}/messages", timeout=5).json()["messages"] == []
