"""Carrier adapters; `configured_carrier` builds the deployment's one."""

from __future__ import annotations

from smsgw.carriers.base import Carrier


def configured_carrier(carrier: str, secret_name: str, timeout_seconds: float) -> Carrier:
    """The carrier named by the deployment, with credentials from Secrets Manager
    (Powertools Parameters caches the secret for five minutes)."""
    from aws_lambda_powertools.utilities import parameters

    from smsgw.dal import aws

    provider = parameters.SecretsProvider(boto3_client=aws.secretsmanager())
    secret = provider.get(secret_name, transform="json", max_age=300)
    if carrier == "twilio":
        from smsgw.carriers.twilio import TwilioCarrier
        from smsgw.observability import tracer

        tracer.patch(["requests"])

        return TwilioCarrier(
            secret["AccountSid"],
            secret["AuthToken"],
            secret.get("BaseUrl") or "https://api.twilio.com",
            read_timeout=timeout_seconds,
        )
    raise ValueError(f"unknown carrier {carrier!r}")
