"""The one Logger, Tracer and Metrics used by every function and module."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

# Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
# (set per function in template.yaml); these defaults only apply to tests and scripts.
logger = Logger(service="onestop")
tracer = Tracer(service="onestop")
metrics = Metrics(namespace="Onestop", service="onestop")
