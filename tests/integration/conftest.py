"""Handlers in-process under moto, with the resources built from template.yaml."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from smsgw_tools.admin.operations import Admin
from smsgw_tools.local.resources import Stack
from smsgw_tools.simulators.server import CarrierSimulator
from tests.moto_snapshots import deploy_once
from tests.support import (
    CallRecorder,
    LambdaContext,
    TableStream,
    apply_environment,
    basic_auth,
    load_handler,
    sqs_records,
    stack_table,
    use_test_aws_environment,
)

FUNCTIONS = {
    "api": "ApiFunction",
    "authorizer": "AuthorizerFunction",
    "sender": "SenderFunction",
    "webhooks": "WebhooksFunction",
    "notifier": "NotifierFunction",
    "scheduler": "SchedulerFunction",
}


@pytest.fixture
def aws_session(monkeypatch) -> Iterator[boto3.session.Session]:
    use_test_aws_environment(monkeypatch)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def stack(aws_session) -> Stack:
    return deploy_once(aws_session)


@pytest.fixture
def table(aws_session, stack) -> Any:
    """The stack's table, read and written through the test's own session."""
    return stack_table(aws_session, stack)


@pytest.fixture
def simulator(aws_session, stack) -> Iterator[CarrierSimulator]:
    with CarrierSimulator() as sim:
        aws_session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=json.dumps(
                {"AccountSid": sim.account_sid, "AuthToken": sim.auth_token, "BaseUrl": sim.url}
            ),
        )
        yield sim


@dataclass
class Tenant:
    account_sid: str
    auth_token: str
    property_sid: str

    @property
    def authorization(self) -> str:
        return basic_auth(self.account_sid, self.auth_token)


@pytest.fixture
def admin(aws_session, stack) -> Admin:
    return Admin(stack.physical_ids["Table"], session=aws_session)


@pytest.fixture
def tenant(admin) -> Tenant:
    account = admin.create_account("Acme")
    prop = admin.create_property(account["AccountSid"], "Acme web shop")
    return Tenant(account["AccountSid"], account["AuthToken"], prop["PropertySid"])


class Functions:
    """Invoke a function's real handler with its own template environment."""

    def __init__(self, stack: Stack, calls: CallRecorder | None = None) -> None:
        self._stack = stack
        self._modules: dict[str, Any] = {}
        self._saved = dict(os.environ)
        self._calls = calls

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        apply_environment(self._stack.function_environment(FUNCTIONS[function]))
        if function not in self._modules:
            self._modules[function] = load_handler(function)
        with self.running(FUNCTIONS[function]):
            return self._modules[function].lambda_handler(event, LambdaContext())

    @contextmanager
    def running(self, logical_id: str) -> Iterator[None]:
        """The AWS calls made inside are the function's (a test that calls a function's
        entry point below its handler says so with this)."""
        if self._calls:
            self._calls.function = logical_id
        try:
            yield
        finally:
            if self._calls:
                self._calls.function = None

    def restore(self) -> None:
        os.environ.clear()
        os.environ.update(self._saved)


@pytest.fixture
def functions(stack, aws_calls_file) -> Iterator[Functions]:
    invoker = Functions(stack, CallRecorder.for_session(aws_calls_file))
    yield invoker
    invoker.restore()


@pytest.fixture
def table_stream(aws_session, stack) -> TableStream:
    """The table's stream from its start, filtered as the notifier's event source filters
    it; `table_stream.deliver(functions)` invokes the notifier with what is new."""
    return TableStream(aws_session, stack)


ROUTES = {
    ("POST", 3): "/v1/Properties/{PropertySid}/Sms",
    ("GET", 3): "/v1/Properties/{PropertySid}/Sms",
    ("GET", 4): "/v1/Properties/{PropertySid}/Sms/{MessageSid}",
    ("DELETE", 4): "/v1/Properties/{PropertySid}/Sms/{MessageSid}",
    ("GET", 5): "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses",
    ("POST", 5): "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Redact",
}


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Api:
    """Calls the API the way API Gateway does: the authorizer first, its context passed on."""

    def __init__(self, functions: Functions, tenant: Tenant) -> None:
        self._functions = functions
        self._tenant = tenant

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        authorization: str | None = "tenant",
    ) -> ApiResponse:
        from tests.support import event as load_event

        segments = path.strip("/").split("/")
        route = ROUTES[(method, len(segments) - 1)]
        request_headers = {"host": "api.example.com"}
        if body is not None or raw_body is not None:
            request_headers["content-type"] = "application/json"
        if authorization == "tenant":
            authorization = self._tenant.authorization
        if authorization is not None:
            request_headers["authorization"] = authorization
        request_headers.update({k.lower(): v for k, v in (headers or {}).items()})

        authorizer_event = load_event("authorizer_request")
        authorizer_event["headers"] = request_headers
        authorizer_event["identitySource"] = [authorization]
        decision = self._functions.invoke("authorizer", authorizer_event)
        assert decision["isAuthorized"] is True

        api_event = load_event("api_send")
        api_event["routeKey"] = f"{method} {route}"
        api_event["rawPath"] = "/" + "/".join(segments)
        api_event["requestContext"]["http"]["method"] = method
        api_event["requestContext"]["http"]["path"] = api_event["rawPath"]
        api_event["requestContext"]["authorizer"] = {"lambda": decision["context"]}
        api_event["pathParameters"] = dict(
            zip(["PropertySid", "MessageSid"], segments[2:5:2], strict=False)
        )
        api_event["headers"] = request_headers
        api_event["queryStringParameters"] = query
        api_event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
        if raw_body is not None:
            api_event["body"] = raw_body
        elif body is not None:
            api_event["body"] = json.dumps(body)
        else:
            api_event.pop("body", None)
        result = self._functions.invoke("api", api_event)
        return ApiResponse(
            result["statusCode"], json.loads(result["body"] or "{}"), result.get("headers") or {}
        )

    def send(self, body: Any, property_sid: str | None = None, **kwargs: Any) -> ApiResponse:
        sid = property_sid or self._tenant.property_sid
        return self.call("POST", f"/v1/Properties/{sid}/Sms", body=body, **kwargs)


@pytest.fixture
def api(functions, tenant) -> Api:
    return Api(functions, tenant)


def queued_records(aws_session, stack: Stack) -> list[dict[str, Any]]:
    """Everything now on SendQueue, received as SQS-event records (and left invisible)."""
    return sqs_records(
        aws_session.client("sqs"), stack.queue_url("SendQueue"), stack.queue_arn("SendQueue")
    )


def invoke_sender_at(
    functions: Functions, monkeypatch: Any, now: float, records: list[dict[str, Any]]
) -> Any:
    """Invoke the sender's handler with `records` as if its clock read `now`: the test plays
    how long a job waited (a throttled carrier, a retry's backoff) without sleeping."""
    from smsgw.logic.dispatch import Dispatcher

    built = Dispatcher.__init__

    def at_now(self: Dispatcher, **kwargs: Any) -> None:
        built(self, **kwargs, clock=lambda: now)

    with monkeypatch.context() as patch:
        patch.setattr(Dispatcher, "__init__", at_now)
        return functions.invoke("sender", {"Records": records})
