"""One logger, tracer and metrics object for the whole process."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="SmsGateway")
