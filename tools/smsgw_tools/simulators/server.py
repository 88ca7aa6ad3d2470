"""The carrier simulator: a real HTTP server speaking a carrier's wire format.

The adapters run against it unchanged (`TwilioCarrier`, `VonageCarrier`,
`EndUserMessagingCarrier`), so the adapter code exercised locally is the code that runs in
production. `CarrierSimulator(carrier=...)` picks the wire format:

- `twilio` (the default): Twilio's Programmable Messaging subset (`twilio_wire`);
- `vonage`: Vonage's SMS API (`POST /sms/json`, `vonage_wire`): submissions are recorded in
  the same shape (E.164 numbers, `Body`, the part ids, and the `form` as sent), receipts
  are Vonage DLRs (signed `sig`, by GET) and replies Vonage inbound messages (a signed JSON
  POST); Vonage has one more fault: `status`, a Vonage status code in an HTTP 200 answer;
- `eum`: AWS End User Messaging SMS (`eum_wire`): `POST /` with `X-Amz-Target:
  PinpointSMSVoiceV2.SendTextMessage` (boto3's `pinpoint-sms-voice-v2` client with the
  simulator as its endpoint), AWS JSON errors for the faults (ThrottlingException,
  InternalServerException), and delivery events and replies as signed SNS notifications to
  the subscribed endpoints (`sns`); `GET /_sim/sns` shows the topics, subscriptions and the
  HTTPS server that serves the signing certificate.

Layout: `state.SimulatorState` holds everything the simulator knows and decides
(thread-safe, no HTTP); `handler` only translates HTTP to and from it, `controls` are the
`/_sim/` endpoints (the same for every carrier); `CarrierSimulator` runs the server in a
background thread. Delivery receipts (signed callbacks to each submission's StatusCallback)
are sent by `receipt_sender.ReceiptSender`, subscribed through `SimulatorState.listeners`;
`POST /_sim/outcomes` sets their status, delay and error code per recipient,
`GET /_sim/receipts` lists what was sent. Replies (inbound SMS) are posted by
`reply_sender.ReplySender` on `POST /_sim/replies`.

    python -m smsgw_tools.simulators.server --port 8025 [--carrier vonage|eum]
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from typing import Any, Self

from smsgw_tools.http_serving import serve_in_background
from smsgw_tools.simulators.eum_wire import DEFAULT_REGION, EumAccount
from smsgw_tools.simulators.handler import SimulatorHttpServer
from smsgw_tools.simulators.receipt_sender import ReceiptSender
from smsgw_tools.simulators.sns import Sns
from smsgw_tools.simulators.state import CARRIERS, DEFAULT_TIMEOUT_SECONDS, SimulatorState
from smsgw_tools.simulators.vonage_wire import VonageCredentials
from smsgw_tools.simulators.wire import Submission

DEFAULT_ACCOUNT_SID = "AC" + "simulator".ljust(32, "0")
DEFAULT_AUTH_TOKEN = "simulator-token"  # noqa: S105 - a local simulator, not a secret


class CarrierSimulator:
    """A running carrier simulator; use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        carrier: str = "twilio",
        vonage: VonageCredentials | None = None,
        eum: EumAccount | None = None,
    ) -> None:
        """`carrier` is the wire format it speaks: twilio, vonage or eum (`eum` is the AWS
        account End User Messaging plays: region, identity, configuration set)."""
        self.host = host
        self.port = port
        self.state = SimulatorState(account_sid, auth_token, timeout_seconds, carrier, vonage, eum)
        self._server: SimulatorHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def account_sid(self) -> str:
        return self.state.account_sid

    @property
    def auth_token(self) -> str:
        return self.state.auth_token

    @property
    def sns(self) -> Sns | None:
        """End User Messaging's SNS (None for the other carriers)."""
        return self.state.sns

    @property
    def url(self) -> str:
        """The base URL to give the adapter (TwilioCarrier's base URL, VonageCarrier's,
        End User Messaging's `EndpointUrl`), e.g. http://127.0.0.1:54321; once started,
        the same while it is stopped (where it refuses connections)."""
        if self._server is None and not self.port:
            raise RuntimeError("the simulator is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Listen and serve in a background thread."""
        if self._server is not None:
            return self
        self.state.stopping.clear()
        self.state.receipts = ReceiptSender(
            self.state.account_sid,
            self.state.auth_token,
            self.state.outcome_for,
            self.state.stopping,
            carrier=self.state.carrier,
            vonage=self.state.vonage,
            sns=self.state.sns,
        )
        self.state.listeners.append(self.state.receipts)
        if self.state.sns is not None:
            self.state.sns.start(self.host)
        self._server = SimulatorHttpServer((self.host, self.port), self.state)
        # Started again after a stop, it listens on the same port (what the adapters were
        # given): stopped, it refuses connections as a carrier that is down does.
        self.port = self._server.server_address[1]
        self._thread = serve_in_background(self._server, "carrier-simulator")
        return self

    def stop(self) -> None:
        """Stop serving; requests held by latency or a timeout fault are released."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.state.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()
        self._server = self._thread = None
        if self.state.receipts is not None:
            self.state.listeners.remove(self.state.receipts)
            self.state.receipts.stop()
            self.state.receipts = None
        if self.state.sns is not None:
            self.state.sns.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def submissions(self) -> list[Submission]:
        """Every submission taken so far, oldest first."""
        return self.state.submissions()

    def reset(self) -> None:
        """Forget every submission and clear the fault and the latency."""
        self.state.reset()

    def set_fault(self, mode: str, *args: Any, **options: Any) -> None:
        """`SimulatorState.set_fault`: fail the next submissions the way `mode` says."""
        self.state.set_fault(mode, *args, **options)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer of the Messages endpoint by `seconds`."""
        self.state.set_latency(seconds)

    def set_rate_limit(self, rate: float | None, burst: float | None = None) -> None:
        """`SimulatorState.set_rate_limit`: 429 beyond `rate` submissions a second."""
        self.state.set_rate_limit(rate, burst)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m smsgw_tools.simulators.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--timeout-seconds", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument("--carrier", choices=CARRIERS, default="twilio")
    parser.add_argument("--region", default=DEFAULT_REGION, help="End User Messaging's")
    args = parser.parse_args(argv)
    simulator = CarrierSimulator(
        args.host,
        args.port,
        args.account_sid,
        args.auth_token,
        timeout_seconds=args.timeout_seconds,
        carrier=args.carrier,
        eum=EumAccount(region=args.region),
    )
    with simulator:
        print(f"carrier simulator on {simulator.url} (AccountSid {simulator.account_sid})")
        if simulator.sns is not None:
            print(
                f"SNS over HTTPS on {simulator.sns.https_url}: map {simulator.sns.hosts} and "
                f"trust the CA of GET {simulator.url}/_sim/sns; subscribe with "
                f"POST {simulator.url}/_sim/sns/subscriptions"
            )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
