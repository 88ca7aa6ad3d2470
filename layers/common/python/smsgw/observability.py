"""One logger, tracer and metrics object for the whole process.

`tracer` and `metrics` are created on first use: the authorizer only logs, and importing
the X-Ray SDK would add to its cold start for nothing.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


@cache
def _tracer() -> Any:
    from aws_lambda_powertools import Tracer

    # Patch only botocore at start: patching everything imports requests, sqlite3 and more
    # into functions that never use them. The sender patches requests where it uses it.
    return Tracer(patch_modules=("botocore",))


@cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="SmsGateway")


def __getattr__(name: str) -> Any:
    if name == "tracer":
        return _tracer()
    if name == "metrics":
        return _metrics()
    raise AttributeError(name)
