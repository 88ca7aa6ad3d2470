"""`smsgw.carriers.Carriers`: which adapter, with which keys from the carrier secret."""

import pytest

from smsgw.carriers import CarrierNotConfiguredError, Carriers, credentials_for
from smsgw.models.carrier import CarrierError
from tests.support import use_test_aws_environment

TWILIO = {"AccountSid": "AC1", "AuthToken": "t", "BaseUrl": "http://127.0.0.1:9"}
VONAGE = {"ApiKey": "k", "ApiSecret": "s", "SignatureSecret": "sig"}


def test_top_level_keys_belong_to_the_deployments_carrier_only():
    secret = TWILIO | {"vonage": VONAGE}

    assert credentials_for(secret, "twilio", "twilio") == TWILIO
    assert credentials_for(secret, "vonage", "twilio") == VONAGE
    assert credentials_for(secret, "eum", "twilio") is None
    assert credentials_for(TWILIO, "twilio", "vonage") is None


def test_unknown_or_unconfigured_carriers_are_not_found_and_adapters_are_built_once():
    reads = []

    def secret():
        reads.append(1)
        return TWILIO

    carriers = Carriers("twilio", secret, 5.0)

    assert carriers.get("TWILIO") is carriers.default
    assert len(reads) == 1
    for name in ("vonage", "acme"):
        with pytest.raises(CarrierNotConfiguredError):
            carriers.get(name)


def test_a_leased_number_uses_its_pool_carrier_and_a_missing_one_is_retried():
    carriers = Carriers(
        "twilio", lambda: TWILIO | {"vonage": VONAGE}, 5.0, pool_carrier={"+614": "vonage"}.get
    )

    def first_choice(of: Carriers, sender: str, leased: bool):
        return of.adapter(of.route_for("+61488023555", sender, leased)[0])

    assert first_choice(carriers, "+614", leased=True).name == "vonage"
    assert first_choice(carriers, "+614", leased=False).name == "twilio"
    assert first_choice(carriers, "+615", leased=True).name == "twilio"
    unconfigured = Carriers("twilio", lambda: TWILIO, 5.0, pool_carrier=lambda _: "eum")
    with pytest.raises(CarrierError) as raised:
        first_choice(unconfigured, "+614", leased=True)
    assert raised.value.permanent is False


@pytest.mark.parametrize(
    "topics",
    [
        "arn:aws:sns:us-east-1:1:events",
        ["arn:aws:sns:us-east-1:1:events"],
        "arn:aws:sns:us-east-1:1:events, arn:aws:sns:us-east-1:1:replies",
    ],
)
def test_eum_topic_arns_may_be_one_string_or_a_list(topics, monkeypatch):
    use_test_aws_environment(monkeypatch)  # the adapter builds its boto3 client (no call)
    carrier = Carriers(
        "eum", lambda: {"OriginationIdentity": "pool-1", "TopicArns": topics}, 5.0
    ).default

    assert "arn:aws:sns:us-east-1:1:events" in carrier._topic_arns
    assert all(arn.startswith("arn:aws:sns:") for arn in carrier._topic_arns)
