"""A moto server on 127.0.0.1, in a child process of its own.

The server runs `moto.server.ThreadedMotoServer` in a separate process so its state is not
the test process's: `moto.mock_aws` in an integration test resets the in-process backends,
and must not wipe the local stack's table and queues. The child exits when its stdin
closes, so it cannot outlive the process that started it.

Its DynamoDB is atomic per request and per transaction, as DynamoDB is
(`atomic_moto.install`), a Query reads its partition, not the whole table
(`moto_query.install`), and a data-plane answer is written straight to JSON
(`moto_speedups.install`).

With `iam=True` the server authorises requests against the resources they name for
DynamoDB, Secrets Manager and SES too (`smsgw_tools.local.iam`); it checks nothing until
told to (`iam.enforce`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from smsgw_tools.local.atomic_moto import Setter

REGION = "us-east-1"
# What any client of a moto server that does not check credentials may sign with.
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
DUMMY_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
_CHILD = """
import logging, sys
from moto.server import ThreadedMotoServer
from smsgw_tools.local.moto_server import install_patches
logging.getLogger("werkzeug").setLevel(logging.WARNING)
install_patches()
if sys.argv[3] == "iam":
    from smsgw_tools.local.iam import install_resource_arns
    install_resource_arns()
server = ThreadedMotoServer(ip_address=sys.argv[1], port=int(sys.argv[2]), verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


def install_patches(patch: Setter = setattr) -> None:
    """What the local stack's moto runs on top of stock moto (module docstring), installed
    by the server's child for its life, and by every in-process test with
    `monkeypatch.setattr` (tests.support.use_test_aws_environment), so that the tests are
    answered as the local stack is."""
    from smsgw_tools.local import atomic_moto, moto_query, moto_speedups

    for module in (atomic_moto, moto_query, moto_speedups):
        module.install(patch)


class MotoServer:
    """A moto server process; `start()` returns its URL."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        log: IO[str] | None = None,
        *,
        iam: bool = False,
    ):
        self.host = host
        self.iam = iam
        self.port = port
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The endpoint URL boto3 clients use (`AWS_ENDPOINT_URL`)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Start the server on a free port (or the given one) and return its URL."""
        # Nothing is checked until the stack says so (iam.enforce), whatever the environment.
        environment = {**os.environ, **DUMMY_ENVIRONMENT, "INITIAL_NO_AUTH_ACTION_COUNT": "inf"}
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-c", _CHILD, self.host, str(self.port), "iam" if self.iam else "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log or subprocess.DEVNULL,
            env=environment,
            cwd=Path(__file__).parent,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the stack, which stops the server
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("the moto server did not start")
        self.port = int(line)
        return self.url

    def stop(self) -> None:
        """Stop the server and wait for its process to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        process.terminate()  # its state is throwaway; no need to wait for a clean shutdown
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
