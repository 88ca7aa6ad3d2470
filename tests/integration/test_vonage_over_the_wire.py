"""VonageCarrier against a running CarrierSimulator speaking Vonage, over real HTTP on loopback."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from smsgw.carriers.vonage import VonageCarrier
from smsgw.models.carrier import CallbackRequest, CarrierError, OutboundSms, OutcomeUnknownError
from smsgw_tools.simulators.server import CarrierSimulator
from smsgw_tools.simulators.vonage_wire import signed_callback

READ_TIMEOUT = 0.5
CARRIER_HOLDS = 20.0  # a timeout fault's hold: the simulator releases it when it stops
TO = "+447700900123"
SID = "SM" + "0" * 32


@pytest.fixture(scope="module")
def simulator() -> Iterator[CarrierSimulator]:
    with CarrierSimulator(carrier="vonage", timeout_seconds=2.0) as sim:
        yield sim


@pytest.fixture
def sim(simulator: CarrierSimulator) -> CarrierSimulator:
    simulator.reset()
    return simulator


@pytest.fixture
def carrier(sim: CarrierSimulator) -> VonageCarrier:
    return _carrier(sim)


def _carrier(sim: CarrierSimulator, secret: str | None = None) -> VonageCarrier:
    credentials = sim.state.vonage
    return VonageCarrier(
        credentials.api_key,
        secret or credentials.api_secret,
        signature_secret=credentials.signature_secret,
        base_url=sim.url,
        read_timeout=READ_TIMEOUT,
    )


def _sms(to: str = TO, text: str = "Your code is 1234") -> OutboundSms:
    return OutboundSms(
        message_sid=SID,
        sender="Acme",
        to=to,
        text=text,
        status_callback_url=f"https://gw.example.com/v1/Carriers/vonage/Receipts?smsgw_sid={SID}",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_accepted_submission_is_held_once_with_vonage_fields(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    # When a message is submitted
    result = carrier.submit(_sms())
    # Then Vonage's message-id comes back and the simulator holds that one submission
    [held] = sim.submissions()
    assert result.carrier_sid == held["message_ids"][0] == held["sid"]
    form = held["form"]
    assert (form["from"], form["to"], form["text"], form["client-ref"], held["outcome"]) == (
        "Acme",
        "447700900123",
        "Your code is 1234",
        SID,
        "accepted",
    )
    assert form["callback"] == "https://gw.example.com/v1/Carriers/vonage/Receipts"
    assert "api_secret" not in form
    # recorded in the simulator's common shape too (E.164 recipient, the callback, our sid)
    assert (held["From"], held["To"], held["Body"], held["ClientRef"]) == (
        "Acme",
        TO,
        "Your code is 1234",
        SID,
    )
    assert held["StatusCallback"] == form["callback"]


def test_long_unicode_text_goes_as_parts_and_keeps_all_ids(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    result = carrier.submit(_sms(text="Привет! " * 20))
    [held] = sim.submissions()
    assert held["form"]["type"] == "unicode"
    assert len(held["message_ids"]) == 3
    assert list(result.message_ids) == held["message_ids"]


def test_wrong_credentials_are_a_transient_error(sim: CarrierSimulator) -> None:
    with pytest.raises(CarrierError) as caught:
        _carrier(sim, secret="wrong").submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (False, "4")
    assert sim.submissions() == []


@pytest.mark.parametrize(("validity", "ttl"), [(600, "600000"), (5, "20000"), (36_000, "36000000")])
def test_the_validity_that_remains_goes_as_vonage_ttl_in_milliseconds_within_its_range(
    sim: CarrierSimulator, carrier: VonageCarrier, validity: int, ttl: str
) -> None:
    carrier.submit(replace(_sms(), validity_seconds=validity))

    [held] = sim.submissions()
    assert held["form"]["ttl"] == ttl


def test_without_a_validity_no_ttl_is_sent(sim: CarrierSimulator, carrier: VonageCarrier) -> None:
    carrier.submit(_sms())
    assert "ttl" not in sim.submissions()[0]["form"]


@pytest.mark.parametrize("ttl", ["19999", "604800001", "1.5", "soon"])
def test_the_simulator_refuses_a_ttl_vonage_would(sim: CarrierSimulator, ttl: str) -> None:
    credentials = sim.state.vonage
    form = {
        "api_key": credentials.api_key,
        "api_secret": credentials.api_secret,
        "from": "Acme",
        "to": TO[1:],
        "text": "Hi",
        "ttl": ttl,
    }
    answer = requests.post(f"{sim.url}/sms/json", data=form, timeout=5).json()
    assert answer["messages"][0]["status"] == "3"  # Invalid Parameters
    assert sim.submissions() == []


@pytest.mark.parametrize(("status", "permanent"), [(1, False), (9, False), (7, True), (15, True)])
def test_vonage_status_in_the_answer_is_classified(
    sim: CarrierSimulator, carrier: VonageCarrier, status: int, permanent: bool
) -> None:
    sim.set_fault("status", status=status, count=1)
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (permanent, str(status))
    carrier.submit(_sms())
    assert len(sim.submissions()) == 1


@pytest.mark.parametrize(("mode", "retry_after"), [("5xx", None), ("429", 1.0)])
def test_http_failure_is_transient_and_then_clears(
    sim: CarrierSimulator, carrier: VonageCarrier, mode: str, retry_after: float | None
) -> None:
    sim.set_fault(mode, count=1)
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    carrier.submit(_sms())
    assert (caught.value.permanent, caught.value.retry_after) == (False, retry_after)
    assert len(sim.submissions()) == 1


def test_timeout_is_an_unknown_outcome_within_the_read_timeout(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    sim.set_fault("timeout", count=1, timeout_seconds=CARRIER_HOLDS)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError):
        carrier.submit(_sms())
    assert READ_TIMEOUT <= time.monotonic() - started < CARRIER_HOLDS / 2
    assert [s["outcome"] for s in sim.submissions()] == ["unknown"]


def test_dropped_connection_is_an_unknown_outcome(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    sim.set_fault("drop", count=1)
    with pytest.raises(OutcomeUnknownError):
        carrier.submit(_sms())
    assert [s["outcome"] for s in sim.submissions()] == ["unknown"]


def test_an_opted_out_fault_is_a_refusal_of_the_message_that_does_not_fail_over(
    sim: CarrierSimulator, carrier: VonageCarrier
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
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    sim.set_fault("5xx", to="+447700900999")
    carrier.submit(_sms())
    with pytest.raises(CarrierError):
        carrier.submit(_sms(to="+447700900999"))
    assert [s["form"]["to"] for s in sim.submissions()] == ["447700900123"]


def test_refused_connection_is_transient() -> None:
    carrier = VonageCarrier(
        "k", "s", signature_secret=None, base_url=f"http://127.0.0.1:{_free_port()}"
    )
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert caught.value.permanent is False


def test_simulator_signed_receipt_verifies_and_parses(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    # Given a submission and the DLR a Vonage-format sender would POST for it
    result = carrier.submit(_sms())
    dlr = signed_callback(
        {
            "msisdn": "447700900123",
            "to": "Acme",
            "messageId": result.carrier_sid,
            "status": "delivered",
            "err-code": "0",
            "client-ref": SID,
            "message-timestamp": "2025-01-01 12:00:00",
        },
        sim.state.vonage.signature_secret,
    )
    request = CallbackRequest(
        method="POST",
        url="https://gw.example.com/v1/Carriers/vonage/Receipts",
        headers={"Content-Type": "application/json"},
        body=json.dumps(dlr),
    )
    # When / Then it verifies and names both ids
    assert carrier.verify(request)
    receipt = carrier.parse_receipt(request)
    assert (receipt.status, receipt.carrier_sid, receipt.message_sid) == (
        "delivered",
        result.carrier_sid,
        SID,
    )


def test_status_fault_over_the_control_endpoint(
    sim: CarrierSimulator, carrier: VonageCarrier
) -> None:
    # Given a Vonage status fault set over HTTP (as `smsgw local sim` would)
    base = f"{sim.url}/_sim"
    fault = {"mode": "status", "status": 7, "count": 1, "to": TO}
    answer = requests.post(f"{base}/faults", json=fault, timeout=5).json()
    assert (answer["mode"], answer["status"], answer["remaining"]) == ("status", 7, 1)
    # When / Then the next submission is refused permanently with that status, once
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (True, "7")
    carrier.submit(_sms())
    messages = requests.get(f"{base}/messages", timeout=5).json()["messages"]
    assert [m["To"] for m in messages] == [TO]
