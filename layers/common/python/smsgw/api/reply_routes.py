"""GET /v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses: replies on a message's lease."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from smsgw import services
from smsgw.api.http_responses import json_response
from smsgw.api.request import caller, page_size, query_parameters
from smsgw.errors import ErrorCode, NotFoundError
from smsgw.ids import is_well_formed
from smsgw.logic.tenancy import owned_message, owned_property

router = Router()


@router.get("/v1/Properties/<PropertySid>/Sms/<MessageSid>/Responses")
def list_responses(PropertySid: str, MessageSid: str) -> Response:
    """The replies received on the message's lease since the message was created (every
    reply on that lease from then on, including those after later messages on it), oldest
    first. A message sent without a lease has none. Another account's message is a 404."""
    event = router.current_event
    who = caller(event)
    if not is_well_formed(PropertySid):
        raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, "No such property.", "PropertySid")
    prop = owned_property(services.tenants(), PropertySid, who.account_sid)
    message = owned_message(services.messages(), prop, MessageSid)
    query = query_parameters(event, ("PageSize", "PageToken"))
    replies, next_token = [], None
    if message.lease:
        replies, next_token = services.replies().for_lease(
            message.lease["LeaseId"],
            message.date_created,
            page_size=page_size(query),
            page_token=query.get("PageToken"),
        )
    return json_response(
        200,
        {
            "MessageSid": message.message_sid,
            "Lease": message.to_resource()["Lease"],
            "Responses": [reply.to_resource() for reply in replies],
            "NextPageToken": next_token,
        },
    )
