"""The local stack, started once for the e2e tests on free ports and stopped after them."""

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
