"""GET one message and list messages: newest first, filtered, paginated, tenant-scoped."""

from smsgw.errors import ErrorCode

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "Hello"}


def test_get_returns_the_message_with_its_history(api, tenant):
    sid = api.send({**SIMPLE, "ExternalId": "ext-1"}).body["Message"]["MessageSid"]

    response = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}")

    assert response.status == 200
    message = response.body["Message"]
    assert (message["MessageSid"], message["ExternalId"], message["Status"]) == (
        sid,
        "ext-1",
        "queued",
    )
    assert [e["Status"] for e in message["Events"]] == ["queued"]


def test_unknown_message_is_404(api, tenant):
    for sid in ("SM" + "0" * 32, "not-a-sid!", "x" * 100):
        response = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}")
        assert response.status == 404
        assert response.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number


def test_another_accounts_message_cannot_be_read_or_listed(api, admin, tenant, functions):
    from tests.integration.conftest import Api, Tenant

    other_account = admin.create_account("Other")
    other_property = admin.create_property(other_account["AccountSid"], "Other")
    other = Api(
        functions,
        Tenant(
            other_account["AccountSid"], other_account["AuthToken"], other_property["PropertySid"]
        ),
    )
    secret_sid = other.send(SIMPLE).body["Message"]["MessageSid"]

    # Through the other account's property: the property is not ours.
    via_theirs = api.call("GET", f"/v1/Properties/{other_property['PropertySid']}/Sms/{secret_sid}")
    # Through our own property: the message is not in it.
    via_ours = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{secret_sid}")
    listing = api.call("GET", f"/v1/Properties/{other_property['PropertySid']}/Sms")

    assert via_theirs.status == 404 and via_theirs.body["Error"]["Code"] == 20104
    assert via_ours.status == 404 and via_ours.body["Error"]["Code"] == 20105
    assert listing.status == 404


def test_list_is_newest_first_and_paginates_without_gaps_or_repeats(api, tenant):
    sids = [api.send({**SIMPLE, "Text": f"n{n}"}).body["Message"]["MessageSid"] for n in range(7)]
    path = f"/v1/Properties/{tenant.property_sid}/Sms"

    seen, token = [], None
    while True:
        query = {"PageSize": "3", **({"PageToken": token} if token else {})}
        page = api.call("GET", path, query=query).body
        seen += [m["MessageSid"] for m in page["Messages"]]
        token = page["NextPageToken"]
        if not token:
            break

    assert seen == list(reversed(sids))


def test_list_filters_by_external_id_to_and_status(api, tenant):
    api.send({**SIMPLE, "ExternalId": "order-1"})
    api.send({**SIMPLE, "ExternalId": "order-2", "To": "+61488023556"})
    path = f"/v1/Properties/{tenant.property_sid}/Sms"

    by_external = api.call("GET", path, query={"ExternalId": "order-2"}).body["Messages"]
    by_to = api.call("GET", path, query={"To": "+61488023555"}).body["Messages"]
    by_status = api.call("GET", path, query={"Status": "sent"}).body["Messages"]
    combined = api.call("GET", path, query={"ExternalId": "order-1", "Status": "queued"})

    assert [m["ExternalId"] for m in by_external] == ["order-2"]
    assert [m["ExternalId"] for m in by_to] == ["order-1"]
    assert by_status == []
    assert [m["ExternalId"] for m in combined.body["Messages"]] == ["order-1"]


def test_list_rejects_unknown_filters_bad_statuses_and_foreign_page_tokens(api, admin, tenant):
    from smsgw.kernel.page_tokens import encode_page_token

    path = f"/v1/Properties/{tenant.property_sid}/Sms"
    foreign = encode_page_token(
        {"PK": "x", "SK": "y", "GSI1PK": "PROPERTY#PRother#SMS", "GSI1SK": "z"}
    )
    cases = [
        ({"Colour": "red"}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"Status": "lost"}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"PageSize": "0"}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"PageSize": "101"}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"PageToken": "%%%"}, ErrorCode.INVALID_PAGE_TOKEN),
        ({"PageToken": foreign}, ErrorCode.INVALID_PAGE_TOKEN),
        # an empty filter is refused like a wrong one, never read as "no filter"
        ({"Status": ""}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"To": ""}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"ExternalId": ""}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"PageSize": ""}, ErrorCode.INVALID_QUERY_PARAMETER),
        ({"PageToken": ""}, ErrorCode.INVALID_PAGE_TOKEN),
    ]
    for query, code in cases:
        response = api.call("GET", path, query=query)
        assert (response.status, response.body["Error"]["Code"]) == (400, code.number), query
    # and the same for the paging parameters of a message's Responses listing
    sid = api.send(SIMPLE).body["Message"]["MessageSid"]
    for query, code in cases[-2:]:
        response = api.call("GET", f"{path}/{sid}/Responses", query=query)
        assert (response.status, response.body["Error"]["Code"]) == (400, code.number), query
