"""The carrier simulators in the local stack, set up as an operator sets up real carriers.

One simulator per carrier the stack serves, each in its carrier's wire format, on a port of
its own (`start_simulators`); their keys go into the carrier secret (`stack_secret`): the
deployment carrier's at the top level, every other carrier's under its name, so routes can
name any of them. For End User Messaging the stack also stands in for AWS's network
(`harness_environment`: the SNS host name mapped to the simulator's HTTPS server, its CA
trusted) and subscribes the gateway's callback URLs to the simulator's SNS topics
(`subscribe_sns`), as docs/local-stack.md describes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from smsgw_tools.local.resources import Stack
from smsgw_tools.simulators.eum_wire import EumAccount
from smsgw_tools.simulators.server import CarrierSimulator

logger = logging.getLogger(__name__)

CARRIER_LOGICAL_ID = "CarrierSecret"
CA_BUNDLE_NAME = "ca-bundle.pem"

CallbackUrl = Callable[[str, str], str]
"""(carrier, Receipts or Responses) → the carrier's callback URL (the webhooks function's)."""


def start_simulators(
    host: str, stack: Stack, callback_url: CallbackUrl, carriers: Sequence[str]
) -> dict[str, CarrierSimulator]:
    """A running simulator per carrier, each in its carrier's wire format (End User
    Messaging's in the stack's account and region), posting replies to its carrier's
    Responses URL. Stops the ones it started if one fails to start."""
    simulators: dict[str, CarrierSimulator] = {}
    try:
        for carrier in carriers:
            simulators[carrier] = start_simulator(host, stack, callback_url, carrier)
    except BaseException:
        for simulator in simulators.values():
            simulator.stop()
        raise
    return simulators


def start_simulator(
    host: str, stack: Stack, callback_url: CallbackUrl, carrier: str
) -> CarrierSimulator:
    """A running simulator in `carrier`'s wire format, posting replies to its Responses URL."""
    account = EumAccount(region=stack.region, account_id=stack.account_id)
    simulator = CarrierSimulator(host=host, port=0, carrier=carrier, eum=account).start()
    # Replies go where a carrier's number configuration would send them: Responses.
    simulator.state.replies.url = callback_url(carrier, "Responses")
    return simulator


def stack_secret(simulators: Mapping[str, CarrierSimulator], default: str) -> dict[str, Any]:
    """The carrier secret of a stack whose carriers are `simulators`: the deployment
    carrier's keys at the top level (as with one carrier), every other's under its name
    (docs/carriers.md, "Configuring a deployment")."""
    secret = carrier_secret(simulators[default], default) if default in simulators else {}
    for carrier, simulator in simulators.items():
        if carrier != default:
            secret[carrier] = carrier_secret(simulator, carrier)
    return secret


def carrier_secret(simulator: CarrierSimulator, carrier: str) -> dict[str, Any]:
    """The simulator's keys, as an operator puts a real carrier's in the secret."""
    if carrier == "vonage":
        vonage = simulator.state.vonage
        return {
            "ApiKey": vonage.api_key,
            "ApiSecret": vonage.api_secret,
            "SignatureSecret": vonage.signature_secret,
            "SignatureMethod": vonage.signature_method,
            "BaseUrl": simulator.url,
        }
    if carrier == "eum":
        account = simulator.state.eum
        return {
            "EndpointUrl": simulator.url,
            "OriginationIdentity": account.origination_identity,
            "ConfigurationSetName": account.configuration_set,
            "TopicArns": [account.events_topic, account.replies_topic],
        }
    return {
        "AccountSid": simulator.account_sid,
        "AuthToken": simulator.auth_token,
        "BaseUrl": simulator.url,
    }


def harness_environment(simulator: CarrierSimulator | None, directory: Path) -> dict[str, str]:
    """What the workers need of this machine's network when the simulator plays SNS:
    the SNS host name mapped to its HTTPS server, and its CA trusted (a bundle of the
    usual CAs plus it, written to `directory`, the stack's temporary directory)."""
    sns = simulator.sns if simulator is not None else None
    if sns is None:
        return {}
    from requests import certs

    bundle = directory / CA_BUNDLE_NAME
    bundle.write_bytes(Path(certs.where()).read_bytes() + b"\n" + sns.authority.pem)
    return {"SMSGW_LOCAL_HOSTS": sns.hosts, "REQUESTS_CA_BUNDLE": str(bundle)}


def subscribe_sns(simulator: CarrierSimulator | None, callback_url: CallbackUrl) -> None:
    """Subscribe the gateway's eum Receipts and Responses URLs to the simulator's
    events and replies topics, as an operator does after deploying. SNS sends each a
    SubscriptionConfirmation at once, which the webhooks function confirms; SNS
    delivers nothing to a subscription left unconfirmed, so that is logged loudly."""
    sns = simulator.sns if simulator is not None else None
    if sns is None:
        return
    for topic, kind in (
        (sns.account.events_topic, "Receipts"),
        (sns.account.replies_topic, "Responses"),
    ):
        subscription = sns.subscribe(topic, callback_url("eum", kind))
        if not subscription["confirmed"]:
            logger.warning(
                "the SNS subscription of %s was not confirmed: %s",
                subscription["endpoint"],
                subscription["confirmation"],
            )
