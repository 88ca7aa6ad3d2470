"""The carrier secret in Secrets Manager (docs/carriers.md)."""

from __future__ import annotations

from typing import Any

from smsgw.dal import aws

SECRET_MAX_AGE_SECONDS = 300


def load_secret(secret_name: str) -> dict[str, Any]:
    """The carrier secret (Powertools Parameters caches it for five minutes)."""
    from aws_lambda_powertools.utilities import parameters

    provider = parameters.SecretsProvider(boto3_client=aws.secretsmanager())
    secret = provider.get(secret_name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    return secret if isinstance(secret, dict) else {}
