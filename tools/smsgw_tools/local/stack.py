"""The whole local stack: moto, the template's resources, the functions and their triggers.

with LocalStack(port=0) as stack:
    info = stack.info()          # ApiUrl, AwsEndpointUrl, SimulatorUrl, ...
    stack.provision_demo()       # an account and property to call the API with

`LocalStack(carrier="vonage")` deploys with the template parameter `Carrier=vonage`. The
stack runs a carrier simulator per carrier it serves (`carriers`: by default its carrier,
Twilio and Vonage), each in its carrier's wire format with its own port and fault
controls, and puts every simulator's keys in the carrier secret (the deployment carrier's at
the top level, the others under their names), so routes can name each of them
(`smsgw route set +61 twilio,vonage`) and failover can be seen over the wire.

`LocalStack(carrier="eum")` does the same for AWS End User Messaging (the simulator as the
`EndpointUrl`, its origination identity, configuration set and SNS topics in the secret),
and stands in for AWS's network where SNS is concerned: the functions' workers resolve
`sns.<region>.amazonaws.com:443` to the simulator's SNS server (SMSGW_LOCAL_HOSTS, see
`worker.py`) and trust the simulator's private CA (REQUESTS_CA_BUNDLE, the usual CAs plus
it, written to the stack's temporary directory). Once the API is up the simulator subscribes
the gateway's eum Receipts and Responses URLs to its events and replies topics; each
SubscriptionConfirmation is confirmed by the webhooks function itself, with the product's
checks unchanged (docs/decisions.md).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Self

import boto3

from smsgw_tools.admin.operations import Admin
from smsgw_tools.local import iam
from smsgw_tools.local.carrier_setup import (
    CARRIER_LOGICAL_ID,
    harness_environment,
    stack_secret,
    start_simulators,
    subscribe_sns,
)
from smsgw_tools.local.gateway import HttpApiGateway
from smsgw_tools.local.info import LOCAL_CARRIERS, served_carriers
from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS, MotoServer
from smsgw_tools.local.ports import Reservations, free_port
from smsgw_tools.local.resources import Stack, deploy
from smsgw_tools.local.runtime import LambdaRuntime
from smsgw_tools.local.sink import WebhookSink
from smsgw_tools.local.triggers import Poller, pollers_for
from smsgw_tools.simulators.server import CarrierSimulator
from smsgw_tools.template.loading import load
from smsgw_tools.template.model import Route
from smsgw_tools.template.translation import DEFAULT_REGION

logger = logging.getLogger(__name__)
CALLBACK_FUNCTION = "WebhooksFunction"
"""The function whose URL carriers call back on (template.yaml, `FunctionUrlConfig`)."""
API_BASE_PATH = "/v1"
POLLER_JOIN_SECONDS = 0.5
"""How long stopping waits for the pollers' threads once moto is gone (a daemon thread
whose receive botocore still retries ends by itself)."""
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"
# The demo's pool of leased numbers: Australian mobiles and US numbers (docs/leases.md).
DEMO_POOL = (
    ("+61400000001", ["AU"]),
    ("+61400000002", ["AU"]),
    ("+61400000003", ["AU"]),
    ("+61400000004", ["AU", "NZ"]),
    ("+12015550123", ["US", "CA"]),
    ("+12025550143", ["US", "CA"]),
)


class LocalStack:
    """Starts and stops everything `template.yaml` needs to run on this machine."""

    def __init__(
        self,
        port: int = 3000,
        simulator: bool = True,
        *,
        host: str = "127.0.0.1",
        template_path: str | Path | None = None,
        parameters: dict[str, str] | None = None,
        stack_name: str = "smsgw-local",
        max_workers: int = 4,
        log: IO[str] | None = None,
        carrier: str = "twilio",
        carriers: Sequence[str] | None = None,
        enforce_iam: bool = True,
        calls_file: str | Path | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        """`carrier`: the deployment's (`Carrier`). `carriers`: those it runs a simulator
        for (default: `carrier`, Twilio and Vonage; `carrier` is always one).
        `enforce_iam`: each function under its own role, IAM checked (docs/local-stack.md).
        `calls_file`: each function's AWS calls are appended to it (`worker.py`).
        `environment`: variables set in every function's environment over the template's
        (for tests that cannot wait on a production figure, e.g. CARRIER_TIMEOUT_SECONDS)."""
        if carrier not in LOCAL_CARRIERS:
            raise ValueError(f"carrier must be one of {', '.join(LOCAL_CARRIERS)}")
        self.carrier = carrier
        self.carriers = served_carriers(carrier, carriers)
        self.host = host
        self.port = port
        self.use_simulator = simulator
        self.template_path = template_path
        self.parameters = parameters or {}
        self.stack_name = stack_name
        self.max_workers = max_workers
        self.log = log
        self.enforce_iam = enforce_iam
        self.calls_file = calls_file
        self.environment = dict(environment or {})
        self.credentials = dict(DUMMY_CREDENTIALS)
        """What the harness signs with: the admin user's key once IAM is enforced."""
        self.function_credentials: dict[str, dict[str, str]] = {}
        self.moto: MotoServer | None = None
        self.stack: Stack | None = None
        self.simulators: dict[str, CarrierSimulator] = {}
        """The running carrier simulators by carrier, the deployment carrier's first."""
        self.runtime: LambdaRuntime | None = None
        self.gateway: HttpApiGateway | None = None
        self.function_urls: dict[str, HttpApiGateway] = {}
        self._ports = Reservations(host)
        """A function's URL, served like Lambda's: every path and method to it, no authorizer."""
        self.pollers: list[Poller] = []
        self.demo: dict[str, str] = {}
        self.sink: WebhookSink | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    @property
    def simulator(self) -> CarrierSimulator | None:
        """The deployment carrier's simulator (None before start, or without simulators)."""
        return self.simulators.get(self.carrier)

    @property
    def session(self) -> boto3.session.Session:
        """A boto3 session for the moto server (use with `endpoint_url=info()["AwsEndpointUrl"]`)."""
        region = self.stack.region if self.stack else DEFAULT_REGION
        return boto3.session.Session(region_name=region, **self.credentials)

    def start(self) -> Self:
        """Start moto, create the resources, start the simulator, functions and triggers."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.moto = MotoServer(host=self.host, log=self.log, iam=self.enforce_iam)
        endpoint = self.moto.start()
        if self.enforce_iam:
            self.credentials = iam.create_admin(self.client("iam"))
        # Carriers call back on the webhooks function's URL, so its port is chosen before
        # the functions' environments are resolved; webhooks may reach the loopback sink.
        # Both ports are named before the servers that use them start: held until then.
        if not self.port:
            self.port = self._ports.reserve("api")
        callback_port = self._ports.reserve("callback")
        self.parameters = {
            "PublicBaseUrl": f"http://{self.host}:{callback_port}",
            "WebhookAllowedNetworks": LOOPBACK_NETWORKS,
            "Carrier": self.carrier,
            "LogLevel": "INFO",  # a line per request and record in the local stack's log
            **self.parameters,
        }
        self.sink = WebhookSink(host=self.host).start()
        template = load(self.template_path, parameters=self.parameters)
        self.stack = deploy(
            self.session, self.stack_name, self.parameters, endpoint_url=endpoint, template=template
        )
        if self.enforce_iam:
            self._assume_roles()
            iam.enforce(endpoint)
        self._verify_no_reply_sender()
        if self.use_simulator:
            self._start_simulator()
        self.runtime = LambdaRuntime(
            self.stack,
            endpoint,
            max_workers=self.max_workers,
            log=self.log,
            harness_environment=self._harness_environment() | self.environment,
            credentials=self.function_credentials,
            calls_file=self.calls_file,
        )
        self.runtime.warm()
        self._ports.release("api")
        self.gateway = HttpApiGateway(
            template.routes,
            template.authorizers,
            self.runtime.invoke,
            region=self.stack.region,
            account_id=self.stack.account_id,
            host=self.host,
            port=self.port,
        )
        self.gateway.start()
        for function, url_id in template.function_urls.items():
            if function == CALLBACK_FUNCTION:
                self._ports.release("callback")
            port = callback_port if function == CALLBACK_FUNCTION else free_port(self.host)
            served = HttpApiGateway(
                [Route(method="ANY", path="$default", function=function, authorizer=None)],
                {},
                self.runtime.invoke,
                region=self.stack.region,
                account_id=self.stack.account_id,
                host=self.host,
                port=port,
            )
            served.start()
            self.function_urls[function] = served
            self.stack.attributes[(url_id, "FunctionUrl")] = served.url + "/"
        self.pollers = self._pollers()
        for poller in self.pollers:
            poller.start()
        subscribe_sns(self._eum_simulator, self._callback_url)

    def _assume_roles(self) -> None:
        """Create each function's role from the template and assume it (docs/local-stack.md)."""
        assert self.stack
        roles = iam.create_roles(self.client("iam"), self.stack)
        sts = self.client("sts")
        self.function_credentials = {
            function: iam.assume(sts, arn, self.stack.function_name(function))
            for function, arn in roles.items()
        }

    def _start_simulator(self) -> None:
        assert self.stack and self.moto
        self.simulators = start_simulators(self.host, self.stack, self._callback_url, self.carriers)
        if CARRIER_LOGICAL_ID in self.stack.physical_ids:
            secret = stack_secret(self.simulators, self.carrier)
            self.client("secretsmanager").put_secret_value(
                SecretId=self.stack.physical_ids[CARRIER_LOGICAL_ID],
                SecretString=json.dumps(secret),
            )

    @property
    def _eum_simulator(self) -> CarrierSimulator | None:
        """End User Messaging's simulator, which plays SNS too (None when not served)."""
        return self.simulators.get("eum")

    def _harness_environment(self) -> dict[str, str]:
        """The SNS host mapping and CA bundle the workers need with End User Messaging
        (`carrier_setup.harness_environment`), in the stack's temporary directory."""
        eum = self._eum_simulator
        if eum is None or eum.sns is None:
            return {}
        self._scratch = tempfile.TemporaryDirectory(prefix="smsgw-local-")
        return harness_environment(eum, Path(self._scratch.name))

    def _callback_url(self, carrier: str, kind: str) -> str:
        """A carrier's callback URL (the webhooks function's): kind is Receipts or Responses."""
        return f"{self.parameters['PublicBaseUrl']}{API_BASE_PATH}/Carriers/{carrier}/{kind}"

    def _pollers(self) -> list[Poller]:
        assert self.stack and self.runtime
        return pollers_for(
            self.stack, self.runtime.invoke, self.client("sqs"), self.client("dynamodbstreams")
        )

    def client(self, service: str) -> Any:
        """A boto3 client for the moto server."""
        assert self.moto
        return self.session.client(service, endpoint_url=self.moto.url)

    def _verify_no_reply_sender(self) -> None:
        """SES (in moto, as in AWS) sends only from verified identities: verify the domain
        of the no-reply address e-mail forwards come from."""
        assert self.stack
        address = self.stack.parameters.get("NoReplyEmail") or ""
        if "@" in address:
            self.client("ses").verify_domain_identity(Domain=address.rsplit("@", 1)[1])

    def provision_demo(
        self, account_name: str = "Demo account", property_name: str = "Demo property"
    ) -> dict[str, str]:
        """Create an account and a property through the admin module; their SIDs and token."""
        assert self.stack and self.moto
        admin = Admin(
            table_name=self.stack.physical_ids["Table"],
            session=self.session,
            endpoint_url=self.moto.url,
        )
        account = admin.create_account(account_name)
        prop = admin.create_property(account["AccountSid"], property_name)
        for number, countries in DEMO_POOL:
            admin.add_pool_number(number, countries)
        self.demo = {
            "AccountSid": account["AccountSid"],
            "AuthToken": account["AuthToken"],
            "PropertySid": prop["PropertySid"],
        }
        return dict(self.demo)

    def info(self) -> dict[str, Any]:
        """Endpoints, resource names and (after provisioning) the demo credentials."""
        assert self.stack and self.moto and self.gateway
        info: dict[str, Any] = {
            "ApiUrl": self.gateway.url + API_BASE_PATH,
            # where carriers call back: the webhooks function's URL, unless PublicBaseUrl
            # names another (then that is what the functions sign and verify against)
            "CarrierCallbackUrl": f"{self.parameters['PublicBaseUrl']}{API_BASE_PATH}/Carriers",
            "FunctionUrls": {name: served.url for name, served in self.function_urls.items()},
            "AwsEndpointUrl": self.moto.url,
            # What the harness signs with (an admin user's key when IAM is enforced).
            "AwsCredentials": dict(self.credentials),
            "Region": self.stack.region,
            "StackName": self.stack.name,
            "TableName": self.stack.physical_ids.get("Table"),
            "CarrierSecretName": self.stack.physical_ids.get(CARRIER_LOGICAL_ID),
            "QueueUrls": {
                logical_id: self.stack.physical_ids[logical_id]
                for logical_id, resource in self.stack.template.translated["Resources"].items()
                if resource["Type"] == "AWS::SQS::Queue" and logical_id in self.stack.physical_ids
            },
            "Outputs": dict(self.stack.outputs),
        }
        if self.simulator is not None:
            # the deployment carrier's simulator, and every carrier's by name
            info["SimulatorUrl"] = self.simulator.url
            info["Carrier"] = self.carrier
            info["Simulators"] = {name: sim.url for name, sim in self.simulators.items()}
        eum = self._eum_simulator
        if eum is not None and eum.sns is not None:
            sns = eum.sns
            info["Sns"] = {
                "HttpsUrl": sns.https_url,
                "Hosts": sns.hosts,
                "SigningCertUrl": sns.signing_cert_url,
                "Topics": [sns.account.events_topic, sns.account.replies_topic],
                "CaBundle": self.runtime.harness_environment.get("REQUESTS_CA_BUNDLE")
                if self.runtime
                else None,
            }
        if self.sink is not None:
            info["WebhookSinkUrl"] = self.sink.url
        return info | self.demo

    def stop(self) -> None:
        """Stop the triggers, gateways, workers, simulator and moto, in that order, without
        waiting for work in flight: the workers' invocations are abandoned (a poller
        deletes nothing of an abandoned batch) and a poller's waiting receive ends with
        moto. Takes well under a second (docs/local-stack.md, "Stopping")."""
        for poller in self.pollers:
            poller.request_stop()
        self._ports.release_all()
        if self.gateway:
            self.gateway.stop()
            self.gateway = None
        for served in self.function_urls.values():
            served.stop()
        self.function_urls = {}
        if self.runtime:
            self.runtime.stop()
            self.runtime = None
        for simulator in self.simulators.values():
            simulator.stop()
        self.simulators = {}
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        if self.moto:
            self.moto.stop()
            self.moto = None
        deadline = time.monotonic() + POLLER_JOIN_SECONDS
        for poller in self.pollers:
            poller.stop(timeout=max(0.0, deadline - time.monotonic()))
        self.pollers = []
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
