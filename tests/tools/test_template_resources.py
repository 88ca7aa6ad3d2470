"""The local stack's resources come from template.yaml, so tests and template cannot drift."""

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from smsgw_tools.local.resources import Stack, deploy
from smsgw_tools.template.loading import load


@pytest.fixture
def session() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )


@pytest.fixture
def stack(session: boto3.session.Session) -> Stack:
    return deploy(session)


def test_table_is_created_with_its_indexes_and_ttl(session, stack):
    # Given the deployed template
    table_name = stack.physical_ids["Table"]
    dynamodb = session.client("dynamodb")

    # When the table is described
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]

    # Then its keys, indexes and TTL are the template's
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "PK": "HASH",
        "SK": "RANGE",
    }
    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == [
        "GSI1",
        "GSI2",
        "GSI3",
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}
    # and its stream, the receipt webhooks' outbox, carries both images
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert stack.get_att("Table", "StreamArn") == table["LatestStreamArn"]


def test_send_queue_redrives_to_its_dead_letter_queue(session, stack):
    # Given the deployed template
    sqs = session.client("sqs")

    # When the send queue's attributes are read
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.queue_url("SendQueue"), AttributeNames=["All"]
    )["Attributes"]

    # Then it redrives to the dead-letter queue after five receives
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.queue_arn("SendDeadLetterQueue")
    assert int(redrive["maxReceiveCount"]) == 5
    assert attributes["VisibilityTimeout"] == "180"


def test_carrier_secret_is_created_under_the_parameter_name(session, stack):
    # Given the deployed template with the default CarrierSecretName
    secrets = session.client("secretsmanager")

    # When the secret is read by that name
    value = json.loads(secrets.get_secret_value(SecretId="smsgw/carrier")["SecretString"])

    # Then it holds the placeholder credentials
    assert set(value) == {"AccountSid", "AuthToken", "BaseUrl"}
    assert stack.physical_ids["CarrierSecret"].startswith("arn:aws:secretsmanager:")


def test_function_environments_resolve_to_the_created_resources(stack):
    # When the API and sender environments are resolved
    api = stack.function_environment("ApiFunction")
    sender = stack.function_environment("SenderFunction")

    # Then they name the created table and queue, and the parameters' values
    assert api["TABLE_NAME"] == stack.physical_ids["Table"] == sender["TABLE_NAME"]
    assert api["SEND_QUEUE_URL"] == stack.physical_ids["SendQueue"] == sender["SEND_QUEUE_URL"]
    assert api["SEND_QUEUE_URL"].endswith("/" + stack.get_att("SendQueue", "QueueName"))
    assert sender["CARRIER_SECRET_NAME"] == "smsgw/carrier"
    assert sender["CARRIER"] == "twilio"
    assert api["POWERTOOLS_SERVICE_NAME"] == "smsgw"


def test_parameters_override_defaults(session):
    # When deployed with another secret name
    stack = deploy(session, stack_name="other", parameters={"CarrierSecretName": "other/carrier"})

    # Then the secret and the sender's environment use it
    assert stack.function_environment("SenderFunction")["CARRIER_SECRET_NAME"] == "other/carrier"
    session.client("secretsmanager").describe_secret(SecretId="other/carrier")


def test_alarms_on_functions_are_skipped_and_queue_alarms_created(session, stack):
    # When the alarms are listed
    alarms = session.client("cloudwatch").describe_alarms()["MetricAlarms"]

    # Then the dead-letter alarm watches the dead-letter queue; function alarms are skipped;
    # the product's own metric alarms (namespace SmsGateway) are created too
    queues = [alarm for alarm in alarms if alarm["Namespace"] == "AWS/SQS"]
    assert [a["MetricName"] for a in alarms if a["Namespace"] == "SmsGateway"] == [
        "CarrierBreakerOpened"
    ]
    assert sorted(alarm["Dimensions"][0]["Value"] for alarm in queues) == sorted(
        stack.get_att(queue, "QueueName")
        for queue in (
            "SendDeadLetterQueue",
            "CallbackDeadLetterQueue",
            "StreamDeadLetterQueue",
            "SchedulerFailureQueue",
        )
    )
    assert "SenderErrorAlarm" in stack.skipped


def test_each_function_logs_to_its_own_group_kept_for_the_retention(session, stack):
    # Given each function's LoggingConfig
    translated = stack.template.translated["Resources"]
    groups = {
        name: translated[name]["Properties"]["LoggingConfig"]["LogGroup"]
        for name in stack.template.functions
    }

    # When the log groups are described
    described = {
        group["logGroupName"]: group
        for group in session.client("logs").describe_log_groups()["logGroups"]
    }

    # Then every function has a group of its own, created with LogRetentionDays
    names = {name: stack.resolve(ref) for name, ref in groups.items()}
    assert len(set(names.values())) == len(stack.template.functions) == 6
    for name in names.values():
        assert described[name]["retentionInDays"] == 30
    access = stack.resolve({"Ref": "HttpApiAccessLogGroup"})
    assert described[access]["retentionInDays"] == 30


def test_the_schedulers_failed_ticks_go_to_a_queue_not_emulated_locally(stack):
    # Given the scheduler's asynchronous invocation config
    config = stack.template.translated["Resources"]["SchedulerFunctionEventInvokeConfig"]

    # Then a failed tick goes to SchedulerFailureQueue, which exists locally, and the
    # config itself is left out with its reason
    destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert stack.resolve(destination) == stack.queue_arn("SchedulerFailureQueue")
    assert "not emulated" in stack.skipped["SchedulerFunctionEventInvokeConfig"]


def test_a_customer_managed_key_encrypts_the_queues(session):
    # Given a customer managed key
    key = session.client("kms").create_key()["KeyMetadata"]["Arn"]

    # When the template is deployed with it, and without
    keyed_parameters = {"KmsKeyArn": key, "CarrierSecretName": "keyed/carrier"}
    with_key = deploy(session, stack_name="keyed", parameters=keyed_parameters)
    without = deploy(session, stack_name="plain")

    # Then the queues use it, and SQS-managed keys when none is given
    sqs = session.client("sqs")

    def attributes(stack: Stack, queue: str) -> dict[str, str]:
        url = stack.queue_url(queue)
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    for queue in ("SendQueue", "CallbackDeadLetterQueue", "SchedulerFailureQueue"):
        keyed, plain = attributes(with_key, queue), attributes(without, queue)
        assert (keyed["KmsMasterKeyId"], keyed["SqsManagedSseEnabled"]) == (key, "false")
        assert ("KmsMasterKeyId" in plain, plain["SqsManagedSseEnabled"]) == (False, "true")


def test_template_model_reads_routes_authorizer_and_queue_trigger():
    # When the template is loaded
    template = load()

    # Then the model has the API's authorized routes and the sender's queue trigger
    keys = {route.route_key: route for route in template.routes}
    send = keys["POST /v1/Properties/{PropertySid}/Sms"]
    assert (send.function, send.authorizer) == ("ApiFunction", "BasicAuth")
    authorizer = template.authorizers["BasicAuth"]
    assert authorizer.function == "AuthorizerFunction"
    assert authorizer.identity_headers == ("Authorization",)
    assert authorizer.simple_responses
    trigger = next(t for t in template.queue_triggers if t.function == "SenderFunction")
    assert (trigger.queue, trigger.report_batch_item_failures) == ("SendQueue", True)
    common = template.functions["ApiFunction"].layer_dirs
    assert [(path / "smsgw").is_dir() for path in common] == [True]


def test_the_notifiers_stream_trigger_is_read_from_the_template():
    # When the template is loaded
    template = load()

    # Then the notifier reads the table's stream, reports failed records, gives a batch
    # up to the stream's dead-letter queue, and filters for the statuses a receipt reports
    # and for the replies stored with forwards
    from smsgw.logic.outbox import RECEIPT_WEBHOOK_STATUSES, REPLIES_PREFIX
    from smsgw.models.lease import FORWARDS

    [trigger] = template.stream_triggers
    assert (trigger.function, trigger.table, trigger.starting_position) == (
        "NotifierFunction",
        "Table",
        "TRIM_HORIZON",
    )
    # (a record that failed, an AWS fault, is retried with no count limit, for hours)
    assert trigger.report_batch_item_failures and trigger.maximum_retry_attempts == -1
    source = template.sam["Resources"]["NotifierFunction"]["Properties"]["Events"]
    assert source["FinalStatuses"]["Properties"]["MaximumRecordAgeInSeconds"] >= 3600
    assert trigger.on_failure == "StreamDeadLetterQueue"
    receipts, redacted_before, replies = trigger.filters.patterns
    for pattern in (receipts, redacted_before):
        statuses = pattern["dynamodb"]["NewImage"]["Status"]["S"]
        assert tuple(statuses) == RECEIPT_WEBHOOK_STATUSES
    assert replies["eventName"] == ["INSERT"]
    assert replies["dynamodb"]["Keys"]["PK"]["S"] == [{"prefix": REPLIES_PREFIX}]
    assert replies["dynamodb"]["NewImage"] == {FORWARDS: {"S": [{"exists": True}]}}


def test_the_scheduler_tick_is_read_from_the_template():
    # When the template is loaded
    template = load()

    # Then its one schedule fires the scheduler every 60 seconds
    [schedule] = template.schedules
    assert (schedule.function, schedule.rate_seconds) == ("SchedulerFunction", 60)


def test_a_dead_senders_job_returns_only_once_its_claim_is_stale(session, stack):
    # The sender's timeout < STALE_CLAIM_SECONDS < SendQueue's visibility timeout: no live
    # invocation holds a claim that old, and an unacknowledged job comes back after it
    from smsgw.models.send_job import STALE_CLAIM_SECONDS

    sender = stack.template.functions["SenderFunction"]
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("SendQueue"), AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert sender.timeout < STALE_CLAIM_SECONDS < int(attributes["VisibilityTimeout"])
