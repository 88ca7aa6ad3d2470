"""Property-based fuzz of every public route, in-process under moto (issue #8).

Hypothesis drives each customer route the way API Gateway calls it (the authorizer, then
the api handler) with bodies built from the OpenAPI document's send-request schema plus
mutations (wrong types, unknown fields, huge and unicode strings, nulls, non-objects,
invalid JSON, wrong content types, odd headers and Idempotency-Keys), random path sids and
query parameters; and the carrier callback routes through the webhooks function with
random forms, headers, signatures and base64 flags. Whatever is sent:

- the answer is never a 5xx;
- every non-2xx body is exactly `{"Error": {"Code", "Message", "Parameter"}}`, the Code one
  of ErrorCode's numbers, the HTTP status the one that code documents, and the code one
  the OpenAPI document lists for the route at that status;
- a refused request stores no Message and queues nothing; a 200 send stores exactly one;
- a callback without the carrier's valid signature changes nothing at all.

The stack is built once per module. Cases: SMSGW_FUZZ_EXAMPLES (default 1000) across the
customer routes, and half as many again for the callbacks; a larger run is in
docs/reliability.md.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType

from smsgw.api.carrier_callbacks import CALLBACK_ROUTES
from smsgw.carriers.twilio import SIGNATURE_HEADER, signature
from smsgw.errors import ErrorCode
from smsgw_tools.admin.operations import Admin
from smsgw_tools.local.resources import Stack
from smsgw_tools.openapi.document import build, documented_errors
from smsgw_tools.openapi.routes import LIST_FILTERS
from smsgw_tools.openapi.schemas import send_request_schema
from tests.integration.conftest import Api, Functions, Tenant
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event
from tests.support import apply_environment, use_test_aws_environment

EXAMPLES = int(os.environ.get("SMSGW_FUZZ_EXAMPLES", "1000"))
# Shares of the customer-route cases; together at least EXAMPLES.
SEND_EXAMPLES = max(1, EXAMPLES * 45 // 100)
READ_EXAMPLES = max(1, EXAMPLES - SEND_EXAMPLES)
CALLBACK_EXAMPLES = max(1, EXAMPLES // 2)

FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=os.environ.get("SMSGW_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BASE = "https://api.example.com"
CARRIER_TOKEN = "fuzz-carrier-token"
ERROR_CODES = {code.number: code for code in ErrorCode}
SEND_PATH = "/v1/Properties/{PropertySid}/Sms"


# ----- The stack, once per module -------------------------------------------------------


class WarmFunctions(Functions):
    """Functions that, like a warm Lambda process, keep their clients and caches while the
    environment stays the same (the authorizer's and the api's are the same)."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self._applied: dict[str, str] | None = None
        self.base64_bodies = False

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        from tests.integration.conftest import FUNCTIONS
        from tests.support import LambdaContext, load_handler

        environment = self._stack.function_environment(FUNCTIONS[function])
        if environment != self._applied:
            apply_environment(environment)
            self._applied = environment
        if function not in self._modules:
            self._modules[function] = load_handler(function)
        if function == "api" and self.base64_bodies and "body" in event:
            event["isBase64Encoded"] = True
        return self._modules[function].lambda_handler(event, LambdaContext())


@dataclass
class World:
    session: boto3.session.Session
    stack: Stack
    functions: WarmFunctions
    api: Api
    tenant: Tenant
    other: Tenant
    send_property_sid: str
    """The fuzzed sends go to this property of the tenant's account, so the reads' own
    property keeps a short listing."""
    message_sids: list[str]
    other_message_sids: list[str]
    document: dict[str, Any]

    def __repr__(self) -> str:  # hypothesis prints the fixture of a failing case
        return f"World({self.tenant.account_sid})"

    def __post_init__(self) -> None:
        self.last: tuple[int, int] | None = None
        self.sent = 0  # messages of the send property (new, empty)

    def message_count(self, property_sid: str) -> int:
        """The property's messages: the items of its GSI1 partition (what a COUNT Query of
        it answers; moto's copies every item of the partition to count it)."""
        partition = DynamoType({"S": f"PROPERTY#{property_sid}#SMS"})
        return sum(
            (key := item.attrs.get("GSI1PK")) is not None and key == partition
            for stored in self._table().items.values()
            for item in stored.values()
        )

    def queue_depth(self, logical_id: str = "SendQueue") -> int:
        """Messages on the queue: visible, in flight and delayed (what
        GetQueueAttributes' three ApproximateNumberOfMessages* add up to)."""
        queue = self._queue(logical_id)
        return (
            queue.approximate_number_of_messages
            + queue.approximate_number_of_messages_not_visible
            + queue.approximate_number_of_messages_delayed
        )

    def item_count(self) -> int:
        """Items in the table (DescribeTable's ItemCount, live under moto)."""
        return len(self._table())

    # The state is read from moto's models, where DescribeTable and GetQueueAttributes
    # read it, without their serialisation (most of a case's cost when asked twice).
    def _table(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        name = self.stack.physical_ids["Table"]
        return dynamodb_backends[self.stack.account_id][self.stack.region].get_table(name)

    def _queue(self, logical_id: str) -> Any:
        from moto.sqs.models import sqs_backends

        name = self.stack.queue_url(logical_id).rsplit("/", 1)[1]
        return sqs_backends[self.stack.account_id][self.stack.region].get_queue(name)

    def snapshot(self) -> tuple[int, int]:
        """Items in the table and SendQueue's depth. Only the fuzzed requests change them,
        so one case's state after is the next one's before (half the calls)."""
        self.last = (self.item_count(), self.queue_depth())
        return self.last

    def state_before(self) -> tuple[int, int]:
        return self.last or self.snapshot()

    def table_items(self) -> list[dict[str, Any]]:
        table = self.session.resource("dynamodb").Table(self.stack.physical_ids["Table"])
        items, kwargs = [], {}
        while True:
            page = table.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda i: (i["PK"], i["SK"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        use_test_aws_environment(patch)
        with mock_aws():
            session = boto3.session.Session(region_name="us-east-1")
            stack = deploy_once(session, parameters={"PublicBaseUrl": BASE})
            session.client("secretsmanager").put_secret_value(
                SecretId=stack.parameters["CarrierSecretName"],
                SecretString=json.dumps(
                    {"AccountSid": "AC" + "0" * 32, "AuthToken": CARRIER_TOKEN, "BaseUrl": BASE}
                ),
            )
            admin = Admin(stack.physical_ids["Table"], session=session)
            tenants = []
            for name in ("Acme", "Rival"):
                account = admin.create_account(name)
                prop = admin.create_property(account["AccountSid"], f"{name} shop")
                tenants.append(
                    Tenant(account["AccountSid"], account["AuthToken"], prop["PropertySid"])
                )
            send_property = admin.create_property(tenants[0].account_sid, "Acme fuzz")
            functions = WarmFunctions(stack)
            api, other_api = Api(functions, tenants[0]), Api(functions, tenants[1])
            sids = [_seed(api, schedule=i) for i in range(3)]
            other_sids = [_seed(other_api, schedule=0)]
            try:
                yield World(
                    session=session,
                    stack=stack,
                    functions=functions,
                    api=api,
                    tenant=tenants[0],
                    other=tenants[1],
                    send_property_sid=send_property["PropertySid"],
                    message_sids=sids,
                    other_message_sids=other_sids,
                    document=build(stack.template),
                )
            finally:
                functions.restore()


def _seed(api: Api, schedule: int) -> str:
    body = {"From": "+61499009990", "To": "+61488023555", "Text": "seed"}
    if schedule:
        body["Schedule"] = int(time.time()) + 86400 * schedule
    response = api.send(body)
    assert response.status == 200, response.body
    return response.body["Message"]["MessageSid"]


# ----- What every answer must be --------------------------------------------------------


def check_answer(world: World, method: str, route: str, status: int, body: Any) -> None:
    assert status < 500, (status, body)
    documented = documented_errors(world.document, method, route)
    code = body.get("Error", {}).get("Code") if isinstance(body, dict) else None
    event(f"{status} {code or ''}".strip())  # `--hypothesis-show-statistics` shows the mix
    if 200 <= status < 300:
        return
    assert isinstance(body, dict) and set(body) == {"Error"}, body
    error = body["Error"]
    assert set(error) == {"Code", "Message", "Parameter"}, body
    assert type(error["Code"]) is int and error["Code"] in ERROR_CODES, body
    assert isinstance(error["Message"], str) and error["Message"].strip(), body
    assert error["Parameter"] is None or isinstance(error["Parameter"], str), body
    assert status == ERROR_CODES[error["Code"]].http_status, (status, body)
    assert error["Code"] in documented.get(status, set()), (
        f"{method} {route} answered {status} {error['Code']}, which docs/openapi.json does "
        f"not list for it: {body}"
    )


_VALIDATORS: dict[str, Draft202012Validator] = {}


def validate_resource(world: World, name: str, body: Any) -> None:
    """The body is what docs/openapi.json says (a listing: its first items)."""
    if name not in _VALIDATORS:
        schema = {
            "$ref": f"#/components/schemas/{name}",
            "components": world.document["components"],
        }
        _VALIDATORS[name] = Draft202012Validator(schema)
    for key in ("Messages", "Responses"):
        if key in body:
            body = {**body, key: body[key][:3]}
    _VALIDATORS[name].validate(body)


# ----- Strategies -----------------------------------------------------------------------

NOW = int(time.time())
ANY_TEXT = st.text(max_size=40)
HUGE = st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "é", "😀", "\x00", "€"]), st.integers(1, 20000)
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(ANY_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
PHONES = st.one_of(
    st.sampled_from(["+61488023555", "+61499009990", "+14155550123", "+447700900123"]),
    st.sampled_from(["", " ", "+", "+0", "0488023555", "+6148802355512345", "+61 488 023 555"]),
    st.from_regex(r"\+[0-9]{1,16}", fullmatch=True),
    ANY_TEXT,
)
SENDERS = st.one_of(
    PHONES,
    st.sampled_from(["Acme", "ACME 2026", "A", "12345", "TooLongSender", "Ac-me", " "]),
)
URIS = st.one_of(
    st.sampled_from(
        [
            "https://hooks.example.com/r",
            "http://hooks.example.com:8080/r?x=1",
            "http://127.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://2130706433/",
            "http://0x7f000001/",
            "https://user:pass@hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://",
            "https://hooks.example.com/" + "a" * 2100,
            "https://hooks.example.com/\r\nX: y",
            "https://[::1",
        ]
    ),
    ANY_TEXT,
)
METHODS = st.one_of(st.sampled_from(["POST", "GET", "post", "Get", "PUT", ""]), ANY_TEXT)
EMAILS = st.one_of(
    st.sampled_from(
        [
            "ops@example.com",
            "a@b.co",
            "ops@example.com\r\nBcc: all@example.com",
            "Ops <ops@example.com>",
            "ops@",
            "ops@example.com\n",
        ]
    ),
    ANY_TEXT,
)
SCHEDULES = st.one_of(
    st.integers(NOW - 2 * 3600, NOW + 15 * 86400),
    st.sampled_from([NOW - 3599, NOW - 3600, NOW + 1_209_600, NOW + 1_209_601, 0, -1]),
    st.integers(-(2**70), 2**70),
)

VALIDITY_PERIODS = st.one_of(
    st.integers(-5, 36_010),
    st.sampled_from([0, 1, 36_000, 36_001]),
    st.integers(-(2**70), 2**70),
)


def _field_strategies() -> dict[str, st.SearchStrategy]:
    """A strategy per field of the send request's schema (docs/openapi.json)."""
    schema = send_request_schema(_template())
    by_name = {
        "From": SENDERS,
        "To": PHONES,
        "Text": st.one_of(st.text(min_size=1, max_size=200), HUGE, st.just("")),
        "Schedule": SCHEDULES,
        "ValidityPeriod": VALIDITY_PERIODS,
        "SmartEncoding": st.booleans(),
        "DeliveryReceipt": st.booleans(),
        "ExternalId": st.one_of(st.text(max_size=300), st.sampled_from(["order-1", "\x07"])),
        "ForwardToSms": PHONES,
        "ForwardFromSms": SENDERS,
        "ForwardToEmail": EMAILS,
        "ForwardFromEmail": EMAILS,
    }
    strategies = {}
    for name, field in schema["properties"].items():
        if name.endswith("WebhookUri"):
            strategies[name] = URIS
        elif name.endswith("WebhookMethod"):
            strategies[name] = METHODS
        else:
            strategies[name] = by_name[name]
        if isinstance(field["type"], list) and "null" in field["type"]:
            strategies[name] = st.one_of(strategies[name], st.none())
    return strategies


_TEMPLATE = None


def _template():
    global _TEMPLATE
    if _TEMPLATE is None:
        from smsgw_tools.template.loading import load

        _TEMPLATE = load()
    return _TEMPLATE


FIELDS = _field_strategies()
REQUIRED = send_request_schema(_template())["required"]


@st.composite
def schema_bodies(draw) -> dict[str, Any]:
    """A body the schema would mostly accept: the required fields (usually valid) and
    a random choice of the optional ones."""
    body = {
        "To": draw(st.one_of(st.just("+61488023555"), FIELDS["To"])),
        "Text": draw(st.one_of(st.just("Hello"), FIELDS["Text"])),
    }
    optional = [name for name in FIELDS if name not in REQUIRED]
    for name in draw(st.lists(st.sampled_from(optional), max_size=4, unique=True)):
        body[name] = draw(FIELDS[name])
    if draw(st.booleans()):
        body["From"] = draw(st.one_of(st.just("+61499009990"), st.just("Acme"), FIELDS["From"]))
    return body


# The strategies a composite draws from are built once, here: building one inside the
# composite (a `characters` alphabet above all) costs more than the request it makes.
VALID_TO = st.sampled_from(["+61488023555", "+61412345678", "+447700900123"])
VALID_TEXT = st.text(min_size=1, max_size=300).filter(lambda t: t.strip())
VALID_FROM = st.sampled_from(["+61499009990", "+61499009990", "Acme", "ACME 2026"])
VALID_OPTIONAL = {
    "Schedule": st.integers(NOW - 3000, NOW + 1_209_000),
    "ValidityPeriod": st.integers(1, 36_000),
    "SmartEncoding": st.booleans(),
    "DeliveryReceipt": st.booleans(),
    "DeliveryReceiptWebhookUri": st.sampled_from(
        ["https://hooks.example.com/r", "http://hooks.example.com:8080/r?x=1"]
    ),
    "DeliveryReceiptWebhookMethod": st.sampled_from(["POST", "GET", "get"]),
    "ExternalId": st.text(
        alphabet=st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=50
    ),
}
VALID_OPTIONAL_NAMES = st.lists(st.sampled_from(sorted(VALID_OPTIONAL)), max_size=5, unique=True)


@st.composite
def valid_bodies(draw) -> dict[str, Any]:
    """A body the contract accepts (it may still be refused: a leased send with no pool)."""
    body: dict[str, Any] = {
        "To": draw(VALID_TO),
        "Text": draw(VALID_TEXT),
        "From": draw(VALID_FROM),
    }
    for name in draw(VALID_OPTIONAL_NAMES):
        body[name] = draw(VALID_OPTIONAL[name])
    return body


@st.composite
def mutated_bodies(draw) -> Any:
    body = draw(schema_bodies())
    mutation = draw(
        st.sampled_from(["type", "unknown", "null", "huge", "drop", "case", "nest", "none"])
    )
    names = sorted(body)
    name = draw(st.sampled_from(names)) if names else "To"
    match mutation:
        case "type":
            body[name] = draw(JSON_VALUES)
        case "unknown":
            body[draw(st.text(min_size=1, max_size=30).filter(lambda n: n not in FIELDS))] = draw(
                JSON_VALUES
            )
        case "null":
            body[name] = None
        case "huge":
            body[name] = draw(HUGE)
        case "drop":
            body.pop(name, None)
        case "case":
            body[name.lower()] = body.pop(name)
        case "nest":
            body = {"Message": body}
    return body


NON_OBJECTS = st.one_of(
    JSON_SCALARS, st.lists(JSON_VALUES, max_size=3), st.lists(st.just({"To": "+61488023555"}))
)
RAW_TEXTS = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            "{",
            '{"To": "+61488023555", "Text": NaN}',
            '{"Text": Infinity, "To": "+61488023555"}',
            '{"To": "+61488023555", "Text": "a", "Text": "b"}',
            "\ufeff{}",
            "null",
            "[]",
            '"To"',
            "\x00",
            '{"To": "\\ud800", "Text": "x"}',
        ]
    ),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "",
        ]
    ),
    ANY_TEXT,
)
ODD_HEADERS = st.dictionaries(
    st.sampled_from(
        ["idempotency-key", "x-forwarded-for", "accept", "content-length", "x-amzn-trace-id"]
    )
    | st.text(min_size=1, max_size=20),
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(["", " ", "k" * 300, "key-1", "\u00e9t\u00e9", "a\tb", "\x7f"]),
    ),
    max_size=3,
)
SID_TEXT = st.one_of(
    st.text(min_size=1, max_size=40),
    st.from_regex(r"(SM|PR|AC|RS)[0-9a-f]{32}", fullmatch=True),
    st.sampled_from(["SM", "PR" + "0" * 32, "..", "%2F", "null", "SM" + "f" * 200]),
)
QUERIES = st.dictionaries(
    st.one_of(st.sampled_from(list(LIST_FILTERS)), st.text(min_size=1, max_size=15)),
    st.one_of(
        st.sampled_from(
            ["", "0", "1", "100", "101", "-1", "1e2", "queued", "Queued", "+61488023555"]
        ),
        st.text(max_size=40),
    ),
    max_size=3,
)


@st.composite
def send_requests(draw) -> dict[str, Any]:
    # sampled_from, not integers: hypothesis favours an integer's bounds.
    kind = draw(
        st.sampled_from(
            ["valid", "valid", "valid", "schema", "mutated", "mutated", "non_object", "raw", "huge"]
        )
    )
    request: dict[str, Any] = {}
    match kind:
        case "valid":
            request["body"] = draw(valid_bodies())
        case "schema":
            request["body"] = draw(schema_bodies())
        case "mutated":
            request["body"] = draw(mutated_bodies())
        case "non_object":
            request["raw_body"] = json.dumps(draw(NON_OBJECTS))
        case "raw":
            request["raw_body"] = draw(RAW_TEXTS)
        case "huge":
            request["body"] = {"To": "+61488023555", "Text": "x", "ExternalId": "y" * 17000}
    headers = draw(ODD_HEADERS)
    if draw(st.sampled_from([False, False, False, False, True])):
        headers["content-type"] = draw(CONTENT_TYPES)
    if draw(st.sampled_from([False, False, False, True])):
        headers["idempotency-key"] = draw(
            st.one_of(
                st.sampled_from(["k1", "k2", "order-7", "", "k" * 256, "k\x00"]),
                st.text(max_size=20),
            )
        )
    request["headers"] = headers
    request["base64"] = draw(st.sampled_from([False] * 9 + [True]))
    return request


# ----- Customer routes ------------------------------------------------------------------


def call(world: World, method: str, path: str, **kwargs: Any):
    """Api.call, with the body base64-encoded when asked (as API Gateway sends binary
    media types)."""
    if not kwargs.pop("base64", False):
        return world.api.call(method, path, **kwargs)
    text = kwargs.pop("raw_body", None)
    if text is None:
        text = json.dumps(kwargs.pop("body"))
    kwargs["raw_body"] = base64.b64encode(text.encode()).decode()
    world.functions.base64_bodies = True
    try:
        return world.api.call(method, path, **kwargs)
    finally:
        world.functions.base64_bodies = False


@settings(FUZZ, max_examples=SEND_EXAMPLES)
@given(request=send_requests(), other_property=st.sampled_from([False] * 15 + [True]))
def test_fuzzed_sends_never_fail_and_only_a_200_stores_one_message(world, request, other_property):
    # Given any body, content type, header and encoding, to our property or (rarely) to
    # another account's
    property_sid = world.other.property_sid if other_property else world.send_property_sid
    before = world.state_before()

    # When it is sent
    response = call(world, "POST", f"/v1/Properties/{property_sid}/Sms", **request)

    # Then it is a 200 that stored and queued one message, or a documented 4xx that
    # stored and queued nothing
    check_answer(world, "POST", SEND_PATH, response.status, response.body)
    after = world.snapshot()
    if response.status == 200 and response.headers.get("Idempotent-Replayed") != "true":
        validate_resource(world, "MessageEnvelope", response.body)
        message = response.body["Message"]
        assert property_sid == world.send_property_sid
        # Exactly one more message in the property (it and its lease, idempotency record
        # ... are the only new items)
        messages = world.message_count(world.send_property_sid)
        assert messages == world.sent + 1
        world.sent = messages
        assert after[0] > before[0]
        queued = after[1] - before[1]
        # Queued now, or (scheduled) on an SQS delay within 15 minutes or for the scheduler.
        assert queued == 1 if message["Status"] == "queued" else queued in (0, 1)
    else:
        assert after == before, (response.status, response.body)


ROUTE_KINDS = ["list", "get", "cancel", "responses"]
ROUTE_OF = {
    "list": ("GET", "/v1/Properties/{PropertySid}/Sms"),
    "get": ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}"),
    "cancel": ("DELETE", "/v1/Properties/{PropertySid}/Sms/{MessageSid}"),
    "responses": ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses"),
}


@st.composite
def read_requests(draw) -> dict[str, Any]:
    kind = draw(st.sampled_from(ROUTE_KINDS))
    property_sid = draw(st.sampled_from(["tenant"] * 5 + ["other", "random"]))
    if property_sid == "random":
        property_sid = draw(SID_TEXT)
    message_sid = draw(st.sampled_from(["ours"] * 4 + ["theirs", "random"]))
    if message_sid == "random":
        message_sid = draw(SID_TEXT)
    return {
        "kind": kind,
        "property": property_sid,
        "message": message_sid,
        "message_index": draw(st.integers(0, 10)),
        "query": draw(QUERIES) if draw(st.booleans()) else None,
        "headers": draw(ODD_HEADERS),
    }


@settings(FUZZ, max_examples=READ_EXAMPLES)
@given(request=read_requests())
def test_fuzzed_reads_and_cancels_never_fail_and_store_nothing(world, request):
    # Given a route, a property (ours, another account's or random), a message (ours,
    # theirs or random) and random query parameters and headers
    method, route = ROUTE_OF[request["kind"]]
    property_sid = {"tenant": world.tenant.property_sid, "other": world.other.property_sid}.get(
        request["property"], request["property"]
    )
    ours = world.message_sids[request["message_index"] % len(world.message_sids)]
    message_sid = {"ours": ours, "theirs": world.other_message_sids[0]}.get(
        request["message"], request["message"]
    )
    path = route.replace("{PropertySid}", quote(property_sid, safe="")).replace(
        "{MessageSid}", quote(message_sid, safe="")
    )
    before = world.state_before()

    # When it is called
    response = world.api.call(method, path, query=request["query"], headers=request["headers"])

    # Then the answer is a documented one, nothing is stored or queued, and nothing of
    # another account is ever returned
    check_answer(world, method, route, response.status, response.body)
    assert world.snapshot() == before
    if response.status == 200:
        assert world.tenant.account_sid in json.dumps(response.body) or request["kind"] in (
            "list",
            "responses",
        )
        assert world.other.account_sid not in json.dumps(response.body)
        assert world.other.property_sid not in json.dumps(response.body)
        name = {"list": "MessageList", "responses": "ResponseList"}.get(
            request["kind"], "MessageEnvelope"
        )
        validate_resource(world, name, response.body)


# ----- Carrier callbacks ----------------------------------------------------------------

FORMS = st.one_of(
    st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=6),
    st.builds(
        receipt_form,
        st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), ANY_TEXT),
        st.sampled_from(["delivered", "undelivered", "failed", "sent", "queued", "weird", ""]),
    ),
    st.fixed_dictionaries(
        {
            "MessageSid": st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
            "From": PHONES,
            "To": PHONES,
            "Body": st.text(max_size=50),
        }
    ),
)
CALLBACK_PATHS = sorted({path for _, path in CALLBACK_ROUTES})


@st.composite
def callbacks(draw) -> dict[str, Any]:
    path = draw(st.sampled_from(CALLBACK_PATHS))
    # The resolver routes no empty path parameter.
    carrier = draw(
        st.one_of(
            st.just("twilio"),
            st.just("twilio"),
            st.just("TWILIO"),
            st.text(min_size=1, max_size=20),
        )
    )
    method = draw(st.sampled_from(["POST", "GET"]))
    form = draw(FORMS)
    query = draw(
        st.one_of(
            st.just(""),
            st.just("smsgw_sid=SEEDED"),
            st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=2).map(
                urlencode
            ),
        )
    )
    forgery = draw(
        st.sampled_from(["none", "random", "other_url", "other_token", "changed_body", "empty"])
    )
    return {
        "path": path.replace("{Carrier}", quote(carrier, safe="")),
        "method": method,
        "form": form,
        "query": query,
        "forgery": forgery,
        "random_signature": draw(st.text(max_size=40)),
        "base64": draw(st.sampled_from([False, False, True, "garbage"])),
        "headers": draw(ODD_HEADERS),
        "extra": draw(st.text(min_size=1, max_size=10)),
    }


@pytest.fixture(scope="module")
def callback_world(world) -> Iterator[World]:
    items = world.table_items()
    depth = world.queue_depth("CallbackQueue")
    yield world
    # Then, after every forged callback, no item of the table has changed and no
    # customer callback was queued
    assert world.table_items() == items
    assert world.queue_depth("CallbackQueue") == depth


@settings(FUZZ, max_examples=CALLBACK_EXAMPLES)
@given(request=callbacks())
def test_forged_and_fuzzed_carrier_callbacks_change_nothing(callback_world, request):
    world = callback_world
    # Given a callback that is not signed by the carrier for what it carries
    query = request["query"].replace("SEEDED", world.message_sids[0])
    url = f"{BASE}{request['path']}" + (f"?{query}" if query else "")
    form = request["form"]
    signed_url, signed_form, token = url, form, CARRIER_TOKEN
    match request["forgery"]:
        case "other_url":
            # A genuine signature, for the other callback route's URL.
            kind = request["path"].rsplit("/", 1)[1]
            other = "Responses" if kind == "Receipts" else "Receipts"
            signed_url = url.replace(f"/{kind}", f"/{other}", 1)
        case "other_token":
            token = CARRIER_TOKEN + "x"
        case "changed_body":
            # Replayed with a changed body: signed for the body before the change.
            signed_form = {**form, "Extra": form.get("Extra", "") + request["extra"]}
    event = twilio_receipt_event(url, form, token, method=request["method"])
    signed_params = list(signed_form.items()) if request["method"] == "POST" else []
    if request["method"] == "GET":
        signed_url = signed_url + ("&" if "?" in signed_url else "?") + urlencode(signed_form)
    header = SIGNATURE_HEADER.lower()
    match request["forgery"]:
        case "none":
            event["headers"].pop(header)
        case "random":
            event["headers"][header] = request["random_signature"]
        case "empty":
            event["headers"][header] = ""
        case _:
            event["headers"][header] = signature(token, signed_url, signed_params)
    event["headers"].update({k.lower(): v for k, v in request["headers"].items()})
    if request["base64"] and event.get("body"):
        event["isBase64Encoded"] = True
        event["body"] = (
            "%%%"
            if request["base64"] == "garbage"
            else base64.b64encode(event["body"].encode()).decode()
        )

    # When it reaches the webhooks function
    result = world.functions.invoke("webhooks", event)

    # Then it is refused with a documented 4xx (a forgery never passes)
    status = result["statusCode"]
    assert status < 500, result
    assert 400 <= status < 500, result
    route = request["path"].rsplit("/", 1)[1]
    check_answer(
        world,
        request["method"],
        f"/v1/Carriers/{{Carrier}}/{route}",
        status,
        json.loads(result["body"] or "null"),
    )
