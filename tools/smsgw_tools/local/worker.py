"""A Lambda execution environment for one function: the child process the runtime starts.

Run as `python -P worker.py HANDLER READ_FD WRITE_FD`. Only the standard library is used
here, so nothing of the local stack leaks onto the function's import path. The handler's
module is imported once (the cold start); then each line read from READ_FD is one
invocation, answered by one line on WRITE_FD:

    in:   {"requestId": ..., "deadlineMs": ..., "event": ...}
    out:  {"ok": true, "result": ...} | {"ok": false, "error": {"errorType": ..., ...}}

The first line written is the init outcome: {"ready": true} or {"ready": false, "error": ...}.

Before the handler is imported, `SMSGW_LOCAL_HOSTS` (`host:port=address:port`, comma-separated)
makes those names resolve to local servers, the way /etc/hosts would (with the port as
well, since the local servers cannot all listen on 443): the local stack maps
`sns.<region>.amazonaws.com:443` to the carrier simulator's SNS server, so End User
Messaging's certificate and subscription URLs, checked by the product to be AWS's, reach it.
TLS still verifies the name (trust for the simulator's CA comes from REQUESTS_CA_BUNDLE).
This is the harness's, never the function's: nothing under layers/ or functions/ knows.

`SMSGW_LOCAL_CALLS` (`LogicalId:path`) makes the worker append a line `LogicalId
service:Action` to the file the first time the function calls each AWS action (a botocore
`before-parameter-build` hook on every session; `record_aws_calls`). The least-privilege test compares
them with the function's role (tests/e2e/test_least_privilege_e2e.py).
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

HOSTS_VARIABLE = "SMSGW_LOCAL_HOSTS"
CALLS_VARIABLE = "SMSGW_LOCAL_CALLS"
_IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}
"""botocore signing names that are not the service's IAM prefix."""
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
"""DynamoDB's transactions are no IAM actions: AWS authorises each item's own action."""
_HTTPS_PORT_NAMES = ("https",)


def parse_hosts(spec: str) -> dict[tuple[str, int], tuple[str, int]]:
    """`host:port=address:port,...` → {(host, port): (address, port)}; host names are
    compared lower-case, without a trailing dot."""
    mapping: dict[tuple[str, int], tuple[str, int]] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, target = entry.partition("=")
        host, _, port = name.rpartition(":")
        address, _, target_port = target.rpartition(":")
        if not (host and port.isdigit() and address and target_port.isdigit()):
            raise ValueError(f"{HOSTS_VARIABLE}: {entry!r} is not host:port=address:port")
        mapping[(host.lower().rstrip("."), int(port))] = (address, int(target_port))
    return mapping


def _port(port: Any) -> int | None:
    if isinstance(port, bytes):
        port = port.decode()
    if isinstance(port, str) and port in _HTTPS_PORT_NAMES:
        return 443
    try:
        return int(port)
    except (TypeError, ValueError):
        return None


def map_hosts(mapping: dict[tuple[str, int], tuple[str, int]]) -> None:
    """Make `socket.getaddrinfo` answer the mapped (host, port) pairs with the local
    address and port; everything else resolves as before."""
    if not mapping:
        return
    resolve = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str):
            target = mapping.get((name.lower().rstrip("."), _port(port) or -1))
            if target is not None:
                host, port = target
        return resolve(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def iam_actions(operation_model: Any, params: dict[str, Any]) -> list[str]:
    """`service:Action` as IAM names the actions a botocore call with `params` needs."""
    service = operation_model.service_model.signing_name
    prefix = _IAM_PREFIXES.get(service, service)
    if prefix == "dynamodb" and operation_model.name in ("TransactWriteItems", "TransactGetItems"):
        kinds = {kind for item in params.get("TransactItems", []) for kind in item}
        return sorted(f"dynamodb:{TRANSACT_ACTIONS[kind]}" for kind in kinds)
    return [f"{prefix}:{operation_model.name}"]


CALLS_HOOK_ID = "smsgw-local-calls"
"""The recording handler's id on a session: registered twice, it is called once."""


def record_aws_calls(record: Callable[[str], None]) -> Callable[..., None]:
    """Call `record("service:Action")` before every AWS API call of every botocore session
    created from now on (boto3's default session, and any a test makes), from the
    `before-parameter-build` event; the handler is returned, to register on a session that
    exists already."""
    import botocore.session

    def before_parameter_build(model: Any, params: dict[str, Any], **_: Any) -> None:
        for action in iam_actions(model, params):
            record(action)

    create = botocore.session.Session.__init__

    def init(session: Any, *args: Any, **kwargs: Any) -> None:
        create(session, *args, **kwargs)
        session.register("before-parameter-build", before_parameter_build, unique_id=CALLS_HOOK_ID)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]
    return before_parameter_build


def _record_calls() -> None:
    function, _, path = os.environ.get(CALLS_VARIABLE, "").partition(":")
    if not path:
        return
    seen: set[str] = set()

    def append(action: str) -> None:
        if action not in seen:
            seen.add(action)
            with open(path, "a", encoding="utf-8") as calls:  # one short append: atomic
                calls.write(f"{function} {action}\n")

    record_aws_calls(append)


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = os.environ["LOCAL_LAMBDA_FUNCTION_ARN"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(
            [
                frame
                for frame in traceback.extract_tb(exc.__traceback__)
                if frame.filename != __file__ and not frame.filename.startswith("<frozen")
            ]
        ),
    }


def _load(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise _InitError(_error(exc, "Runtime.ImportModuleError")) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitError(
            {
                "errorType": "Runtime.HandlerNotFound",
                "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
                "stackTrace": [],
            }
        )
    return function


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _map_local_hosts() -> None:
    try:
        map_hosts(parse_hosts(os.environ.get(HOSTS_VARIABLE, "")))
    except ValueError as exc:
        raise _InitError(_error(exc, "Runtime.LocalHostsError")) from exc


def _report(error: dict[str, Any]) -> str:
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
    print("".join(error["stackTrace"]), file=sys.stderr, end="", flush=True)
    return json.dumps({"ok": False, "error": error})


def _invoke(function: Any, request: dict[str, Any]) -> str:
    request_id = request["requestId"]
    started = time.perf_counter()
    print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
    try:
        result = function(request["event"], LambdaContext(request_id, request["deadlineMs"]))
    except Exception as exc:
        line = _report(_error(exc))
    else:
        try:
            line = json.dumps({"ok": True, "result": result})
        except (TypeError, ValueError) as exc:
            line = _report(_error(exc, "Runtime.MarshalError"))
    elapsed = (time.perf_counter() - started) * 1000
    print(f"END RequestId: {request_id}", flush=True)
    print(f"REPORT RequestId: {request_id}\tDuration: {elapsed:.2f} ms", flush=True)
    return line


def main(argv: list[str]) -> int:
    """Import the handler, report the init outcome, then serve invocations until EOF."""
    handler, read_fd, write_fd = argv[1], int(argv[2]), int(argv[3])
    requests = os.fdopen(read_fd, "r", encoding="utf-8")
    replies = os.fdopen(write_fd, "w", encoding="utf-8")
    try:
        _map_local_hosts()
        _record_calls()
        function = _load(handler)
    except _InitError as exc:
        print(f"[ERROR] {exc.error['errorType']}: {exc.error['errorMessage']}", file=sys.stderr)
        replies.write(json.dumps({"ready": False, "error": exc.error}) + "\n")
        replies.flush()
        return 1
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        replies.write(_invoke(function, json.loads(line)) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
