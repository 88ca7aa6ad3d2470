"""Routes and failover through the real sender handler under moto, with two carrier
simulators (Twilio's and Vonage's wire formats): a route set with the admin operations
sends +61 to twilio first and vonage second; a carrier that definitely did not take a
message passes it on, an unknown outcome never does, and a refusal of the message itself
fails it. Every message is submitted once in all, counted at both simulators."""

from __future__ import annotations

import json
import socket
import time

import pytest

from smsgw.errors import ErrorCode, NotFoundError, ValidationError
from smsgw.logic.reconcile import GRACE_SECONDS
from smsgw_tools.admin import cli
from smsgw_tools.admin.operations import Admin
from smsgw_tools.simulators.server import CarrierSimulator
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.support import apply_environment, message_item

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "Failover"}
# Receipts go to a closed port: only the sender and reconciliation settle messages here.
BASE = "http://127.0.0.1:9"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack(aws_session, monkeypatch):
    deployed = deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})
    environment = deployed.function_environment

    def short_carrier_timeout(function):  # a held request outlasts it
        return environment(function) | {"CARRIER_TIMEOUT_SECONDS": "0.5"}

    monkeypatch.setattr(deployed, "function_environment", short_carrier_timeout)
    return deployed


class TwoCarriers:
    """A Twilio and a Vonage simulator, both in the carrier secret under their names."""

    def __init__(self, aws_session, stack, twilio: CarrierSimulator, vonage: CarrierSimulator):
        self.twilio, self.vonage = twilio, vonage
        self._secrets = aws_session.client("secretsmanager")
        self._name = stack.parameters["CarrierSecretName"]
        self.put()

    def put(self, twilio_url: str | None = None) -> None:
        twilio, vonage = self.twilio, self.vonage
        secret = {
            "twilio": {
                "AccountSid": twilio.account_sid,
                "AuthToken": twilio.auth_token,
                "BaseUrl": twilio_url or twilio.url,
            },
            "vonage": {
                "ApiKey": vonage.state.vonage.api_key,
                "ApiSecret": vonage.state.vonage.api_secret,
                "SignatureSecret": vonage.state.vonage.signature_secret,
                "SignatureMethod": vonage.state.vonage.signature_method,
                "BaseUrl": vonage.url,
            },
        }
        self._secrets.put_secret_value(SecretId=self._name, SecretString=json.dumps(secret))

    def counts(self) -> dict[str, int]:
        return {"twilio": len(self.twilio.submissions()), "vonage": len(self.vonage.submissions())}


@pytest.fixture
def carriers(aws_session, stack, admin):
    with (
        CarrierSimulator(carrier="twilio") as twilio,
        CarrierSimulator(carrier="vonage") as vonage,
    ):
        both = TwoCarriers(aws_session, stack, twilio, vonage)
        admin.set_route("+61", ["twilio", "vonage"], stack.parameters["CarrierSecretName"])
        yield both


def send(api, aws_session, stack, **changes):
    sid = api.send({**SIMPLE, **changes}).body["Message"]["MessageSid"]
    return sid, queued_records(aws_session, stack)


def attempts(aws_session, stack, sid):
    return [
        (event["Status"], event.get("Carrier"))
        for event in message_item(aws_session, stack, sid)["Events"]
    ]


@pytest.mark.parametrize("fault", ["5xx", "connection refused"])
def test_a_message_the_first_carrier_did_not_take_is_delivered_by_the_second_once(
    fault, api, functions, carriers, aws_session, stack
):
    # Given +61 → twilio, vonage, and twilio answering 5xx or refusing connections
    if fault == "5xx":
        carriers.twilio.set_fault("5xx")
    else:
        carriers.put(twilio_url=f"http://127.0.0.1:{closed_port()}")
    sid, records = send(api, aws_session, stack)

    # When the sender handles its record (and again, as a redelivery)
    first = functions.invoke("sender", {"Records": records})
    again = functions.invoke("sender", {"Records": records})

    # Then vonage sent it, one submission in all, and both attempts are on its Events
    assert first == again == {"batchItemFailures": []}
    assert carriers.counts() == {"twilio": 0, "vonage": 1}
    stored = message_item(aws_session, stack, sid)
    assert (stored["Status"], stored["Carrier"]) == ("sent", "vonage")
    assert stored["CarrierSid"] == carriers.vonage.submissions()[0]["sid"]
    assert attempts(aws_session, stack, sid) == [
        ("queued", None),
        ("sending", None),
        ("sending", "twilio"),
        ("sent", "vonage"),
    ]


def test_a_read_timeout_at_the_first_carrier_never_fails_over_and_is_reconciled_there(
    api, functions, carriers, aws_session, stack
):
    # Given twilio reading the request and holding its answer past our read timeout
    carriers.twilio.set_fault("timeout", count=1, timeout_seconds=2.0)
    sid, records = send(api, aws_session, stack)

    # When the sender handles it, and the record comes again
    functions.invoke("sender", {"Records": records})
    functions.invoke("sender", {"Records": records})

    # Then nothing went to vonage: the message waits, unknown, naming twilio
    assert carriers.counts() == {"twilio": 1, "vonage": 0}
    stored = message_item(aws_session, stack, sid)
    assert (stored["Status"], stored["SubmitState"], stored["Carrier"]) == (
        "sending",
        "unknown",
        "twilio",
    )

    # and reconciliation finds it at twilio
    from smsgw import minute_tick as scheduler

    apply_environment(stack.function_environment("SchedulerFunction"))
    scheduler.reconciler.cache_clear()
    with functions.running("SchedulerFunction"):
        assert scheduler.run_reconcile(time.time() + GRACE_SECONDS + 1).found == 1
    stored = message_item(aws_session, stack, sid)
    assert (stored["Status"], stored["Carrier"]) == ("sent", "twilio")
    assert carriers.counts() == {"twilio": 1, "vonage": 0}


def test_a_refusal_of_the_message_itself_fails_it_without_failover(
    api, functions, carriers, aws_session, stack
):
    # Given a message twilio refuses for its number (21211), on the +61 route
    sid, records = send(api, aws_session, stack)
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    table.update_item(
        Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "To"},
        ExpressionAttributeValues={":t": "+61-not-a-number"},
    )

    # When the sender handles it
    assert functions.invoke("sender", {"Records": records}) == {"batchItemFailures": []}

    # Then it failed with twilio's code, and vonage never saw it
    stored = message_item(aws_session, stack, sid)
    assert (stored["Status"], stored["ErrorCode"], stored["Carrier"]) == ("failed", 30001, "twilio")
    assert stored["CarrierErrorCode"] == "21211"
    assert carriers.counts() == {"twilio": 0, "vonage": 0}


def test_without_routes_the_deployment_carrier_sends_as_before(
    api, functions, simulator, aws_session, stack
):
    sid, records = send(api, aws_session, stack)
    simulator.set_fault("5xx", count=1)

    result = functions.invoke("sender", {"Records": records})

    assert len(result["batchItemFailures"]) == 1
    assert message_item(aws_session, stack, sid)["SubmitState"] == "retryable"


def test_routes_are_set_listed_and_removed_with_the_cli(carriers, stack, capsys):
    secret = stack.parameters["CarrierSecretName"]

    def run(*args):
        code = cli.main(["--table", stack.physical_ids["Table"], "--json", *args])
        captured = capsys.readouterr()
        return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err

    # When routes are set (in the given order), listed and one removed
    code, added, note = run("route", "set", "+1", "vonage,twilio", "--carrier-secret", secret)
    run("route", "set", "DEFAULT", "twilio", "--carrier-secret", secret)
    _, listed, _ = run("route", "list")
    _, removed, _ = run("route", "remove", "+1")
    _, after, _ = run("route", "list")
    gone, _, missing = run("route", "remove", "+1")
    refused, _, unusable = run("route", "set", "+44", "eum", "--carrier-secret", secret)

    # Then each is shown as stored, and a change says when it takes effect
    assert code == 0 and added["Carriers"] == ["vonage", "twilio"]
    assert "within a minute" in note
    assert [(r["Prefix"], r["Carriers"]) for r in listed] == [
        ("+1", ["vonage", "twilio"]),
        ("+61", ["twilio", "vonage"]),
        ("default", ["twilio"]),
    ]
    assert removed["Prefix"] == "+1"
    assert [r["Prefix"] for r in after] == ["+61", "default"]
    # a missing route, and a carrier without keys in the secret, are one line each
    assert gone == 1 and missing.strip() == "smsgw: No route has the prefix +1."
    assert refused == 1 and "'eum'" in unusable and len(unusable.splitlines()) == 1
    with pytest.raises(NotFoundError) as not_found:
        Admin(stack.physical_ids["Table"]).remove_route("+1")
    assert not_found.value.code == ErrorCode.CARRIER_ROUTE_NOT_FOUND
    with pytest.raises(ValidationError) as invalid:
        Admin(stack.physical_ids["Table"]).set_route("+44", ["eum"], secret)
    assert invalid.value.code == ErrorCode.CARRIER_ROUTE_INVALID


def test_a_warm_sender_reads_the_routes_at_most_once_a_minute(aws_session, stack, admin, carriers):
    from smsgw.dal.route_store import RouteStore
    from smsgw.services import ROUTES_CACHE_SECONDS

    # Given the sender's route store, read once
    now = [1000.0]
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    store = RouteStore(table, cache_seconds=ROUTES_CACHE_SECONDS, clock=lambda: now[0])
    assert store.current() == {"+61": ("twilio", "vonage")}

    # When the operator changes the route
    admin.set_route("+61", ["vonage"], stack.parameters["CarrierSecretName"])

    # Then the change is seen once the minute is over, not before
    now[0] += ROUTES_CACHE_SECONDS - 1
    assert store.current() == {"+61": ("twilio", "vonage")}
    now[0] += 1
    assert store.current() == {"+61": ("vonage",)}


def test_a_carrier_breaker_opens_sends_straight_to_the_next_and_closes_after_a_probe(
    api, functions, carriers, aws_session, stack, monkeypatch, capsys
):
    # Given breakers with N = 3 and a one-second cool-down, and twilio answering 5xx
    environment = stack.function_environment
    monkeypatch.setattr(
        stack,
        "function_environment",
        lambda function: (
            environment(function) | {"BREAKER_SUBMISSIONS": "3", "BREAKER_COOLDOWN_SECONDS": "1"}
        ),
    )
    carriers.twilio.set_fault("5xx", count=100)

    def send_one():
        sid, records = send(api, aws_session, stack)
        assert functions.invoke("sender", {"Records": records}) == {"batchItemFailures": []}
        return message_item(aws_session, stack, sid)

    def asked_at_twilio():
        return 100 - carriers.twilio.state.fault()["remaining"]

    # When two messages meet twilio's 5xx, most of its last N (each delivered by vonage) ...
    first = [send_one() for _ in range(2)]
    assert asked_at_twilio() == 2
    assert "CarrierBreakerOpened" in capsys.readouterr().out

    # ... the next one goes straight to vonage: twilio is not asked
    skipped = send_one()
    assert asked_at_twilio() == 2
    assert all(m["Carrier"] == "vonage" and m["Status"] == "sent" for m in [*first, skipped])
    assert skipped["Events"][-2]["Carrier"] == "twilio"

    # Then, twilio back and the cool-down over, a probe goes to twilio and closes it
    carriers.twilio.set_fault("none")
    time.sleep(2.1)  # the cool-down ends within 2 s of the opening (whole seconds, rounded up)
    probe = send_one()
    after = send_one()
    assert (probe["Carrier"], after["Carrier"]) == ("twilio", "twilio")
    # one submission per message in all, counted at both simulators
    assert carriers.counts() == {"twilio": 2, "vonage": 3}
