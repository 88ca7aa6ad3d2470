"""docs/openapi.json: generated from the code, committed, and a valid OpenAPI 3.1 document."""

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from smsgw.api.carrier_callbacks import CALLBACK_ROUTES
from smsgw.errors import ErrorCode, SmsGatewayError
from smsgw.models.send_request import FIELDS, LEASE_OPTIONS
from smsgw_tools.openapi.document import build, documented_errors, render
from smsgw_tools.openapi.routes import LIST_FILTERS
from smsgw_tools.openapi.schemas import message_example
from smsgw_tools.template.loading import load
from tests.support import ROOT

COMMITTED = ROOT / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def template():
    return load()


@pytest.fixture(scope="module")
def document(template):
    return build(template)


def test_committed_document_is_what_the_code_generates(document):
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `.venv/bin/smsgw openapi`"
    assert COMMITTED.read_text() == render(document), (
        "docs/openapi.json differs from what the code generates: run `.venv/bin/smsgw openapi`"
    )


def test_document_is_a_valid_openapi_3_1_document(document):
    OpenAPIV31SpecValidator(document).validate()
    assert document["openapi"].startswith("3.1")


def test_every_route_is_documented_with_its_authorizer(template, document):
    # the HTTP API's routes, and the carrier callbacks on the webhooks function's URL
    routes = {(r.method, r.path): r.authorizer is not None for r in template.routes}
    routes |= {(method, path): False for method, path in CALLBACK_ROUTES}
    for (method, path), authorized in routes.items():
        operation = document["paths"][path][method.lower()]
        secured = operation.get("security", document["security"]) != []
        assert secured == authorized, (method, path)
        assert ("servers" in operation) == path.startswith("/v1/Carriers/")
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert documented == set(routes)


def test_error_envelope_lists_every_error_code(document):
    schema = document["components"]["schemas"]["Error"]
    codes = schema["properties"]["Error"]["properties"]["Code"]["enum"]
    assert codes == [code.number for code in ErrorCode]
    sample = SmsGatewayError(ErrorCode.TO_INVALID, "To is not valid.", "To").to_dict()
    Draft202012Validator(schema).validate(sample)


def test_each_documented_error_status_is_the_status_its_codes_document(document):
    by_number = {code.number: code for code in ErrorCode}
    for path, operations in document["paths"].items():
        for method in operations:
            errors = documented_errors(document, method, path)
            assert errors, (method, path)
            for status, numbers in errors.items():
                assert {by_number[n].http_status for n in numbers} == {status}, (method, path)


def test_send_request_schema_is_the_parsers_contract(document):
    schema = document["components"]["schemas"]["SendRequest"]
    assert set(schema["properties"]) == FIELDS
    assert schema["required"] == ["To", "Text"]
    assert schema["additionalProperties"] is False
    for name in LEASE_OPTIONS:
        assert "Lease-only" in schema["properties"][name]["description"]
    validator = Draft202012Validator(schema)
    for example in schema["examples"]:
        validator.validate(example)
    assert not validator.is_valid({"To": "+61488023555", "Text": "Hi", "to": "x"})
    assert not validator.is_valid({"To": "+61488023555", "Text": "Hi", "Schedule": "1"})


def test_message_schema_has_every_field_of_the_resource(document):
    message = document["components"]["schemas"]["Message"]
    assert set(message["properties"]) == set(message_example())
    seed = {"MessageSid", "AccountSid", "PropertySid", "From", "To", "Text", "Status"}
    assert seed <= set(message["required"])


def test_send_route_documents_idempotency_key_and_list_route_its_filters(document):
    send = document["paths"]["/v1/Properties/{PropertySid}/Sms"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in send["parameters"]]
    listing = document["paths"]["/v1/Properties/{PropertySid}/Sms"]["get"]
    queries = [p["name"] for p in listing["parameters"] if p["in"] == "query"]
    assert queries == list(LIST_FILTERS)
