"""The local stacks the e2e tests share, each started once on free ports and stopped after
the session: the default (Twilio) one, and an End User Messaging one started on first use."""

from collections.abc import Iterator
from typing import Any

import pytest

from smsgw_tools.local.stack import LocalStack


@pytest.fixture(scope="session")
def local_stack() -> Iterator[dict[str, Any]]:
    """The running stack's info: ApiUrl, SimulatorUrl, AccountSid, AuthToken, PropertySid, ..."""
    with LocalStack(port=0) as stack:
        stack.provision_demo()
        yield stack.info()


@pytest.fixture(scope="session")
def eum_stack() -> Iterator[LocalStack]:
    """A running stack with `Carrier=eum` (the simulator playing End User Messaging and
    its SNS), itself rather than its info: tests sign SNS messages with its simulator."""
    with LocalStack(port=0, carrier="eum") as stack:
        stack.provision_demo()
        yield stack
