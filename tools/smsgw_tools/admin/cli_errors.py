"""The `smsgw` command's expected failures, each said in one line (`cli.main` prints it).

An operator's wrong region, missing credentials, unknown stack or table, a stopped local
stack, throttling or a refusal are not bugs: they get a sentence saying what is wrong and
what to do, never a traceback. botocore's and requests' exceptions are translated here,
in one place, by type and error code."""

from __future__ import annotations

import sys
from typing import Any

LOCAL_HINT = "for the local stack use --local"
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "SlowDown",
}
DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}


class CliError(Exception):
    """An expected failure; its message is the line the operator sees."""


def describe(error: BaseException, where: dict[str, Any]) -> str | None:
    """The one line for an expected failure, or None for a bug (which keeps its traceback).

    `where` says what the command was talking to: `endpoint`, `region`, `table`,
    `info_file` (set when the target came from the local stack's info file)."""
    import botocore.exceptions as boto

    # Only the `local` commands import requests: if none did, its errors cannot be this one.
    requests = sys.modules.get("requests")
    endpoint = where.get("endpoint") or "AWS"
    info_file = where.get("info_file")
    match error:
        case CliError():
            return str(error)
        case boto.NoRegionError():
            return f"no AWS region: pass --region or set AWS_REGION ({LOCAL_HINT})"
        case boto.NoCredentialsError() | boto.PartialCredentialsError():
            return (
                "no AWS credentials: configure a profile (AWS_PROFILE) or set "
                f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({LOCAL_HINT})"
            )
        case boto.EndpointConnectionError() | boto.ConnectionError() if info_file:
            return _stale(endpoint, info_file)
        case boto.EndpointConnectionError() | boto.ConnectionError():
            return f"cannot reach {endpoint}: check --endpoint-url (is the server running?)"
        case boto.ClientError():
            return _client_error(error, where)
        case _ if requests and isinstance(error, requests.ConnectionError | requests.Timeout):
            url = where.get("url") or getattr(error.request, "url", None) or "the server"
            if info_file:
                return _stale(url, info_file)
            return f"cannot reach {url}: is the local stack running? start it with `make serve`"
        case _ if requests and isinstance(error, requests.JSONDecodeError):
            url = where.get("url") or "the server"
            if info_file:
                return _stale(url, info_file)
            return (
                f"{url} answered, but not in JSON: it is not a carrier simulator; pass the "
                "SimulatorUrl `smsgw local up` prints as --url (or leave --url out while it runs)"
            )
        case _ if requests and isinstance(
            error, requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema
        ):
            return f"{where.get('url') or 'the URL'} is no http:// URL: pass --url http://HOST:PORT"
        case boto.BotoCoreError():
            return f"AWS: {error}"
    return None


def _stale(url: str, info_file: Any) -> str:
    return (
        f"the local stack in {info_file} does not answer at {url}: start it with "
        f"`make serve` (a stopped stack removes that file; if it was killed, delete it)"
    )


def _client_error(error: Any, where: dict[str, Any]) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = " ".join(str(error.response.get("Error", {}).get("Message", "")).split())[:120]
    operation = error.operation_name
    if code in THROTTLED:
        return f"AWS throttled {operation} ({code}): wait a moment and run it again"
    if code in DENIED:
        hint = (
            "restart it (`make serve`)"
            if where.get("info_file")
            else f"the credentials are not valid there or lack the permission ({LOCAL_HINT}: "
            "it signs with the stack's admin key)"
        )
        return f"{where.get('endpoint') or 'AWS'} refused {operation} ({code}): {hint}"
    if code == "ResourceNotFoundException" and operation == "GetSecretValue":
        return (
            f"no carrier secret by that name in region {where.get('region') or '?'} at "
            f"{where.get('endpoint') or 'AWS'}: name the stack's CarrierSecretName with "
            "--carrier-secret (or SMSGW_CARRIER_SECRET)"
        )
    if code == "ResourceNotFoundException" and where.get("table"):
        return (
            f"no table {where['table']} in region {where.get('region') or '?'} at "
            f"{where.get('endpoint') or 'AWS'}: check --table/--stack and --region ({LOCAL_HINT})"
        )
    return f"AWS answered {operation} with {code}: {message}"
