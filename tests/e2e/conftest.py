"""The local stacks the e2e tests share, each started once on free ports and stopped after
the session: the default (Twilio) one, and an End User Messaging one started on first use."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgw_tools.local.stack import LocalStack


@pytest.fixture(scope="session")
def twilio_stack(aws_calls_file: Path) -> Iterator[LocalStack]:
    """The default stack itself (IAM enforced, each function's AWS calls recorded)."""
    with LocalStack(port=0, calls_file=aws_calls_file) as stack:
        stack.provision_demo()
        yield stack


@pytest.fixture(scope="session")
def local_stack(twilio_stack: LocalStack) -> dict[str, Any]:
    """The running stack's info: ApiUrl, SimulatorUrl, AccountSid, AuthToken, PropertySid, ..."""
    return twilio_stack.info()


@pytest.fixture(scope="session")
def eum_stack(aws_calls_file: Path) -> Iterator[LocalStack]:
    """A running stack with `Carrier=eum` (the simulator playing End User Messaging and
    its SNS), itself rather than its info: tests sign SNS messages with its simulator."""
    with LocalStack(port=0, carrier="eum", calls_file=aws_calls_file) as stack:
        stack.provision_demo()
        yield stack
