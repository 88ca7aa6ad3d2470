"""TableBillingMode: on demand by default; PROVISIONED gives the table and each index
capacity, and registers target tracking on their reads and writes."""

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from smsgw_tools.local.resources import deploy

INDEXES = ["GSI1", "GSI2", "GSI3"]


@pytest.fixture
def session() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )


def test_the_default_table_is_on_demand_without_scaling(session):
    # When the template is deployed with its defaults
    stack = deploy(session)

    # Then the table is billed per request and nothing scales it
    table = session.client("dynamodb").describe_table(TableName=stack.physical_ids["Table"])
    assert table["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    scaling = session.client("application-autoscaling")
    assert scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"] == []
    assert stack.skipped["TableWriteCapacityTarget"] == "condition ProvisionedTable is false"


def test_provisioned_gives_the_table_and_each_index_capacity_and_scaling(session):
    # When the template is deployed with PROVISIONED capacity
    stack = deploy(
        session,
        parameters={
            "TableBillingMode": "PROVISIONED",
            "TableMinReadCapacity": "3",
            "TableMinWriteCapacity": "4",
            "TableMaxWriteCapacity": "40",
            "TableTargetUtilization": "60",
        },
    )
    name = stack.physical_ids["Table"]

    # Then the table and every index have the minimum capacity
    table = session.client("dynamodb").describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    throughput = {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    assert {k: table["ProvisionedThroughput"][k] for k in throughput} == throughput
    indexes = table["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == INDEXES
    for index in indexes:
        assert {k: index["ProvisionedThroughput"][k] for k in throughput} == throughput

    # And reads and writes of the table and of each index are scaled, to 60% utilisation
    scaling = session.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    resources = [f"table/{name}"] + [f"table/{name}/index/{index}" for index in INDEXES]
    dimensions = {
        (t["ResourceId"], t["ScalableDimension"]): (t["MinCapacity"], t["MaxCapacity"])
        for t in targets
    }
    expected = {}
    for resource in resources:
        kind = "index" if "/index/" in resource else "table"
        expected[(resource, f"dynamodb:{kind}:ReadCapacityUnits")] = (3, 100)
        expected[(resource, f"dynamodb:{kind}:WriteCapacityUnits")] = (4, 40)
    assert dimensions == expected
    policies = scaling.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]
    tracked = {
        (p["ResourceId"], p["ScalableDimension"]): (
            p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
                "PredefinedMetricType"
            ],
            p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        )
        for p in policies
        if p["PolicyType"] == "TargetTrackingScaling"
    }
    read, write = "DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization"
    assert tracked == {
        (resource, dimension): (read if dimension.endswith(":ReadCapacityUnits") else write, 60.0)
        for resource, dimension in expected
    }
