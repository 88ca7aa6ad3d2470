"""The public API's resolver: routers included, errors mapped to responses in one place."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from smsgw.api import message_routes, reply_routes
from smsgw.api.http_responses import error_response, json_response
from smsgw.errors import ErrorCode, SmsGatewayError, ValidationError
from smsgw.kernel.page_tokens import InvalidPageTokenError
from smsgw.observability import logger

app = APIGatewayHttpResolver()
app.include_router(message_routes.router)
app.include_router(reply_routes.router)


@app.exception_handler(SmsGatewayError)
def handle_gateway_error(error: SmsGatewayError) -> Response:
    logger.info(
        "request refused", extra={"ErrorCode": error.code.number, "Parameter": error.parameter}
    )
    return error_response(error)


@app.exception_handler(InvalidPageTokenError)
def handle_invalid_page_token(error: InvalidPageTokenError) -> Response:
    """A listing's store refuses a PageToken it did not issue; to the caller, a 400."""
    return handle_gateway_error(
        ValidationError(ErrorCode.INVALID_PAGE_TOKEN, str(error), "PageToken")
    )


@app.not_found
def handle_not_found(_: Exception) -> Response:
    return error_response(
        SmsGatewayError(ErrorCode.ROUTE_NOT_FOUND, "No such resource or method.", None)
    )


# What DynamoDB and SQS answer when a request is over their capacity (a PROVISIONED table
# before auto scaling catches up, a hot partition): the error codes botocore's standard
# retry mode treats as throttling, seen here once its retries are spent.
_THROTTLED = ThrottledRetryableChecker()
RETRY_AFTER_SECONDS = 1


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    # A fault of ours or of a dependency, never of the request: log it, answer in the API's
    # error format; the client may retry (with an Idempotency-Key, safely). Out of capacity
    # is a 503 with Retry-After; anything else a 500.
    if isinstance(error, ClientError) and _THROTTLED.is_retryable(
        RetryContext(attempt_number=1, parsed_response=error.response)
    ):
        logger.warning("throttled", extra={"AwsErrorCode": error.response["Error"]["Code"]})
        busy = SmsGatewayError(
            ErrorCode.SERVICE_BUSY, "We are over capacity for a moment; retry shortly.", None
        )
        return json_response(
            busy.code.http_status, busy.to_dict(), {"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    logger.exception("unexpected error")
    return error_response(
        SmsGatewayError(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side; retry.", None)
    )
